/* registry.c - the OCI distribution client; see registry.h. */
#include "registry.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"
#include "version.h"

#define MANIFEST_ACCEPT                                                                            \
    "Accept: application/vnd.oci.image.index.v1+json, "                                            \
    "application/vnd.oci.image.manifest.v1+json, "                                                 \
    "application/vnd.docker.distribution.manifest.list.v2+json, "                                  \
    "application/vnd.docker.distribution.manifest.v2+json"
#define HEADER_MAX   1024 /* a response header value kept longer than this is cut */
#define ERR_BODY_MAX 512  /* of an error answer's body, for the message */
#define URL_MAX      4096
#define DEFAULT_CA   "/etc/ssl/certs/ca-certificates.crt"
#define CA_MAX_BYTES (4 * 1024 * 1024)
/* A token endpoint's answer larger than this is not a token. */
#define TOKEN_BODY_MAX (64 * 1024)
#define AUTH_MAX       (REGAUTH_FIELD_MAX * 2 + 64)

struct reg_conn {
    CURL *easy;
    const struct reg_settings *settings;
    const struct reg_credentials *creds;
    uint64_t deadline_ms;
    uint64_t bytes;
};

/* What one HTTP exchange delivered. */
struct exchange {
    long status;
    char digest[REG_DIGEST_MAX]; /* Docker-Content-Digest */
    char media[REG_MEDIA_MAX];   /* Content-Type */
    char challenge[HEADER_MAX];  /* WWW-Authenticate */
    char retry_after[64];
    /* The body goes to exactly one sink: a buffer (its ceiling bounds it), a file, or nowhere. */
    struct buf *body;
    int fd;
    uint64_t fd_max;
    uint64_t received;
    bool too_large;
    bool write_failed;
    EVP_MD_CTX *sha;
    char err_body[ERR_BODY_MAX + 1];
    size_t err_len;
};

uint64_t reg_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int reg_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int fail(struct reg_error *e, enum reg_result r, long status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(struct reg_error *e, enum reg_result r, long status, const char *fmt, ...)
{
    va_list ap;
    e->result = r;
    e->status = status;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- settings ---------------------------------------------------------------------- */

static int append_file(struct buf *b, const char *path, char *err, size_t errlen)
{
    char why[512];
    if (buf_read_file(b, path, why, sizeof(why)) != 0)
        return errorf(err, errlen, "registry.caFile: %s", why);
    return 0;
}

static char **copy_strings(char *const *from, size_t n)
{
    char **out = calloc(n ? n : 1, sizeof(*out));
    for (size_t i = 0; out && i < n; i++)
        if (!(out[i] = strdup(from[i]))) {
            while (i--)
                free(out[i]);
            free(out);
            return NULL;
        }
    return out;
}

static void free_strings(char **list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        free(list[i]);
    free(list);
}

static void settings_free(struct reg_settings *s)
{
    if (s->ca)
        free(s->ca->data);
    free(s->ca);
    free_strings(s->insecure, s->ninsecure);
    free_strings(s->mirror_from, s->nmirrors);
    free_strings(s->mirror_to, s->nmirrors);
    free(s);
}

/* The system's CAs, then the configured ones: curl takes one bundle. */
/* Certificates in the PEM text from (a file's part of the bundle); 0 when none parses. */
static int count_certificates(const char *from, size_t len)
{
    BIO *bio = BIO_new_mem_buf(from, (int)len);
    X509 *cert;
    int n = 0;
    while (bio && (cert = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
        X509_free(cert);
        n++;
    }
    ERR_clear_error();
    BIO_free(bio);
    return n;
}

static int load_ca(struct reg_settings *s, const char *ca_file, char *err, size_t errlen)
{
    struct buf pem = BUF_INIT_MAX(CA_MAX_BYTES); /* the system's certificates and ca_file */
    const char *system = getenv("SSL_CERT_FILE") ? getenv("SSL_CERT_FILE") : DEFAULT_CA;
    size_t own = 0;
    if ((access(system, R_OK) == 0 && append_file(&pem, system, err, errlen) != 0) ||
        buf_append_char(&pem, '\n') != 0 || (own = pem.len, 0) ||
        append_file(&pem, ca_file, err, errlen) != 0) {
        buf_free(&pem);
        return err && err[0] ? -1 : errorf(err, errlen, "out of memory");
    }
    if (count_certificates(pem.data + own, pem.len - own) == 0) {
        buf_free(&pem);
        return errorf(err, errlen, "registry.caFile %.200s: no PEM certificate in it", ca_file);
    }
    if (buf_append_char(&pem, '\n') != 0 || !(s->ca = calloc(1, sizeof(*s->ca)))) {
        buf_free(&pem);
        return errorf(err, errlen, "out of memory");
    }
    s->ca->len = pem.len;
    s->ca->data = buf_steal(&pem);
    s->ca->flags = CURL_BLOB_NOCOPY;
    return 0;
}

struct reg_settings *reg_settings_new(const char *ca_file, char *const *insecure, size_t ninsecure,
                                      char *const *mirror_from, char *const *mirror_to,
                                      size_t nmirrors, char *err, size_t errlen)
{
    struct reg_settings *s = calloc(1, sizeof(*s));
    if (!s || !(s->insecure = copy_strings(insecure, ninsecure)) ||
        !(s->mirror_from = copy_strings(mirror_from, nmirrors)) ||
        !(s->mirror_to = copy_strings(mirror_to, nmirrors))) {
        if (s)
            settings_free(s);
        errorf(err, errlen, "out of memory");
        return NULL;
    }
    s->ninsecure = ninsecure;
    s->nmirrors = nmirrors;
    atomic_init(&s->refs, 1);
    if (ca_file && load_ca(s, ca_file, err, errlen) != 0) {
        settings_free(s);
        return NULL;
    }
    return s;
}

struct reg_settings *reg_settings_hold(struct reg_settings *s)
{
    if (s)
        atomic_fetch_add(&s->refs, 1);
    return s;
}

void reg_settings_drop(struct reg_settings *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1)
        settings_free(s);
}

static bool host_insecure(const struct reg_settings *s, const char *host)
{
    for (size_t i = 0; i < s->ninsecure; i++)
        if (strcasecmp(s->insecure[i], host) == 0)
            return true;
    return false;
}

void reg_target_for(const struct reg_settings *s, const struct image_ref *ref, struct reg_target *t)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->registry, sizeof(t->registry), "%s", ref->registry);
    snprintf(t->repository, sizeof(t->repository), "%s", ref->repository);
    const char *host = image_ref_api_host(ref);
    for (size_t i = 0; i < s->nmirrors; i++)
        if (strcasecmp(s->mirror_from[i], ref->registry) == 0)
            host = s->mirror_to[i];
    snprintf(t->host, sizeof(t->host), "%s", host);
    t->plain_http = host_insecure(s, t->host);
}

/* ---- the token cache ----------------------------------------------------------------- */

/* One registry host and repository: how to authorise requests to it. */
struct token {
    char key[IMAGE_REF_REGISTRY_MAX + IMAGE_REF_REPOSITORY_MAX + 2];
    enum reg_scheme scheme;
    char *header;        /* owned; "Authorization: Bearer ..." (Bearer only) */
    uint64_t expires_ms; /* Bearer only */
    uint64_t used_ms;
};

static struct {
    pthread_mutex_t lock;
    struct token slots[REG_TOKEN_CACHE];
} tokens = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void token_key(const struct reg_target *t, char *key, size_t len)
{
    snprintf(key, len, "%s\n%s", t->host, t->repository);
}

/* "Authorization: Basic base64(user:password)" for cred into out ("" when it does not fit). */
static void basic_header(const struct reg_credential *cred, char *out, size_t len)
{
    char plain[AUTH_MAX];
    unsigned char b64[AUTH_MAX * 4 / 3 + 8];
    int n = snprintf(plain, sizeof(plain), "%s:%s", cred->user, cred->password);
    out[0] = '\0';
    if (n > 0 && (size_t)n < sizeof(plain)) {
        EVP_EncodeBlock(b64, (const unsigned char *)plain, n);
        snprintf(out, len, "Authorization: Basic %s", b64);
        OPENSSL_cleanse(b64, sizeof(b64));
    }
    OPENSSL_cleanse(plain, sizeof(plain));
}

/*
 * The Authorization header line for t into out ("" when none is known).
 * Basic is built from the credentials each time, so a reloaded file is used at once.
 */
static void auth_header(const struct reg_conn *c, const struct reg_target *t, char *out, size_t len)
{
    char key[sizeof(tokens.slots[0].key)];
    enum reg_scheme scheme = REG_SCHEME_NONE;
    token_key(t, key, sizeof(key));
    out[0] = '\0';
    uint64_t now = reg_now_ms();
    pthread_mutex_lock(&tokens.lock);
    for (size_t i = 0; i < REG_TOKEN_CACHE; i++) {
        struct token *tok = &tokens.slots[i];
        if (strcmp(tok->key, key) != 0)
            continue;
        scheme = tok->scheme;
        if (scheme == REG_SCHEME_BEARER && tok->header && tok->expires_ms > now)
            snprintf(out, len, "%s", tok->header);
        tok->used_ms = now;
        break;
    }
    pthread_mutex_unlock(&tokens.lock);
    const struct reg_credential *cred = reg_credentials_find(c->creds, t->host);
    if (scheme == REG_SCHEME_BASIC && cred)
        basic_header(cred, out, len);
}

/* Remembers how t authorises: a Bearer token until it expires, or Basic. */
static void token_store(const struct reg_target *t, enum reg_scheme scheme, const char *token,
                        long expires_in)
{
    char key[sizeof(tokens.slots[0].key)];
    token_key(t, key, sizeof(key));
    char *header = NULL;
    if (token && asprintf(&header, "Authorization: Bearer %s", token) < 0)
        header = NULL;
    uint64_t now = reg_now_ms();
    pthread_mutex_lock(&tokens.lock);
    struct token *slot = &tokens.slots[0];
    for (size_t i = 0; i < REG_TOKEN_CACHE; i++) {
        struct token *tok = &tokens.slots[i];
        if (strcmp(tok->key, key) == 0) {
            slot = tok;
            break;
        }
        if (tok->used_ms < slot->used_ms)
            slot = tok; /* the least recently used, if key is new */
    }
    free(slot->header);
    snprintf(slot->key, sizeof(slot->key), "%s", key);
    slot->scheme = scheme;
    slot->header = header;
    /* Renewed a little early, so a token never expires between our check and its use. */
    long margin_ms = expires_in > 10 ? 5000 : expires_in * 500;
    slot->expires_ms = now + (uint64_t)(expires_in * 1000 - margin_ms);
    slot->used_ms = now;
    pthread_mutex_unlock(&tokens.lock);
}

/* ---- one exchange ---------------------------------------------------------------------- */

static void copy_value(char *dst, size_t cap, const char *v, size_t len)
{
    while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
        len--;
    while (len && (*v == ' ' || *v == '\t')) {
        v++;
        len--;
    }
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, v, len);
    dst[len] = '\0';
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    struct exchange *x = arg;
    size_t len = size * n;
    static const struct {
        const char *name;
        size_t off, cap;
    } wanted[] = {
        {"docker-content-digest:", offsetof(struct exchange, digest), REG_DIGEST_MAX},
        {"content-type:", offsetof(struct exchange, media), REG_MEDIA_MAX},
        {"www-authenticate:", offsetof(struct exchange, challenge), HEADER_MAX},
        {"retry-after:", offsetof(struct exchange, retry_after), 64},
    };
    if (len > 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* A new response (after 100 Continue, say): forget the last one's headers. */
        x->digest[0] = x->media[0] = x->challenge[0] = x->retry_after[0] = '\0';
        return len;
    }
    for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
        size_t nl = strlen(wanted[i].name);
        if (len > nl && strncasecmp(data, wanted[i].name, nl) == 0) {
            char *dst = (char *)x + wanted[i].off;
            /* Of several challenges on separate lines, keep the first. */
            if (wanted[i].off != offsetof(struct exchange, challenge) || !dst[0])
                copy_value(dst, wanted[i].cap, data + nl, len - nl);
        }
    }
    return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct exchange *x = arg;
    size_t len = size * n;
    x->received += len;
    if (x->status < 200 || x->status > 299) {
        size_t room = ERR_BODY_MAX - x->err_len;
        size_t take = len < room ? len : room;
        memcpy(x->err_body + x->err_len, data, take);
        x->err_len += take;
        x->err_body[x->err_len] = '\0';
        return len;
    }
    if (x->fd >= 0 && x->received > x->fd_max) {
        x->too_large = true;
        return 0;
    }
    if (x->body && buf_append(x->body, data, len) != 0) {
        x->too_large = errno == EFBIG;
        x->write_failed = !x->too_large;
        return 0;
    }
    if (x->sha && EVP_DigestUpdate(x->sha, data, len) != 1) {
        x->write_failed = true;
        return 0;
    }
    for (size_t done = 0; x->fd >= 0 && done < len;) {
        ssize_t w = write(x->fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            x->write_failed = true;
            return 0;
        }
        done += (size_t)w;
    }
    return len;
}

/* Set while the process stops: every transfer in progress ends at its next progress call. */
static atomic_bool aborting;

void reg_abort_all(bool on)
{
    atomic_store(&aborting, on);
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    return atomic_load(&aborting) ? 1 : 0;
}

/* The handle of this thread's transfer: on_body_thread asks it for the status. */
static __thread CURL *current_easy;

static size_t on_body_thread(char *data, size_t size, size_t n, void *arg)
{
    struct exchange *x = arg;
    if (x->status == 0)
        curl_easy_getinfo(current_easy, CURLINFO_RESPONSE_CODE, &x->status);
    return on_body(data, size, n, arg);
}

/* Resets what a retried exchange must not keep from the last try. */
static int exchange_rewind(struct exchange *x)
{
    x->status = 0;
    x->received = 0;
    x->err_len = 0;
    x->err_body[0] = '\0';
    x->too_large = x->write_failed = false;
    if (x->body)
        buf_truncate(x->body, 0);
    if (x->fd >= 0 && (ftruncate(x->fd, 0) != 0 || lseek(x->fd, 0, SEEK_SET) != 0))
        return -1;
    if (x->sha && EVP_DigestInit_ex(x->sha, EVP_sha256(), NULL) != 1)
        return -1;
    return 0;
}

/* scheme://host[:port] of url into out, lowercase scheme and host. -1 when it cannot be parsed. */
static int origin_of(const char *url, char *out, size_t len, bool *plain)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    int rc = -1;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
        for (char *p = host; *p; p++)
            *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        snprintf(out, len, "%s://%s:%s", scheme, host, port);
        *plain = strcasecmp(scheme, "http") == 0;
        rc = strcasecmp(scheme, "http") == 0 || strcasecmp(scheme, "https") == 0 ? 0 : -1;
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

/* host[:port] as the URL names it, for the insecure-hosts check of a redirect. */
static void hostport_of(const char *url, char *out, size_t len)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL;
    out[0] = '\0';
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK)
            snprintf(out, len, "%s:%s", host, port);
        else
            snprintf(out, len, "%s", host);
    }
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
}

static long remaining_ms(const struct reg_conn *c)
{
    uint64_t now = reg_now_ms();
    return c->deadline_ms > now ? (long)(c->deadline_ms - now) : 0;
}

/*
 * One HTTP request to url with the given header lines; no redirect is
 * followed. Fills x, and *location with a redirect's absolute target.
 */
static CURLcode send_once(struct reg_conn *c, const char *method, const char *url,
                          const char *accept, const char *auth, struct exchange *x, char *location,
                          size_t loclen)
{
    CURL *h = c->easy;
    struct curl_slist *headers = NULL;
    if (accept)
        headers = curl_slist_append(headers, accept);
    if (auth && auth[0])
        headers = curl_slist_append(headers, auth);
    curl_easy_reset(h);
    current_easy = h;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "goinject/" GOINJECT_VERSION);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body_thread);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    long left = remaining_ms(c);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, left > 0 ? left : 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     left < REG_CONNECT_MS ? (left > 0 ? left : 1L) : (long)REG_CONNECT_MS);
    if (c->settings->ca)
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, c->settings->ca);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    CURLcode rc = left > 0 ? curl_easy_perform(h) : CURLE_OPERATION_TIMEDOUT;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &x->status);
    char *redirect = NULL;
    location[0] = '\0';
    if (rc == CURLE_OK && x->status >= 300 && x->status < 400 &&
        curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &redirect) == CURLE_OK && redirect)
        snprintf(location, loclen, "%s", redirect);
    curl_slist_free_all(headers);
    current_easy = NULL;
    return rc;
}

static void record(const struct reg_target *t, const char *kind, long status, CURLcode rc,
                   uint64_t start_ms, uint64_t bytes)
{
    metrics_record_registry_request(t->registry, kind, rc == CURLE_OK ? status : -1,
                                    (double)(reg_now_ms() - start_ms) / 1000.0, bytes);
}

/* Maps a failed transfer or an unwanted status to a result. */
static int classify(struct reg_conn *c, const struct exchange *x, CURLcode rc, const char *what,
                    struct reg_error *e)
{
    e->retry_after = reg_retry_after(x->retry_after[0] ? x->retry_after : NULL, time(NULL));
    if (x->too_large)
        return fail(e, REG_INVALID, x->status, "%s is larger than allowed", what);
    if (x->write_failed)
        return fail(e, REG_INVALID, x->status, "%s: cannot store the data", what);
    if (rc == CURLE_OPERATION_TIMEDOUT || (rc != CURLE_OK && remaining_ms(c) == 0))
        return fail(e, REG_TIMEOUT, 0, "%s: timed out", what);
    if (rc != CURLE_OK)
        return fail(e, REG_UNAVAILABLE, 0, "%s: %s", what, curl_easy_strerror(rc));
    switch (x->status) {
    case 401:
    case 403:
        return fail(e, REG_AUTH, x->status, "%s: HTTP %ld (credentials refused or missing)", what,
                    x->status);
    case 404:
        return fail(e, REG_NOT_FOUND, 404, "%s: not found", what);
    case 429:
        return fail(e, REG_RATE_LIMITED, 429, "%s: rate limited (HTTP 429)", what);
    default:
        break;
    }
    if (x->status >= 500)
        return fail(e, REG_UNAVAILABLE, x->status, "%s: HTTP %ld", what, x->status);
    return fail(e, REG_INVALID, x->status, "%s: unexpected HTTP %ld", what, x->status);
}

/* ---- tokens ---------------------------------------------------------------------------- */

/* Escapes a query value (curl_easy_escape needs a handle; this is the same rule). */
static void query_escape(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            strchr("-._~", ch))
            buf_append_char(b, (char)ch);
        else {
            buf_append_char(b, '%');
            buf_append_char(b, hex[ch >> 4]);
            buf_append_char(b, hex[ch & 15]);
        }
    }
}

/* Asks the challenge's realm for a pull token for t; stores it. */
static int fetch_token(struct reg_conn *c, const struct reg_target *t,
                       const struct reg_challenge *ch, struct reg_error *e)
{
    char origin[URL_MAX];
    bool plain = false;
    char hostport[IMAGE_REF_REGISTRY_MAX + 8];
    if (origin_of(ch->realm, origin, sizeof(origin), &plain) != 0)
        return fail(e, REG_AUTH, 401, "token realm \"%.100s\" is not an http(s) URL", ch->realm);
    hostport_of(ch->realm, hostport, sizeof(hostport));
    if (plain && !host_insecure(c->settings, hostport))
        return fail(e, REG_AUTH, 401, "token realm %.100s is plain http and not an insecure host",
                    hostport);
    struct buf url = BUF_INIT, body = BUF_INIT_MAX(TOKEN_BODY_MAX);
    buf_append_str(&url, ch->realm);
    buf_append_char(&url, strchr(ch->realm, '?') ? '&' : '?');
    if (ch->service[0]) {
        buf_append_str(&url, "service=");
        query_escape(&url, ch->service);
        buf_append_char(&url, '&');
    }
    buf_append_str(&url, "scope=");
    char scope[IMAGE_REF_REPOSITORY_MAX + 32];
    snprintf(scope, sizeof(scope), "repository:%s:pull", t->repository);
    query_escape(&url, scope);

    char auth[AUTH_MAX * 2] = "";
    const struct reg_credential *cred = reg_credentials_find(c->creds, t->host);
    if (cred)
        basic_header(cred, auth, sizeof(auth));
    struct exchange x = {.fd = -1, .body = &body};
    char location[8];
    uint64_t start = reg_now_ms();
    CURLcode rc = url.data ? send_once(c, "GET", url.data, "Accept: application/json", auth, &x,
                                       location, sizeof(location))
                           : CURLE_OUT_OF_MEMORY;
    OPENSSL_cleanse(auth, sizeof(auth));
    record(t, "token", x.status, rc, start, x.received);
    c->bytes += x.received;
    buf_free(&url);
    int result = 0;
    if (rc != CURLE_OK || x.status != 200) {
        result = classify(c, &x, rc, "token", e);
        if (e->result == REG_INVALID || e->result == REG_NOT_FOUND)
            e->result = REG_AUTH;
    } else {
        json_t *doc = json_loadb(body.data ? body.data : "", body.len, 0, NULL);
        const char *token = json_string_value(json_object_get(doc, "token"));
        if (!token)
            token = json_string_value(json_object_get(doc, "access_token"));
        json_int_t expires = json_integer_value(json_object_get(doc, "expires_in"));
        if (expires <= 0)
            expires = 60; /* the token specification's default */
        if (expires > REG_MAX_TOKEN_SECONDS)
            expires = REG_MAX_TOKEN_SECONDS;
        if (!token || !*token || strpbrk(token, "\r\n"))
            result = fail(e, REG_AUTH, 200, "token: the answer holds no usable token");
        else
            token_store(t, REG_SCHEME_BEARER, token, (long)expires);
        json_decref(doc);
    }
    if (body.data)
        OPENSSL_cleanse(body.data, body.len);
    buf_free(&body);
    return result;
}

/*
 * After a 401: gets what the challenge asks for. 0 when a retry may now
 * succeed, -1 (e filled) when it cannot.
 */
static int answer_challenge(struct reg_conn *c, const struct reg_target *t,
                            const struct exchange *x, struct reg_error *e)
{
    struct reg_challenge ch;
    if (reg_challenge_parse(x->challenge, &ch) != 0)
        return fail(e, REG_AUTH, 401, "HTTP 401 without a challenge goinject understands");
    if (ch.scheme == REG_SCHEME_BEARER)
        return fetch_token(c, t, &ch, e);
    if (!reg_credentials_find(c->creds, t->host))
        return fail(e, REG_AUTH, 401, "%s asks for a password and none is configured for it",
                    t->host);
    token_store(t, REG_SCHEME_BASIC, NULL, 0);
    return 0;
}

/* ---- requests ----------------------------------------------------------------------------- */

/*
 * method on /v2/<repository>/<path> of t, following redirects and one
 * authentication round. Returns 0 with a 2xx in x, or -1 with e filled.
 */
static int request(struct reg_conn *c, const struct reg_target *t, const char *kind,
                   const char *method, const char *path, const char *accept, struct exchange *x,
                   struct reg_error *e)
{
    char url[URL_MAX], origin[URL_MAX], where[URL_MAX], location[URL_MAX];
    char auth[AUTH_MAX * 2];
    bool plain = false, authed = false;
    int hops = 0;
    snprintf(url, sizeof(url), "%s://%s/v2/%s/%s", t->plain_http ? "http" : "https", t->host,
             t->repository, path);
    if (origin_of(url, origin, sizeof(origin), &plain) != 0)
        return fail(e, REG_INVALID, 0, "%s: cannot build a URL for %s", kind, t->host);
    auth_header(c, t, auth, sizeof(auth));
    for (;;) {
        if (exchange_rewind(x) != 0)
            return fail(e, REG_INVALID, 0, "%s: cannot rewind the spool file", kind);
        char here[URL_MAX];
        bool here_plain = false;
        bool same =
            origin_of(url, here, sizeof(here), &here_plain) == 0 && strcmp(here, origin) == 0;
        uint64_t start = reg_now_ms();
        /* Authorization goes to the registry's own origin only. */
        CURLcode rc =
            send_once(c, method, url, accept, same ? auth : NULL, x, location, sizeof(location));
        record(t, kind, x->status, rc, start, x->received);
        c->bytes += x->received;
        if (rc == CURLE_OK && x->status >= 200 && x->status <= 299)
            return 0;
        if (rc == CURLE_OK && x->status == 401 && same && !authed) {
            authed = true;
            if (answer_challenge(c, t, x, e) != 0)
                return -1;
            auth_header(c, t, auth, sizeof(auth));
            if (!auth[0])
                return fail(e, REG_AUTH, 401, "%s: no usable credentials", kind);
            continue;
        }
        if (rc == CURLE_OK && location[0] && x->status >= 300 && x->status < 400) {
            bool to_plain = false;
            char hostport[IMAGE_REF_REGISTRY_MAX + 8];
            if (++hops > REG_MAX_REDIRECTS)
                return fail(e, REG_INVALID, x->status, "%s: more than %d redirects", kind,
                            REG_MAX_REDIRECTS);
            if (origin_of(location, where, sizeof(where), &to_plain) != 0)
                return fail(e, REG_INVALID, x->status, "%s: redirect to a URL that is not http(s)",
                            kind);
            hostport_of(location, hostport, sizeof(hostport));
            if (to_plain && !host_insecure(c->settings, hostport))
                return fail(e, REG_INVALID, x->status,
                            "%s: redirect to plain http://%.100s refused", kind, hostport);
            snprintf(url, sizeof(url), "%s", location);
            continue;
        }
        return classify(c, x, rc, kind, e);
    }
}

/* "sha256:<hex>" of a finished digest context into out; -1 when it cannot be finished. */
static int sha256_text(EVP_MD_CTX *sha, char out[REG_DIGEST_MAX])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(sha, md, &len) != 1 || len != 32)
        return -1;
    memcpy(out, "sha256:", 7);
    for (unsigned int i = 0; i < len; i++) {
        out[7 + 2 * i] = hex[md[i] >> 4];
        out[8 + 2 * i] = hex[md[i] & 15];
    }
    out[7 + 2 * len] = '\0';
    return 0;
}

int reg_sha256_of(const void *data, size_t len, char out[REG_DIGEST_MAX])
{
    EVP_MD_CTX *sha = EVP_MD_CTX_new();
    int rc = sha && EVP_DigestInit_ex(sha, EVP_sha256(), NULL) == 1 &&
                     EVP_DigestUpdate(sha, data, len) == 1
                 ? sha256_text(sha, out)
                 : -1;
    EVP_MD_CTX_free(sha);
    return rc;
}

/* Compares the sha256 x computed with the digest asked for. */
static int check_digest(struct exchange *x, const char *digest, const char *what,
                        struct reg_error *e)
{
    char got[REG_DIGEST_MAX];
    if (sha256_text(x->sha, got) != 0)
        return fail(e, REG_INVALID, x->status, "%s: cannot compute its digest", what);
    if (strcmp(digest, got) != 0)
        return fail(e, REG_INVALID, x->status,
                    "%s: content does not match its digest (sha256:%.12s... received)", what,
                    got + 7);
    return 0;
}

bool reg_valid_sha256(const char *d)
{
    return d && strncmp(d, "sha256:", 7) == 0 && strlen(d + 7) == 64 &&
           strspn(d + 7, "0123456789abcdef") == 64;
}

/* A verified GET of manifests/<digest> or blobs/<digest> into x's sink. */
static int get_verified(struct reg_conn *c, const struct reg_target *t, const char *kind,
                        const char *digest, bool manifest, struct exchange *x, struct reg_error *e)
{
    char path[REG_DIGEST_MAX + 16];
    if (!reg_valid_sha256(digest))
        return fail(e, REG_INVALID, 0, "%s: unsupported digest \"%.80s\"", kind,
                    digest ? digest : "");
    snprintf(path, sizeof(path), "%s/%s", manifest ? "manifests" : "blobs", digest);
    if (!(x->sha = EVP_MD_CTX_new()))
        return fail(e, REG_INVALID, 0, "out of memory");
    int rc = request(c, t, kind, "GET", path, manifest ? MANIFEST_ACCEPT : NULL, x, e);
    if (rc == 0)
        rc = check_digest(x, digest, kind, e);
    EVP_MD_CTX_free(x->sha);
    x->sha = NULL;
    return rc;
}

int reg_resolve_tag(struct reg_conn *c, const struct reg_target *t, const char *tag,
                    char digest[REG_DIGEST_MAX], struct reg_error *e)
{
    struct exchange x = {.fd = -1};
    char path[IMAGE_REF_TAG_MAX + 16];
    snprintf(path, sizeof(path), "manifests/%s", tag);
    if (request(c, t, "manifest-head", "HEAD", path, MANIFEST_ACCEPT, &x, e) != 0)
        return -1;
    if (reg_valid_sha256(x.digest)) {
        snprintf(digest, REG_DIGEST_MAX, "%s", x.digest);
        return 0;
    }
    /* No Docker-Content-Digest: the digest is that of the bytes a GET returns. */
    struct buf body = BUF_INIT_MAX(REG_MAX_MANIFEST);
    struct exchange g = {.fd = -1, .body = &body};
    if (!(g.sha = EVP_MD_CTX_new()))
        return fail(e, REG_INVALID, 0, "out of memory");
    int rc = request(c, t, "manifest", "GET", path, MANIFEST_ACCEPT, &g, e);
    if (rc == 0 && sha256_text(g.sha, digest) != 0)
        rc = fail(e, REG_INVALID, 0, "manifest: cannot compute its digest");
    EVP_MD_CTX_free(g.sha);
    buf_free(&body);
    return rc;
}

int reg_get_manifest(struct reg_conn *c, const struct reg_target *t, const char *digest,
                     struct buf *body, char media[REG_MEDIA_MAX], struct reg_error *e)
{
    struct buf manifest = BUF_INIT_MAX(REG_MAX_MANIFEST);
    struct exchange x = {.fd = -1, .body = &manifest};
    int rc = get_verified(c, t, "manifest", digest, true, &x, e);
    snprintf(media, REG_MEDIA_MAX, "%s", x.media);
    buf_free(body);
    *body = manifest;
    return rc;
}

int reg_get_blob(struct reg_conn *c, const struct reg_target *t, const char *kind,
                 const char *digest, int fd, uint64_t max, struct reg_error *e)
{
    struct exchange x = {.fd = fd, .fd_max = max};
    return get_verified(c, t, kind, digest, false, &x, e);
}

/* ---- connections ------------------------------------------------------------------------------
 */

struct reg_conn *reg_conn_new(void)
{
    struct reg_conn *c = calloc(1, sizeof(*c));
    if (c && !(c->easy = curl_easy_init())) {
        free(c);
        return NULL;
    }
    return c;
}

void reg_conn_bind(struct reg_conn *c, const struct reg_settings *s,
                   const struct reg_credentials *creds, uint64_t deadline_ms)
{
    c->settings = s;
    c->creds = creds;
    c->deadline_ms = deadline_ms;
    c->bytes = 0;
}

uint64_t reg_conn_bytes(const struct reg_conn *c)
{
    return c->bytes;
}

void reg_conn_free(struct reg_conn *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->easy);
    free(c);
}
