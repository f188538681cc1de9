/* config.c - defaults, JSON config file and validation; see config.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonout.h"
#include "validate.h"
#include "version.h"

static const char *const default_excluded_namespaces[] = {
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "goinject-system",
};

/* ---- small helpers ------------------------------------------------------ */

/*
 * Text from the file, fit to quote in a one-line error: at most 80 characters,
 * made safe by str_safe (buf.h), in storage the caller provides (a compound
 * literal lives until the end of its block).
 */
struct shown {
    char text[80 + 1];
};

static const char *shown(struct shown *out, const char *s)
{
    return str_safe(out->text, sizeof(out->text), s, strlen(s));
}

static void string_list_free(struct string_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->items[i]);
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

static int string_list_add(struct string_list *list, const char *s)
{
    char **items = realloc(list->items, (list->count + 1) * sizeof(*items));
    if (!items)
        return -1;
    list->items = items;
    list->items[list->count] = strdup(s);
    if (!list->items[list->count])
        return -1;
    list->count++;
    return 0;
}

static bool string_list_contains(const struct string_list *list, const char *s)
{
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->items[i], s) == 0)
            return true;
    return false;
}

/* Replaces *slot with a copy of value. */
static int set_string(char **slot, const char *value)
{
    char *copy = strdup(value);
    if (!copy)
        return -1;
    free(*slot);
    *slot = copy;
    return 0;
}

/* ---- defaults ----------------------------------------------------------- */

static json_t *default_resources(void)
{
    return json_pack("{s:{s:s,s:s},s:{s:s,s:s}}", "requests", "cpu", "10m", "memory", "16Mi",
                     "limits", "cpu", "500m", "memory", "64Mi");
}

/* The agent's patch values; the init container passes the Pod Security restricted profile. */
static void free_agent_values(struct agent_config *a)
{
    json_decref(a->init_container);
    json_decref(a->mount);
    json_decref(a->volume);
    a->init_container = a->mount = a->volume = NULL;
    jsonout_known_free(a->texts);
    a->texts = NULL;
}

static int build_agent_values(struct agent_config *a)
{
    free_agent_values(a);
    a->init_container = json_pack(
        "{s:s,s:s,s:s,s:O,s:[s,s],s:O,s:{s:b,s:{s:[s]},s:b,s:b,s:b,s:I,s:I,s:{s:s}},s:[{s:s,s:s}]}",
        "name", a->init_container_name, "image", a->image, "imagePullPolicy", a->pull_policy,
        "command", a->command, "args", a->source_path, a->mount_path, "resources", a->resources,
        "securityContext", "allowPrivilegeEscalation", 0, "capabilities", "drop", "ALL",
        "privileged", 0, "readOnlyRootFilesystem", 1, "runAsNonRoot", 1, "runAsUser",
        (json_int_t)a->run_as_user, "runAsGroup", (json_int_t)a->run_as_user, "seccompProfile",
        "type", "RuntimeDefault", "volumeMounts", "name", a->volume_name, "mountPath",
        a->mount_path);
    a->mount = json_pack("{s:s,s:s,s:b}", "name", a->volume_name, "mountPath", a->mount_path,
                         "readOnly", 1);
    a->volume = json_pack("{s:s,s:{}}", "name", a->volume_name, "emptyDir");
    const json_t *values[] = {a->init_container, a->mount, a->volume};
    a->texts = jsonout_known_new(values, sizeof(values) / sizeof(values[0]));
    return a->texts ? 0 : -1;
}

struct goinject_config *config_new_default(void)
{
    struct goinject_config *cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        return NULL;
    cfg->mode = MODE_CLOUD_NATIVE;
    cfg->inject_by_default = true;
    cfg->unknown_shell = UNKNOWN_SHELL_TINI;
    cfg->agent.run_as_user = 65532;
    cfg->agent.command = json_pack("[ss]", "/usr/local/bin/goinject", "copy-agent");
    cfg->agent.resources = default_resources();
    registry_config_defaults(&cfg->registry);

    int rc = 0;
    for (int set = AGENT_ENV_ANY; set < AGENT_ENV_SETS; set++)
        if (!(cfg->agent.env[set] = json_array()))
            rc = -1;
    rc |= set_string(&cfg->annotation_prefix, "goinject.io");
    rc |= set_string(&cfg->agent.image, "goinject/goinject:" GOINJECT_VERSION);
    rc |= set_string(&cfg->agent.pull_policy, "IfNotPresent");
    rc |= set_string(&cfg->agent.source_path, "/opt/goinject/agent");
    rc |= set_string(&cfg->agent.mount_path, "/goinject-agent");
    rc |= set_string(&cfg->agent.init_container_name, "goinject-agent");
    rc |= set_string(&cfg->agent.volume_name, "goinject-agent");
    rc |= set_string(&cfg->tini_glibc, "tini/glibc/tini");
    rc |= set_string(&cfg->tini_musl, "tini/musl/tini");
    rc |= set_string(&cfg->default_shell, "/bin/sh");
    for (size_t i = 0; i < sizeof(default_excluded_namespaces) / sizeof(char *); i++)
        rc |= string_list_add(&cfg->excluded_namespaces, default_excluded_namespaces[i]);
    if (rc != 0 || !cfg->agent.command || !cfg->agent.resources ||
        build_agent_values(&cfg->agent) != 0) {
        config_free(cfg);
        return NULL;
    }
    return cfg;
}

void config_free(struct goinject_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->annotation_prefix);
    string_list_free(&cfg->excluded_namespaces);
    string_list_free(&cfg->pod_security_namespaces);
    string_list_free(&cfg->pod_security_exempt);
    free(cfg->agent.image);
    free(cfg->agent.pull_policy);
    json_decref(cfg->agent.command);
    free(cfg->agent.source_path);
    free(cfg->agent.mount_path);
    json_decref(cfg->agent.resources);
    for (int set = AGENT_ENV_ANY; set < AGENT_ENV_SETS; set++)
        json_decref(cfg->agent.env[set]);
    free_agent_values(&cfg->agent);
    free(cfg->agent.init_container_name);
    free(cfg->agent.volume_name);
    free(cfg->tini_glibc);
    free(cfg->tini_musl);
    free(cfg->default_shell);
    catalog_free(&cfg->catalog);
    registry_config_free(&cfg->registry);
    free(cfg);
}

/* ---- field parsers: each validates one value and names it on error ------ */

typedef bool (*string_check)(const char *value);

static int parse_string(json_t *value, const char *field, string_check check, const char *expect,
                        char **slot, char *err, size_t errlen)
{
    if (!json_is_string(value))
        return errorf(err, errlen, "%s: must be a string", field);
    const char *s = json_string_value(value);
    if (strlen(s) != json_string_length(value) || (check && !check(s)))
        return errorf(err, errlen, "%s: \"%s\" is not %s", field, shown(&(struct shown){0}, s),
                      expect);
    if (set_string(slot, s) != 0)
        return errorf(err, errlen, "%s: out of memory", field);
    return 0;
}

static int parse_bool(json_t *value, const char *field, bool *slot, char *err, size_t errlen)
{
    if (!json_is_boolean(value))
        return errorf(err, errlen, "%s: must be true or false", field);
    *slot = json_is_true(value);
    return 0;
}

static int parse_string_list(json_t *value, const char *field, string_check check,
                             const char *expect, struct string_list *slot, char *err, size_t errlen)
{
    if (!json_is_array(value))
        return errorf(err, errlen, "%s: must be an array of strings", field);
    struct string_list list = {NULL, 0};
    size_t i;
    json_t *item;
    json_array_foreach(value, i, item)
    {
        const char *s = json_string_value(item);
        if (!s || (check && !check(s))) {
            string_list_free(&list);
            return errorf(err, errlen, "%s[%zu]: must be %s", field, i, expect);
        }
        if (string_list_add(&list, s) != 0) {
            string_list_free(&list);
            return errorf(err, errlen, "%s: out of memory", field);
        }
    }
    string_list_free(slot);
    *slot = list;
    return 0;
}

/* Rejects members not in known, so a typo never silently becomes a default. */
static int check_known_members(json_t *object, const char *field, const char *const *known,
                               char *err, size_t errlen)
{
    const char *key;
    json_t *value;
    json_object_foreach(object, key, value)
    {
        bool found = false;
        for (const char *const *k = known; *k; k++)
            found = found || strcmp(key, *k) == 0;
        if (!found)
            return errorf(err, errlen, "%s%s%s: unknown field", field, *field ? "." : "",
                          shown(&(struct shown){0}, key));
    }
    return 0;
}

static int parse_command(json_t *value, json_t **slot, char *err, size_t errlen)
{
    if (!json_is_array(value) || json_array_size(value) == 0)
        return errorf(err, errlen, "agent.command: must be a non-empty array of strings");
    size_t i;
    json_t *item;
    json_array_foreach(value, i, item)
    {
        if (!json_is_string(item) || json_string_length(item) == 0)
            return errorf(err, errlen, "agent.command[%zu]: must be a non-empty string", i);
    }
    json_decref(*slot);
    *slot = json_deep_copy(value);
    return 0;
}

static int parse_resource_list(json_t *list, const char *field, char *err, size_t errlen)
{
    if (!json_is_object(list))
        return errorf(err, errlen, "%s: must be an object of quantities", field);
    const char *name;
    json_t *quantity;
    json_object_foreach(list, name, quantity)
    {
        if (!valid_resource_name(name))
            return errorf(err, errlen, "%s.%s: not a resource name", field,
                          shown(&(struct shown){0}, name));
        if (!json_is_string(quantity) || !valid_quantity(json_string_value(quantity), NULL))
            return errorf(err, errlen,
                          "%s.%s: must be a quantity string such as \"100m\" or \"64Mi\"", field,
                          shown(&(struct shown){0}, name));
    }
    return 0;
}

/* Requests above limits would make the API server reject every injected pod. */
static int check_requests_within_limits(json_t *resources, char *err, size_t errlen)
{
    json_t *requests = json_object_get(resources, "requests");
    json_t *limits = json_object_get(resources, "limits");
    const char *name;
    json_t *request;
    json_object_foreach(requests, name, request)
    {
        json_t *limit = json_object_get(limits, name);
        long double want = 0, cap = 0;
        if (!limit)
            continue;
        valid_quantity(json_string_value(request), &want);
        valid_quantity(json_string_value(limit), &cap);
        if (want > cap)
            return errorf(err, errlen, "agent.resources.requests.%.80s: exceeds the limit", name);
    }
    return 0;
}

static int parse_resources(json_t *value, json_t **slot, char *err, size_t errlen)
{
    static const char *const known[] = {"requests", "limits", NULL};
    if (!json_is_object(value))
        return errorf(err, errlen, "agent.resources: must be an object");
    if (check_known_members(value, "agent.resources", known, err, errlen) != 0)
        return -1;
    json_t *requests = json_object_get(value, "requests");
    json_t *limits = json_object_get(value, "limits");
    if (requests && parse_resource_list(requests, "agent.resources.requests", err, errlen) != 0)
        return -1;
    if (limits && parse_resource_list(limits, "agent.resources.limits", err, errlen) != 0)
        return -1;
    if (check_requests_within_limits(value, err, errlen) != 0)
        return -1;
    json_decref(*slot);
    *slot = json_deep_copy(value);
    return 0;
}

static const char *const agent_env_set_names[AGENT_ENV_SETS] = {
    [AGENT_ENV_ANY] = "any",
    [AGENT_ENV_GLIBC] = "glibc",
    [AGENT_ENV_MUSL] = "musl",
};

const char *agent_env_set_name(enum agent_env_set set)
{
    return set < AGENT_ENV_SETS ? agent_env_set_names[set] : "invalid";
}

/* One EnvVar object, element i of the list named list ("agent.env.glibc"). */
static int parse_env_var(json_t *var, const char *list, size_t i, char *err, size_t errlen)
{
    static const char *const known[] = {"name", "value", "valueFrom", NULL};
    char field[64];
    snprintf(field, sizeof(field), "%s[%zu]", list, i);
    if (!json_is_object(var))
        return errorf(err, errlen, "%s: must be an object with name and value", field);
    if (check_known_members(var, field, known, err, errlen) != 0)
        return -1;
    const char *name = json_string_value(json_object_get(var, "name"));
    if (!name || !valid_env_name(name))
        return errorf(err, errlen, "%s.name: must be a non-empty name without '='", field);
    json_t *value = json_object_get(var, "value");
    json_t *value_from = json_object_get(var, "valueFrom");
    if (value && !json_is_string(value))
        return errorf(err, errlen, "%s.value: must be a string", field);
    if (value_from && !json_is_object(value_from))
        return errorf(err, errlen, "%s.valueFrom: must be an object", field);
    if (value && value_from)
        return errorf(err, errlen, "%s: value and valueFrom are mutually exclusive", field);
    return 0;
}

/* The name of element i of an env list that parse_env_list has checked. */
static const char *env_name_at(const json_t *list, size_t i)
{
    return json_string_value(json_object_get(json_array_get(list, i), "name"));
}

/* The index of the variable called name among the first n of an env list, or -1. */
static long env_index(const json_t *list, const char *name, size_t n)
{
    for (size_t i = 0; i < n && i < json_array_size(list); i++)
        if (strcmp(name, env_name_at(list, i)) == 0)
            return (long)i;
    return -1;
}

/* An array of EnvVar objects, each name once; *slot gets a copy. list names it in errors. */
static int parse_env_list(json_t *value, const char *list, json_t **slot, char *err, size_t errlen)
{
    if (!json_is_array(value))
        return errorf(err, errlen, "%s: must be an array of {name, value} objects", list);
    size_t i;
    json_t *var;
    json_array_foreach(value, i, var)
    {
        if (parse_env_var(var, list, i, err, errlen) != 0)
            return -1;
        if (env_index(value, env_name_at(value, i), i) >= 0)
            return errorf(err, errlen, "%s[%zu].name: \"%s\" is set twice", list, i,
                          shown(&(struct shown){0}, env_name_at(value, i)));
    }
    json_t *copy = json_deep_copy(value);
    if (!copy)
        return errorf(err, errlen, "%s: out of memory", list);
    json_decref(*slot);
    *slot = copy;
    return 0;
}

/*
 * A variable of agent.env.any must not be in a libc set too: a container of
 * that libc would get the name twice, and which value wins would be the
 * kubelet's choice, not the configuration's.
 */
static int check_env_sets_disjoint(json_t *const sets[AGENT_ENV_SETS], char *err, size_t errlen)
{
    for (int set = AGENT_ENV_GLIBC; set < AGENT_ENV_SETS; set++) {
        for (size_t i = 0; i < json_array_size(sets[set]); i++) {
            const char *name = env_name_at(sets[set], i);
            if (env_index(sets[AGENT_ENV_ANY], name, json_array_size(sets[AGENT_ENV_ANY])) >= 0)
                return errorf(err, errlen,
                              "agent.env.%s[%zu].name: \"%s\" is in agent.env.any too; set it "
                              "in one place",
                              agent_env_set_names[set], i, shown(&(struct shown){0}, name));
        }
    }
    return 0;
}

/* The object form of agent.env: every set optional, no name of "any" in another set. */
static int parse_env_object(json_t *value, json_t *sets[AGENT_ENV_SETS], char *err, size_t errlen)
{
    static const char *const known[] = {"any", "glibc", "musl", NULL};
    if (check_known_members(value, "agent.env", known, err, errlen) != 0)
        return -1;
    for (int set = AGENT_ENV_ANY; set < AGENT_ENV_SETS; set++) {
        json_t *list = json_object_get(value, agent_env_set_names[set]);
        char field[32];
        snprintf(field, sizeof(field), "agent.env.%s", agent_env_set_names[set]);
        if (list && parse_env_list(list, field, &sets[set], err, errlen) != 0)
            return -1;
    }
    return check_env_sets_disjoint(sets, err, errlen);
}

/*
 * agent.env: an array (every handled container gets it, whatever its libc:
 * the "any" set, as before sets existed), or an object of arrays by set
 * ({"any": [...], "glibc": [...], "musl": [...]}, each optional). env is
 * replaced whole, and only when all of it is valid.
 */
static int parse_env(json_t *value, json_t *env[AGENT_ENV_SETS], char *err, size_t errlen)
{
    json_t *sets[AGENT_ENV_SETS] = {NULL};
    int rc;
    if (json_is_array(value))
        rc = parse_env_list(value, "agent.env", &sets[AGENT_ENV_ANY], err, errlen);
    else if (json_is_object(value))
        rc = parse_env_object(value, sets, err, errlen);
    else
        rc = errorf(err, errlen,
                    "agent.env: must be an array of {name, value} objects, or an object of such "
                    "arrays by libc (any, glibc, musl)");
    for (int set = AGENT_ENV_ANY; rc == 0 && set < AGENT_ENV_SETS; set++)
        if (!sets[set] && !(sets[set] = json_array()))
            rc = errorf(err, errlen, "agent.env: out of memory");
    for (int set = AGENT_ENV_ANY; set < AGENT_ENV_SETS; set++) {
        json_t *unused = rc == 0 ? env[set] : sets[set];
        if (rc == 0)
            env[set] = sets[set];
        json_decref(unused);
    }
    return rc;
}

static bool valid_pull_policy(const char *s)
{
    return strcmp(s, "Always") == 0 || strcmp(s, "IfNotPresent") == 0 || strcmp(s, "Never") == 0;
}

static int parse_agent(json_t *agent, struct agent_config *out, char *err, size_t errlen)
{
    static const char *const known[] = {
        "image", "imagePullPolicy",   "command",    "sourcePath", "mountPath", "resources",
        "env",   "initContainerName", "volumeName", "runAsUser",  NULL};
    if (!json_is_object(agent))
        return errorf(err, errlen, "agent: must be an object");
    if (check_known_members(agent, "agent", known, err, errlen) != 0)
        return -1;
    json_t *v;
    int rc = 0;
    if (!rc && (v = json_object_get(agent, "image")))
        rc = parse_string(v, "agent.image", valid_image_ref, "an image reference", &out->image, err,
                          errlen);
    if (!rc && (v = json_object_get(agent, "imagePullPolicy")))
        rc = parse_string(v, "agent.imagePullPolicy", valid_pull_policy,
                          "Always, IfNotPresent or Never", &out->pull_policy, err, errlen);
    if (!rc && (v = json_object_get(agent, "command")))
        rc = parse_command(v, &out->command, err, errlen);
    if (!rc && (v = json_object_get(agent, "sourcePath")))
        rc = parse_string(v, "agent.sourcePath", valid_absolute_path, "a clean absolute path",
                          &out->source_path, err, errlen);
    if (!rc && (v = json_object_get(agent, "mountPath")))
        rc = parse_string(v, "agent.mountPath", valid_mount_path,
                          "a clean absolute path other than /", &out->mount_path, err, errlen);
    if (!rc && (v = json_object_get(agent, "resources")))
        rc = parse_resources(v, &out->resources, err, errlen);
    if (!rc && (v = json_object_get(agent, "env")))
        rc = parse_env(v, out->env, err, errlen);
    if (!rc && (v = json_object_get(agent, "initContainerName")))
        rc = parse_string(v, "agent.initContainerName", valid_dns_label, "a DNS label",
                          &out->init_container_name, err, errlen);
    if (!rc && (v = json_object_get(agent, "volumeName")))
        rc = parse_string(v, "agent.volumeName", valid_dns_label, "a DNS label", &out->volume_name,
                          err, errlen);
    if (!rc && (v = json_object_get(agent, "runAsUser"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 2147483647)
            return errorf(err, errlen, "agent.runAsUser: must be a non-root UID (1 to 2147483647)");
        out->run_as_user = json_integer_value(v);
    }
    return rc;
}

static int parse_tini(json_t *tini, struct goinject_config *cfg, char *err, size_t errlen)
{
    static const char *const known[] = {"glibc", "musl", NULL};
    if (!json_is_object(tini))
        return errorf(err, errlen, "tini: must be an object with glibc and musl paths");
    if (check_known_members(tini, "tini", known, err, errlen) != 0)
        return -1;
    json_t *v;
    if ((v = json_object_get(tini, "glibc")) &&
        parse_string(v, "tini.glibc", valid_relative_path, "a path relative to agent.mountPath",
                     &cfg->tini_glibc, err, errlen) != 0)
        return -1;
    if ((v = json_object_get(tini, "musl")) &&
        parse_string(v, "tini.musl", valid_relative_path, "a path relative to agent.mountPath",
                     &cfg->tini_musl, err, errlen) != 0)
        return -1;
    return 0;
}

static int parse_unknown_shell(json_t *value, enum unknown_shell_policy *slot, char *err,
                               size_t errlen)
{
    const char *s = json_string_value(value);
    if (s && strcmp(s, "tini") == 0)
        *slot = UNKNOWN_SHELL_TINI;
    else if (s && strcmp(s, "shell") == 0)
        *slot = UNKNOWN_SHELL_SHELL;
    else if (s && strcmp(s, "none") == 0)
        *slot = UNKNOWN_SHELL_SKIP;
    else
        return errorf(err, errlen, "shellUnknownWrapper: must be \"tini\", \"shell\" or \"none\"");
    return 0;
}

static const char *const pod_security_level_names[] = {
    [POD_SECURITY_PRIVILEGED] = "privileged",
    [POD_SECURITY_BASELINE] = "baseline",
    [POD_SECURITY_RESTRICTED] = "restricted",
};

static int parse_pod_security_level(json_t *value, enum pod_security_level *slot, char *err,
                                    size_t errlen)
{
    const char *s = json_string_value(value);
    for (size_t i = 0; s && i < sizeof(pod_security_level_names) / sizeof(char *); i++) {
        if (strcmp(s, pod_security_level_names[i]) == 0) {
            *slot = (enum pod_security_level)i;
            return 0;
        }
    }
    return errorf(err, errlen,
                  "podSecurityDefault: must be \"privileged\", \"baseline\" or \"restricted\"");
}

static int parse_mode_field(json_t *value, enum inject_mode *slot, char *err, size_t errlen)
{
    const char *s = json_string_value(value);
    if (!s || config_parse_mode(s, slot) != 0)
        return errorf(err, errlen, "mode: must be \"classic\" or \"cloud-native\"");
    return 0;
}

static int apply_document(struct goinject_config *cfg, json_t *doc, char *err, size_t errlen)
{
    static const char *const known[] = {"mode",
                                        "annotationPrefix",
                                        "injectByDefault",
                                        "excludedNamespaces",
                                        "podSecurityEnforcedNamespaces",
                                        "podSecurityDefault",
                                        "podSecurityExemptNamespaces",
                                        "ptraceWithHostPID",
                                        "agent",
                                        "tini",
                                        "shellUnknownWrapper",
                                        "defaultShell",
                                        "catalog",
                                        "registry",
                                        NULL};
    if (!json_is_object(doc))
        return errorf(err, errlen, "config: must be a JSON object");
    if (check_known_members(doc, "", known, err, errlen) != 0)
        return -1;
    json_t *v;
    int rc = 0;
    if (!rc && (v = json_object_get(doc, "mode")))
        rc = parse_mode_field(v, &cfg->mode, err, errlen);
    if (!rc && (v = json_object_get(doc, "annotationPrefix")))
        rc = parse_string(v, "annotationPrefix", valid_dns_subdomain, "a DNS subdomain",
                          &cfg->annotation_prefix, err, errlen);
    if (!rc && (v = json_object_get(doc, "injectByDefault")))
        rc = parse_bool(v, "injectByDefault", &cfg->inject_by_default, err, errlen);
    if (!rc && (v = json_object_get(doc, "excludedNamespaces")))
        rc = parse_string_list(v, "excludedNamespaces", valid_dns_label, "a namespace name",
                               &cfg->excluded_namespaces, err, errlen);
    if (!rc && (v = json_object_get(doc, "podSecurityEnforcedNamespaces")))
        rc = parse_string_list(v, "podSecurityEnforcedNamespaces", valid_dns_label,
                               "a namespace name", &cfg->pod_security_namespaces, err, errlen);
    if (!rc && (v = json_object_get(doc, "podSecurityDefault")))
        rc = parse_pod_security_level(v, &cfg->pod_security_default, err, errlen);
    if (!rc && (v = json_object_get(doc, "podSecurityExemptNamespaces")))
        rc = parse_string_list(v, "podSecurityExemptNamespaces", valid_dns_label,
                               "a namespace name", &cfg->pod_security_exempt, err, errlen);
    if (!rc && (v = json_object_get(doc, "ptraceWithHostPID")))
        rc = parse_bool(v, "ptraceWithHostPID", &cfg->ptrace_with_host_pid, err, errlen);
    if (!rc && (v = json_object_get(doc, "agent")))
        rc = parse_agent(v, &cfg->agent, err, errlen);
    if (!rc && (v = json_object_get(doc, "tini")))
        rc = parse_tini(v, cfg, err, errlen);
    if (!rc && (v = json_object_get(doc, "shellUnknownWrapper")))
        rc = parse_unknown_shell(v, &cfg->unknown_shell, err, errlen);
    if (!rc && (v = json_object_get(doc, "defaultShell")))
        rc = parse_string(v, "defaultShell", valid_absolute_path, "a clean absolute path",
                          &cfg->default_shell, err, errlen);
    if (!rc && (v = json_object_get(doc, "catalog")))
        rc = catalog_parse(v, &cfg->catalog, err, errlen);
    if (!rc && (v = json_object_get(doc, "registry")))
        rc = registry_config_parse(v, &cfg->registry, err, errlen);
    return rc;
}

/* The webhook never mutates pods in its own namespace (the downward API's POD_NAMESPACE). */
static int exclude_own_namespace(struct goinject_config *cfg)
{
    const char *own = getenv("POD_NAMESPACE");
    if (!own || !*own || !valid_dns_label(own) ||
        string_list_contains(&cfg->excluded_namespaces, own))
        return 0;
    return string_list_add(&cfg->excluded_namespaces, own);
}

struct goinject_config *config_parse(const char *text, size_t len, char *err, size_t errlen)
{
    struct goinject_config *cfg = config_new_default();
    if (!cfg) {
        errorf(err, errlen, "config: out of memory");
        return NULL;
    }
    if (text) {
        json_error_t jerr;
        json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!doc) {
            errorf(err, errlen, "config: invalid JSON at line %d column %d: %s", jerr.line,
                   jerr.column, shown(&(struct shown){0}, jerr.text));
            config_free(cfg);
            return NULL;
        }
        int rc = apply_document(cfg, doc, err, errlen);
        json_decref(doc);
        if (rc != 0) {
            config_free(cfg);
            return NULL;
        }
    }
    if (exclude_own_namespace(cfg) != 0 || build_agent_values(&cfg->agent) != 0) {
        errorf(err, errlen, "config: out of memory");
        config_free(cfg);
        return NULL;
    }
    if (cfg->registry.enabled && registry_config_finish(&cfg->registry, err, errlen) != 0) {
        config_free(cfg);
        return NULL;
    }
    return cfg;
}

struct goinject_config *config_load(const char *path, char *err, size_t errlen)
{
    if (!path)
        return config_parse(NULL, 0, err, errlen);
    struct buf text = BUF_INIT_MAX(CONFIG_MAX_BYTES);
    char why[512];
    struct goinject_config *cfg = NULL;
    if (buf_read_file(&text, path, why, sizeof(why)) != 0)
        errorf(err, errlen, "config: %s", why);
    else
        cfg = config_parse(text.data ? text.data : "", text.len, err, errlen);
    buf_free(&text);
    return cfg;
}

int config_parse_mode(const char *name, enum inject_mode *mode)
{
    if (strcmp(name, "classic") == 0)
        *mode = MODE_CLASSIC;
    else if (strcmp(name, "cloud-native") == 0)
        *mode = MODE_CLOUD_NATIVE;
    else
        return -1;
    return 0;
}

const char *config_mode_name(enum inject_mode mode)
{
    return mode == MODE_CLASSIC ? "classic" : "cloud-native";
}

bool config_has_agent_env(const struct goinject_config *cfg)
{
    return json_array_size(cfg->agent.env[AGENT_ENV_ANY]) || config_has_libc_env(cfg);
}

bool config_has_libc_env(const struct goinject_config *cfg)
{
    return json_array_size(cfg->agent.env[AGENT_ENV_GLIBC]) ||
           json_array_size(cfg->agent.env[AGENT_ENV_MUSL]);
}

bool config_namespace_excluded(const struct goinject_config *cfg, const char *ns)
{
    return ns && string_list_contains(&cfg->excluded_namespaces, ns);
}

bool config_namespace_enforces_pod_security(const struct goinject_config *cfg, const char *ns)
{
    if (!ns)
        return false;
    if (string_list_contains(&cfg->pod_security_namespaces, ns))
        return true;
    return cfg->pod_security_default != POD_SECURITY_PRIVILEGED &&
           !string_list_contains(&cfg->pod_security_exempt, ns);
}

static json_t *string_list_to_json(const struct string_list *list)
{
    json_t *array = json_array();
    for (size_t i = 0; i < list->count; i++)
        json_array_append_new(array, json_string(list->items[i]));
    return array;
}

/* agent.env in its object form, with every set: {"any": [...], "glibc": [...], "musl": [...]}. */
static json_t *agent_env_to_json(const struct agent_config *a)
{
    return json_pack("{s:O,s:O,s:O}", "any", a->env[AGENT_ENV_ANY], "glibc",
                     a->env[AGENT_ENV_GLIBC], "musl", a->env[AGENT_ENV_MUSL]);
}

json_t *config_to_json(const struct goinject_config *cfg)
{
    static const char *const unknown_shell_names[] = {"tini", "shell", "none"};
    json_t *doc = json_pack(
        "{s:s,s:s,s:b,s:o,s:o,s:{s:s,s:s,s:O,s:s,s:s,s:O,s:o,s:s,s:s,s:I},s:{s:s,s:s},s:s,s:s}",
        "mode", config_mode_name(cfg->mode), "annotationPrefix", cfg->annotation_prefix,
        "injectByDefault", cfg->inject_by_default, "excludedNamespaces",
        string_list_to_json(&cfg->excluded_namespaces), "podSecurityEnforcedNamespaces",
        string_list_to_json(&cfg->pod_security_namespaces), "agent", "image", cfg->agent.image,
        "imagePullPolicy", cfg->agent.pull_policy, "command", cfg->agent.command, "sourcePath",
        cfg->agent.source_path, "mountPath", cfg->agent.mount_path, "resources",
        cfg->agent.resources, "env", agent_env_to_json(&cfg->agent), "initContainerName",
        cfg->agent.init_container_name, "volumeName", cfg->agent.volume_name, "runAsUser",
        (json_int_t)cfg->agent.run_as_user, "tini", "glibc", cfg->tini_glibc, "musl",
        cfg->tini_musl, "shellUnknownWrapper", unknown_shell_names[cfg->unknown_shell],
        "defaultShell", cfg->default_shell);
    json_object_set_new(doc, "podSecurityDefault",
                        json_string(pod_security_level_names[cfg->pod_security_default]));
    json_object_set_new(doc, "podSecurityExemptNamespaces",
                        string_list_to_json(&cfg->pod_security_exempt));
    json_object_set_new(doc, "ptraceWithHostPID", json_boolean(cfg->ptrace_with_host_pid));
    json_object_set_new(doc, "catalog",
                        cfg->catalog.source ? json_deep_copy(cfg->catalog.source) : json_array());
    json_object_set_new(doc, "registry", registry_config_to_json(&cfg->registry));
    return doc;
}
