/* regconfig.c - the "registry" block of the configuration; see regconfig.h. */
#include "regconfig.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "regfacts.h"
#include "registry.h"
#include "validate.h"

void registry_config_defaults(struct registry_config *rc)
{
    memset(rc, 0, sizeof(*rc));
    rc->enabled = true;
    rc->budget_ms = REGCONFIG_DEFAULT_BUDGET_MS;
    snprintf(rc->platform, sizeof(rc->platform), "linux/amd64");
    rc->tag_ttl_s = REGCONFIG_DEFAULT_TTL_S;
}

static void free_list(char **list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        free(list[i]);
    free(list);
}

void registry_config_free(struct registry_config *rc)
{
    free(rc->ca_file);
    free(rc->credentials_file);
    free_list(rc->insecure_hosts, rc->ninsecure);
    free_list(rc->mirror_from, rc->nmirrors);
    free_list(rc->mirror_to, rc->nmirrors);
    reg_settings_drop(rc->settings);
    memset(rc, 0, sizeof(*rc));
}

/* host, host:port or [v6]:port, as an image reference's registry part may be. */
static bool valid_host(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > 255)
        return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr(".-:[]_", *p))
            return false;
    return s[0] != '-' && s[0] != '.' && s[0] != ':';
}

static int parse_uint(json_t *v, const char *field, long long lo, long long hi, unsigned *slot,
                      char *err, size_t errlen)
{
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return errorf(err, errlen, "registry.%s: must be an integer from %lld to %lld", field, lo,
                      hi);
    *slot = (unsigned)json_integer_value(v);
    return 0;
}

static int parse_path(json_t *v, const char *field, char **slot, char *err, size_t errlen)
{
    const char *s = json_string_value(v);
    if (!s || strlen(s) != json_string_length(v) || !valid_absolute_path(s))
        return errorf(err, errlen, "registry.%s: must be a clean absolute path", field);
    free(*slot);
    return (*slot = strdup(s)) ? 0 : errorf(err, errlen, "registry.%s: out of memory", field);
}

static int parse_hosts(json_t *v, struct registry_config *rc, char *err, size_t errlen)
{
    size_t i;
    json_t *item;
    if (!json_is_array(v) || json_array_size(v) > REGCONFIG_MAX_HOSTS)
        return errorf(err, errlen, "registry.insecureHosts: must be an array of at most %d hosts",
                      REGCONFIG_MAX_HOSTS);
    free_list(rc->insecure_hosts, rc->ninsecure);
    rc->ninsecure = 0;
    if (!(rc->insecure_hosts = calloc(json_array_size(v) + 1, sizeof(char *))))
        return errorf(err, errlen, "registry.insecureHosts: out of memory");
    json_array_foreach(v, i, item)
    {
        const char *s = json_string_value(item);
        if (!s || !valid_host(s))
            return errorf(err, errlen, "registry.insecureHosts[%zu]: must be host or host:port", i);
        if (!(rc->insecure_hosts[rc->ninsecure] = strdup(s)))
            return errorf(err, errlen, "registry.insecureHosts: out of memory");
        rc->ninsecure++;
    }
    return 0;
}

static int parse_mirrors(json_t *v, struct registry_config *rc, char *err, size_t errlen)
{
    const char *key;
    json_t *value;
    size_t n = json_object_size(v);
    if (!json_is_object(v) || n > REGCONFIG_MAX_HOSTS)
        return errorf(err, errlen,
                      "registry.mirrors: must be an object of at most %d registry: host pairs",
                      REGCONFIG_MAX_HOSTS);
    free_list(rc->mirror_from, rc->nmirrors);
    free_list(rc->mirror_to, rc->nmirrors);
    rc->nmirrors = 0;
    rc->mirror_from = calloc(n + 1, sizeof(char *));
    rc->mirror_to = calloc(n + 1, sizeof(char *));
    if (!rc->mirror_from || !rc->mirror_to)
        return errorf(err, errlen, "registry.mirrors: out of memory");
    json_object_foreach(v, key, value)
    {
        const char *to = json_string_value(value);
        if (!valid_host(key) || !to || !valid_host(to))
            return errorf(err, errlen, "registry.mirrors[\"%.60s\"]: must map a registry to a host",
                          key);
        rc->mirror_from[rc->nmirrors] = strdup(key);
        rc->mirror_to[rc->nmirrors] = strdup(to);
        rc->nmirrors++;
        if (!rc->mirror_from[rc->nmirrors - 1] || !rc->mirror_to[rc->nmirrors - 1])
            return errorf(err, errlen, "registry.mirrors: out of memory");
    }
    return 0;
}

static int parse_platform(json_t *v, struct registry_config *rc, char *err, size_t errlen)
{
    struct platform p;
    const char *s = json_string_value(v);
    if (!s || strlen(s) >= sizeof(rc->platform) || platform_parse(s, &p) != 0)
        return errorf(err, errlen,
                      "registry.platform: must be os/arch[/variant], such as "
                      "linux/amd64");
    snprintf(rc->platform, sizeof(rc->platform), "%s", s);
    return 0;
}

static int parse_bool_field(json_t *v, const char *field, bool *slot, char *err, size_t errlen)
{
    if (!json_is_boolean(v))
        return errorf(err, errlen, "registry.%s: must be true or false", field);
    *slot = json_is_true(v);
    return 0;
}

int registry_config_parse(json_t *v, struct registry_config *rc, char *err, size_t errlen)
{
    static const char *const known[] = {"enabled",        "budgetMs",      "platform",
                                        "caFile",         "insecureHosts", "credentialsFile",
                                        "podPullSecrets", "mirrors",       "tagTTLSeconds"};
    const char *key;
    json_t *value;
    if (!json_is_object(v))
        return errorf(err, errlen, "registry: must be an object");
    json_object_foreach(v, key, value)
    {
        size_t k = 0;
        while (k < sizeof(known) / sizeof(known[0]) && strcmp(known[k], key) != 0)
            k++;
        int rc2;
        switch (k) {
        case 0:
            rc2 = parse_bool_field(value, key, &rc->enabled, err, errlen);
            break;
        case 1:
            rc2 = parse_uint(value, key, REGCONFIG_MIN_BUDGET_MS, REGCONFIG_MAX_BUDGET_MS,
                             &rc->budget_ms, err, errlen);
            break;
        case 2:
            rc2 = parse_platform(value, rc, err, errlen);
            break;
        case 3:
            rc2 = parse_path(value, key, &rc->ca_file, err, errlen);
            break;
        case 4:
            rc2 = parse_hosts(value, rc, err, errlen);
            break;
        case 5:
            rc2 = parse_path(value, key, &rc->credentials_file, err, errlen);
            break;
        case 6:
            rc2 = parse_bool_field(value, key, &rc->pod_pull_secrets, err, errlen);
            break;
        case 7:
            rc2 = parse_mirrors(value, rc, err, errlen);
            break;
        case 8:
            rc2 = parse_uint(value, key, 0, REGCONFIG_MAX_TTL_S, &rc->tag_ttl_s, err, errlen);
            break;
        default:
            rc2 = errorf(err, errlen, "registry.%.60s: unknown field", key);
        }
        if (rc2 != 0)
            return -1;
    }
    return 0;
}

int registry_config_finish(struct registry_config *rc, char *err, size_t errlen)
{
    reg_settings_drop(rc->settings);
    rc->settings = reg_settings_new(rc->ca_file, rc->insecure_hosts, rc->ninsecure, rc->mirror_from,
                                    rc->mirror_to, rc->nmirrors, err, errlen);
    return rc->settings ? 0 : -1;
}

json_t *registry_config_to_json(const struct registry_config *rc)
{
    json_t *hosts = json_array(), *mirrors = json_object();
    for (size_t i = 0; i < rc->ninsecure; i++)
        json_array_append_new(hosts, json_string(rc->insecure_hosts[i]));
    for (size_t i = 0; i < rc->nmirrors; i++)
        json_object_set_new(mirrors, rc->mirror_from[i], json_string(rc->mirror_to[i]));
    json_t *doc = json_pack("{s:b,s:I,s:s,s:o,s:b,s:o,s:I}", "enabled", rc->enabled, "budgetMs",
                            (json_int_t)rc->budget_ms, "platform", rc->platform, "insecureHosts",
                            hosts, "podPullSecrets", rc->pod_pull_secrets, "mirrors", mirrors,
                            "tagTTLSeconds", (json_int_t)rc->tag_ttl_s);
    if (doc && rc->ca_file)
        json_object_set_new(doc, "caFile", json_string(rc->ca_file));
    if (doc && rc->credentials_file)
        json_object_set_new(doc, "credentialsFile", json_string(rc->credentials_file));
    return doc;
}
