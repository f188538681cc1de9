/* kubesecrets.c - pull secrets from the Kubernetes API; see kubesecrets.h. */
#include "kubesecrets.h"

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "registry.h"
#include "validate.h"

#define SA_DIR     "/var/run/secrets/kubernetes.io/serviceaccount"
#define TOKEN_MAX  16384
#define KEY_MAX    (64 + KUBESECRETS_NAME_MAX + 2)
#define REASON_MAX 160

struct cached {
    char key[KEY_MAX]; /* namespace/name; "" when the slot is free */
    uint64_t expires_ms;
    bool found;
    struct reg_credentials creds;
    char why[REASON_MAX]; /* when not found */
};

static struct {
    pthread_mutex_t lock;
    struct cached slots[KUBESECRETS_CACHE];
} sc = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* ---- the API server ------------------------------------------------------------------ */

/* The API server's base URL, token and CA file, in or outside a cluster. -1 when unknown. */
static int api_endpoint(char *base, size_t baselen, const char **ca_file, char *why, size_t whylen)
{
    const char *api = getenv("GOINJECT_KUBE_API");
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    *ca_file = getenv("GOINJECT_KUBE_CA_FILE") ? getenv("GOINJECT_KUBE_CA_FILE") : SA_DIR "/ca.crt";
    if (api && strncmp(api, "https://", 8) == 0)
        snprintf(base, baselen, "%s", api);
    else if (host && port)
        snprintf(base, baselen, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host,
                 port);
    else
        return errorf(why, whylen, "not running in a cluster (no KUBERNETES_SERVICE_HOST)");
    return 0;
}

/* The ServiceAccount token, read anew each time: the kubelet rotates it. */
static int read_token(char *token, size_t len, char *why, size_t whylen)
{
    const char *path =
        getenv("GOINJECT_KUBE_TOKEN_FILE") ? getenv("GOINJECT_KUBE_TOKEN_FILE") : SA_DIR "/token";
    struct buf text = BUF_INIT_MAX(len - 1);
    char err[512];
    int rc = buf_read_file(&text, path, err, sizeof(err));
    size_t n = text.len;
    while (n && (text.data[n - 1] == '\n' || text.data[n - 1] == '\r' || text.data[n - 1] == ' '))
        n--;
    if (n)
        memcpy(token, text.data, n);
    token[n] = '\0';
    if (text.data)
        OPENSSL_cleanse(text.data, text.cap);
    buf_free(&text);
    if (rc != 0)
        return errorf(why, whylen, "no usable ServiceAccount token: %s", err);
    if (n == 0 || strlen(token) != n || strpbrk(token, "\r\n"))
        return errorf(why, whylen, "no usable ServiceAccount token at %s", path);
    return 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct buf *b = arg; /* its ceiling refuses a Secret past KUBESECRETS_MAX_BYTES */
    size_t len = size * n;
    return buf_append(b, data, len) == 0 ? len : 0;
}

/* GET of one Secret; its JSON into body. Returns the HTTP status, or -1 with why. */
static long get_secret(const char *ns, const char *name, uint64_t deadline_ms, struct buf *body,
                       char *why, size_t whylen)
{
    char base[300], url[700], token[TOKEN_MAX], auth[TOKEN_MAX + 32];
    const char *ca_file;
    if (api_endpoint(base, sizeof(base), &ca_file, why, whylen) != 0 ||
        read_token(token, sizeof(token), why, whylen) != 0)
        return -1;
    uint64_t now = reg_now_ms();
    if (now >= deadline_ms)
        return errorf(why, whylen, "no time left to ask the API server");
    snprintf(url, sizeof(url), "%s/api/v1/namespaces/%s/secrets/%s", base, ns, name);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    OPENSSL_cleanse(token, sizeof(token));
    CURL *h = curl_easy_init();
    struct curl_slist *headers = curl_slist_append(NULL, auth);
    headers = curl_slist_append(headers, "Accept: application/json");
    OPENSSL_cleanse(auth, sizeof(auth));
    long status = -1;
    if (h && headers) {
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
        curl_easy_setopt(h, CURLOPT_CAINFO, ca_file);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(deadline_ms - now));
        CURLcode rc = curl_easy_perform(h);
        if (rc == CURLE_OK)
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        else
            errorf(why, whylen, "the API server: %s", curl_easy_strerror(rc));
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    return status;
}

/* The credentials a Secret's JSON holds. 0, or -1 with why (never the secret's content). */
static int secret_credentials(const struct buf *body, struct reg_credentials *out, char *why,
                              size_t whylen)
{
    json_t *doc = json_loadb(body->data ? body->data : "", body->len, 0, NULL);
    const char *type = json_string_value(json_object_get(doc, "type"));
    const json_t *data = json_object_get(doc, "data");
    const char *b64 = NULL;
    int rc = -1;
    if (type && strcmp(type, "kubernetes.io/dockerconfigjson") == 0)
        b64 = json_string_value(json_object_get(data, ".dockerconfigjson"));
    else if (type && strcmp(type, "kubernetes.io/dockercfg") == 0)
        b64 = json_string_value(json_object_get(data, ".dockercfg"));
    size_t len = b64 ? strlen(b64) : 0;
    unsigned char *plain = len ? malloc(len / 4 * 3 + 4) : NULL;
    int n = plain ? EVP_DecodeBlock(plain, (const unsigned char *)b64, (int)len) : -1;
    while (n > 0 && len > 0 && b64[len - 1] == '=') {
        len--;
        n--;
    }
    if (!b64)
        errorf(why, whylen, "not a Secret of type kubernetes.io/dockerconfigjson");
    else if (n <= 0)
        errorf(why, whylen, "its data is not base64");
    else
        rc = reg_credentials_parse((const char *)plain, (size_t)n, out, why, whylen);
    if (plain)
        OPENSSL_cleanse(plain, (size_t)(n > 0 ? n : 0));
    free(plain);
    json_decref(doc);
    return rc;
}

/* ---- the cache -------------------------------------------------------------------------- */

/* Reads ns/name from the API server into slot (lock not held). */
static void fetch(struct cached *slot, const char *ns, const char *name, uint64_t deadline_ms)
{
    struct buf body = BUF_INIT_MAX(KUBESECRETS_MAX_BYTES);
    char why[REASON_MAX] = "";
    long status = get_secret(ns, name, deadline_ms, &body, why, sizeof(why));
    memset(&slot->creds, 0, sizeof(slot->creds));
    slot->found = false;
    if (status == 200)
        slot->found = secret_credentials(&body, &slot->creds, why, sizeof(why)) == 0;
    else if (status == 403)
        errorf(why, sizeof(why), "goinject may not read Secrets (RBAC: get secrets)");
    else if (status == 404)
        errorf(why, sizeof(why), "no such Secret");
    else if (status > 0)
        errorf(why, sizeof(why), "the API server answered HTTP %ld", status);
    snprintf(slot->why, sizeof(slot->why), "%s", why);
    if (body.data)
        OPENSSL_cleanse(body.data, body.len);
    buf_free(&body);
}

static struct cached *find_slot(const char *key, uint64_t now)
{
    struct cached *oldest = &sc.slots[0];
    for (size_t i = 0; i < KUBESECRETS_CACHE; i++) {
        struct cached *s = &sc.slots[i];
        if (strcmp(s->key, key) == 0 && s->expires_ms > now)
            return s;
        if (s->expires_ms < oldest->expires_ms)
            oldest = s;
    }
    return oldest;
}

/* Appends the credentials of ns/name (from the cache, or read now) to out. */
static int one_secret(const char *ns, const char *name, uint64_t deadline_ms,
                      struct reg_credentials *out, char *err, size_t errlen)
{
    char key[KEY_MAX];
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    uint64_t now = reg_now_ms();
    pthread_mutex_lock(&sc.lock);
    struct cached *s = find_slot(key, now);
    bool hit = strcmp(s->key, key) == 0 && s->expires_ms > now;
    pthread_mutex_unlock(&sc.lock);
    struct cached fresh = {.found = false};
    if (!hit) {
        /* Read without the lock: two workers may read the same Secret once each. */
        fetch(&fresh, ns, name, deadline_ms);
        snprintf(fresh.key, sizeof(fresh.key), "%s", key);
        fresh.expires_ms = reg_now_ms() + KUBESECRETS_TTL_S * 1000ull;
    }
    pthread_mutex_lock(&sc.lock);
    if (!hit) {
        s = find_slot(key, now);
        reg_credentials_free(&s->creds);
        *s = fresh;
    }
    int rc = s->found ? reg_credentials_append(out, &s->creds) : -1;
    if (!s->found && err && errlen && !err[0])
        snprintf(err, errlen, "pull secret %s: %s", key, s->why);
    pthread_mutex_unlock(&sc.lock);
    return rc;
}

int kubesecrets_credentials(const struct pull_secrets *ps, uint64_t deadline_ms,
                            struct reg_credentials *out, char *err, size_t errlen)
{
    int found = 0;
    if (err && errlen)
        err[0] = '\0';
    for (unsigned i = 0; ps && i < ps->count; i++)
        if (valid_dns_label(ps->ns) && valid_dns_subdomain(ps->names[i]) &&
            one_secret(ps->ns, ps->names[i], deadline_ms, out, err, errlen) == 0)
            found++;
    return found;
}
