/* regauth.c - registry challenges, credentials files, Retry-After; see regauth.h. */
#include "regauth.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "buf.h"

/* ---- WWW-Authenticate --------------------------------------------------------- */

static const char *skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* An RFC 7230 token character. */
static bool tchar(char c)
{
    return isalnum((unsigned char)c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/*
 * Reads one value (a token, or a quoted string with backslash escapes) at p
 * into out. Returns the position after it, or NULL when malformed or too long.
 */
static const char *read_value(const char *p, char *out, size_t outlen)
{
    size_t n = 0;
    if (*p != '"') {
        /* token68 values of other schemes may end in '='; ours never need more. */
        while (tchar(*p) || *p == '/' || *p == ':' || *p == '=') {
            if (n + 1 >= outlen)
                return NULL;
            out[n++] = *p++;
        }
        out[n] = '\0';
        return p;
    }
    for (p++; *p != '"'; p++) {
        if (*p == '\\' && p[1])
            p++;
        if (!*p || n + 1 >= outlen)
            return NULL;
        out[n++] = *p;
    }
    out[n] = '\0';
    return p + 1;
}

static enum reg_scheme scheme_of(const char *name, size_t len)
{
    if (len == 6 && strncasecmp(name, "bearer", 6) == 0)
        return REG_SCHEME_BEARER;
    if (len == 5 && strncasecmp(name, "basic", 5) == 0)
        return REG_SCHEME_BASIC;
    return REG_SCHEME_NONE;
}

/* Stores a parameter the client uses; others (error=..., charset=...) are read and dropped. */
static void keep_param(struct reg_challenge *c, const char *name, size_t len, const char *value)
{
    char *slot = NULL;
    if (len == 5 && strncasecmp(name, "realm", 5) == 0)
        slot = c->realm;
    else if (len == 7 && strncasecmp(name, "service", 7) == 0)
        slot = c->service;
    else if (len == 5 && strncasecmp(name, "scope", 5) == 0)
        slot = c->scope;
    if (slot)
        memcpy(slot, value, strlen(value) + 1); /* both REGAUTH_PARAM_MAX */
}

/*
 * Parses one challenge starting at *pp: "Scheme" then auth-params separated
 * by commas. Stops before the next challenge's scheme (a token not followed
 * by '='). Returns 0, or -1 when malformed.
 */
static int parse_one(const char **pp, struct reg_challenge *c)
{
    const char *p = skip_space(*pp), *name = p;
    char value[REGAUTH_PARAM_MAX];
    while (tchar(*p))
        p++;
    if (p == name)
        return -1;
    memset(c, 0, sizeof(*c));
    c->scheme = scheme_of(name, (size_t)(p - name));
    for (;;) {
        p = skip_space(p);
        while (*p == ',')
            p = skip_space(p + 1);
        const char *key = p;
        while (tchar(*p))
            p++;
        size_t key_len = (size_t)(p - key);
        const char *eq = skip_space(p);
        if (key_len == 0 || *eq != '=') {
            *pp = key; /* the end, or the next challenge's scheme */
            return 0;
        }
        p = read_value(skip_space(eq + 1), value, sizeof(value));
        if (!p)
            return -1;
        keep_param(c, key, key_len, value);
    }
}

int reg_challenge_parse(const char *header, struct reg_challenge *out)
{
    struct reg_challenge c, basic = {.scheme = REG_SCHEME_NONE};
    const char *p = header ? header : "";
    while (*skip_space(p)) {
        const char *before = p;
        if (parse_one(&p, &c) != 0 || p == before)
            return -1;
        if (c.scheme == REG_SCHEME_BEARER && c.realm[0]) {
            *out = c;
            return 0;
        }
        if (c.scheme == REG_SCHEME_BASIC && basic.scheme == REG_SCHEME_NONE)
            basic = c;
    }
    if (basic.scheme == REG_SCHEME_NONE)
        return -1;
    *out = basic;
    return 0;
}

/* ---- credentials ------------------------------------------------------------------ */

/* Docker Hub's several names are one registry. */
static bool is_docker_hub(const char *host, size_t len)
{
    static const char *const names[] = {"docker.io", "index.docker.io", "registry-1.docker.io",
                                        "registry.hub.docker.com"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i]) == len && strncasecmp(host, names[i], len) == 0)
            return true;
    return false;
}

/* A file's key ("https://index.docker.io/v1/", "host:5000", "*.example.com") as host[:port]. */
static char *key_host(const char *key)
{
    const char *p = strstr(key, "://");
    p = p ? p + 3 : key;
    size_t len = strcspn(p, "/");
    if (len == 0 || len > 255)
        return NULL;
    if (is_docker_hub(p, len))
        return strdup("docker.io");
    char *host = strndup(p, len);
    for (char *c = host; c && *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return host;
}

/* base64(user:password), as the "auth" member holds it. */
static int split_auth(const char *b64, char **user, char **password)
{
    size_t len = strlen(b64);
    if (len == 0 || len > REGAUTH_FIELD_MAX * 2)
        return -1;
    size_t cap = len / 4 * 3 + 4;
    unsigned char *plain = malloc(cap);
    int n = plain ? EVP_DecodeBlock(plain, (const unsigned char *)b64, (int)len) : -1;
    /* EVP_DecodeBlock counts the padding's zero bytes: drop them. */
    while (n > 0 && len >= 1 && b64[len - 1] == '=') {
        len--;
        n--;
    }
    if (n > 0)
        plain[n] = '\0'; /* strndup reads a C string; n < cap */
    char *colon = n > 0 ? memchr(plain, ':', (size_t)n) : NULL;
    int rc = -1;
    if (colon && !memchr(plain, '\0', (size_t)n)) {
        *user = strndup((char *)plain, (size_t)(colon - (char *)plain));
        *password = strndup(colon + 1, (size_t)n - (size_t)(colon - (char *)plain) - 1);
        rc = *user && *password ? 0 : -1;
    }
    if (plain)
        OPENSSL_cleanse(plain, cap);
    free(plain);
    return rc;
}

static void credential_free(struct reg_credential *c)
{
    if (c->password)
        OPENSSL_cleanse(c->password, strlen(c->password));
    free(c->key);
    free(c->user);
    free(c->password);
    memset(c, 0, sizeof(*c));
}

/* One entry of the auths map; 1 when it gave a credential, 0 when skipped, -1 on error. */
static int add_entry(struct reg_credentials *out, const char *key, const json_t *entry, char *err,
                     size_t errlen)
{
    struct reg_credential c = {0};
    const char *auth = json_string_value(json_object_get(entry, "auth"));
    const char *user = json_string_value(json_object_get(entry, "username"));
    const char *pass = json_string_value(json_object_get(entry, "password"));
    if (!json_is_object(entry))
        return errorf(err, errlen, "credentials: auths[\"%.100s\"] is not an object", key);
    if (!(c.key = key_host(key)))
        return errorf(err, errlen, "credentials: \"%.100s\" is not a registry", key);
    if (auth && *auth && split_auth(auth, &c.user, &c.password) != 0) {
        credential_free(&c);
        return errorf(err, errlen,
                      "credentials: auths[\"%.100s\"].auth is not base64(user:password)", key);
    }
    if (!c.user && user && pass && strlen(user) < REGAUTH_FIELD_MAX &&
        strlen(pass) < REGAUTH_FIELD_MAX) {
        c.user = strdup(user);
        c.password = strdup(pass);
    }
    if (!c.user || !c.password) {
        credential_free(&c);
        return 0; /* an identity token or helper entry: nothing goinject can use */
    }
    out->items[out->count++] = c;
    return 1;
}

int reg_credentials_parse(const char *text, size_t len, struct reg_credentials *out, char *err,
                          size_t errlen)
{
    json_error_t jerr;
    memset(out, 0, sizeof(*out));
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(doc)) {
        json_decref(doc);
        /* jerr.text may quote the input, which holds secrets: say only where. */
        return errorf(err, errlen, "credentials: not a JSON object (line %d)", jerr.line);
    }
    json_t *auths = json_object_get(doc, "auths");
    if (!auths)
        auths = doc; /* the older dockercfg form */
    int rc = 0;
    size_t n = json_object_size(auths);
    if (!json_is_object(auths) || n > REGAUTH_MAX_ENTRIES)
        rc = errorf(err, errlen, "credentials: auths must be an object of at most %d registries",
                    REGAUTH_MAX_ENTRIES);
    else if (n && !(out->items = calloc(n, sizeof(*out->items))))
        rc = errorf(err, errlen, "credentials: out of memory");
    const char *key;
    json_t *entry;
    json_object_foreach(auths, key, entry)
    {
        /* The top level of a Docker config.json also holds credsStore, credHelpers, ... */
        if (auths == doc && !json_is_object(entry))
            continue;
        if (rc == 0 && add_entry(out, key, entry, err, errlen) < 0)
            rc = -1;
    }
    json_decref(doc);
    if (rc != 0)
        reg_credentials_free(out);
    return rc;
}

int reg_credentials_load(const char *path, struct reg_credentials *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    struct buf text = BUF_INIT_MAX(REGAUTH_FILE_MAX);
    char why[512];
    int rc = buf_read_file(&text, path, why, sizeof(why)) == 0
                 ? reg_credentials_parse(text.data ? text.data : "", text.len, out, err, errlen)
                 : errorf(err, errlen, "credentials: %s", why);
    if (text.data)
        OPENSSL_cleanse(text.data, text.cap);
    buf_free(&text);
    return rc;
}

void reg_credentials_free(struct reg_credentials *c)
{
    for (size_t i = 0; i < c->count; i++)
        credential_free(&c->items[i]);
    free(c->items);
    memset(c, 0, sizeof(*c));
}

int reg_credentials_append(struct reg_credentials *dst, const struct reg_credentials *src)
{
    if (!src || src->count == 0)
        return 0;
    struct reg_credential *items = realloc(dst->items, (dst->count + src->count) * sizeof(*items));
    if (!items)
        return -1;
    dst->items = items;
    for (size_t i = 0; i < src->count; i++) {
        struct reg_credential *c = &dst->items[dst->count];
        c->key = strdup(src->items[i].key);
        c->user = strdup(src->items[i].user);
        c->password = strdup(src->items[i].password);
        dst->count++;
        if (!c->key || !c->user || !c->password)
            return -1; /* the partial entry is freed with the rest */
    }
    return 0;
}

/* "*.example.com" matches "a.example.com" (one label), with the same port if any. */
static bool wildcard_match(const char *key, const char *host)
{
    const char *dot = strchr(host, '.');
    return strncmp(key, "*.", 2) == 0 && dot && dot != host && strcasecmp(key + 1, dot) == 0;
}

const struct reg_credential *reg_credentials_find(const struct reg_credentials *c,
                                                  const char *registry)
{
    const struct reg_credential *wild = NULL;
    bool hub = is_docker_hub(registry, strlen(registry));
    for (size_t i = 0; c && i < c->count; i++) {
        if (hub ? strcmp(c->items[i].key, "docker.io") == 0
                : strcasecmp(c->items[i].key, registry) == 0)
            return &c->items[i];
        if (!wild && wildcard_match(c->items[i].key, registry))
            wild = &c->items[i];
    }
    return wild;
}

/* ---- Retry-After ------------------------------------------------------------------- */

long reg_retry_after(const char *value, time_t now)
{
    if (!value)
        return -1;
    value = skip_space(value);
    if (isdigit((unsigned char)*value)) {
        char *end;
        errno = 0;
        long s = strtol(value, &end, 10);
        if (errno != 0 || *skip_space(end) != '\0')
            return -1;
        return s < REGAUTH_RETRY_MAX_S ? s : REGAUTH_RETRY_MAX_S;
    }
    time_t when = curl_getdate(value, NULL);
    if (when < 0)
        return -1;
    if (when <= now)
        return 0;
    return when - now < REGAUTH_RETRY_MAX_S ? (long)(when - now) : REGAUTH_RETRY_MAX_S;
}
