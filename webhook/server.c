/* server.c - the HTTPS admission webhook on libmicrohttpd; see server.h. */
#include "server.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <math.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "admission.h"
#include "buf.h"
#include "log.h"
#include "metrics.h"
#include "tlsstore.h"

/* TLS 1.2 and 1.3 only, AEAD ciphers only, our order first. */
#define TLS_PRIORITIES                                                                             \
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"            \
    "+CHACHA20-POLY1305:-MAC-ALL:+AEAD:%SERVER_PRECEDENCE"

/* How much of an oversized chunked body is read and dropped before the connection is cut. */
#define DISCARD_LIMIT_BYTES (16u * 1024 * 1024)

enum route { ROUTE_NOT_FOUND, ROUTE_MUTATE, ROUTE_HEALTHZ, ROUTE_READYZ, ROUTE_METRICS };

struct server {
    const struct server_options *opts;
    struct MHD_Daemon *daemon;
    char *client_ca; /* PEM, kept alive for the daemon's lifetime */
    atomic_bool ready;
    atomic_bool draining;
    atomic_int inflight;
};

/* What the request URL says of the namespace's Pod Security level. */
enum pod_security_route {
    POD_SECURITY_FROM_CONFIG,      /* nothing: the configuration decides */
    POD_SECURITY_LABEL_ENFORCED,   /* labelled enforce=baseline or restricted */
    POD_SECURITY_LABEL_PRIVILEGED, /* labelled enforce=privileged */
};

/* Per-request state, from the headers to the completion callback. */
struct request {
    enum route route;
    bool counted; /* counted in server.inflight */
    bool too_large;
    enum pod_security_route pod_security; /* what the URL says of the namespace */
    size_t received;                      /* body bytes read so far, kept or not */
    unsigned reject;                      /* a status decided from the headers, 0 when none */
    const char *message;                  /* its error text */
    struct buf body;
};

/* ---- responses ---------------------------------------------------------- */

static enum MHD_Result respond(struct server *srv, struct MHD_Connection *conn, unsigned status,
                               const char *content_type, char *body, size_t len, const char *allow)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!response) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
    if (allow)
        MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, allow);
    /* While draining, ask every client to go elsewhere for its next request. */
    if (atomic_load(&srv->draining))
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result rc = MHD_queue_response(conn, status, response);
    MHD_destroy_response(response);
    metrics_record_response(status);
    return rc;
}

static enum MHD_Result respond_json(struct server *srv, struct MHD_Connection *conn,
                                    unsigned status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text)
        return MHD_NO;
    return respond(srv, conn, status, "application/json", text, strlen(text), NULL);
}

static enum MHD_Result respond_error(struct server *srv, struct MHD_Connection *conn,
                                     unsigned status, const char *message, const char *allow)
{
    char *text = NULL;
    json_t *body = json_pack("{s:s}", "error", message);
    if (body)
        text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text)
        return MHD_NO;
    return respond(srv, conn, status, "application/json", text, strlen(text), allow);
}

/* ---- routing and header checks ------------------------------------------ */

/*
 * The webhook configuration sends namespaces labelled to enforce Pod Security
 * baseline/restricted to /mutate/pod-security-enforced, and those labelled
 * privileged (which overrides a cluster-wide default) to
 * /mutate/pod-security-privileged: a URL in a webhook configuration may carry
 * a path but no query. Sets *pod_security from the path.
 */
static enum route route_for(const char *url, enum pod_security_route *pod_security)
{
    while (url[0] == '/' && url[1] == '/')
        url++; /* some clients build "//mutate" from a base URL ending in "/" */
    *pod_security = POD_SECURITY_FROM_CONFIG;
    if (strcmp(url, "/mutate/pod-security-enforced") == 0)
        *pod_security = POD_SECURITY_LABEL_ENFORCED;
    else if (strcmp(url, "/mutate/pod-security-privileged") == 0)
        *pod_security = POD_SECURITY_LABEL_PRIVILEGED;
    if (strcmp(url, "/mutate") == 0 || *pod_security != POD_SECURITY_FROM_CONFIG)
        return ROUTE_MUTATE;
    if (strcmp(url, "/healthz") == 0)
        return ROUTE_HEALTHZ;
    if (strcmp(url, "/readyz") == 0)
        return ROUTE_READYZ;
    if (strcmp(url, "/metrics") == 0)
        return ROUTE_METRICS;
    return ROUTE_NOT_FOUND;
}

static bool is_json_content_type(const char *value)
{
    static const char want[] = "application/json";
    if (!value || strncasecmp(value, want, sizeof(want) - 1) != 0)
        return false;
    char next = value[sizeof(want) - 1];
    return next == '\0' || next == ';' || next == ' ';
}

static bool client_verified(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    unsigned status = 0, count = 0;
    if (!info || !info->tls_session)
        return false;
    gnutls_session_t session = (gnutls_session_t)info->tls_session;
    if (!gnutls_certificate_get_peers(session, &count) || count == 0)
        return false;
    return gnutls_certificate_verify_peers2(session, &status) == GNUTLS_E_SUCCESS && status == 0;
}

static void reject(struct request *req, unsigned status, const char *message)
{
    req->reject = status;
    req->message = message;
}

/* Everything that can be decided before the body arrives. */
static void check_headers(struct server *srv, struct MHD_Connection *conn, const char *method,
                          struct request *req)
{
    bool is_post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    bool is_get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;
    if (req->route == ROUTE_NOT_FOUND)
        return reject(req, MHD_HTTP_NOT_FOUND, "not found: the webhook serves POST /mutate");
    if (req->route == ROUTE_MUTATE && !is_post)
        return reject(req, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: use POST");
    if (req->route != ROUTE_MUTATE && !is_get)
        return reject(req, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: use GET");
    if (req->route != ROUTE_MUTATE)
        return;
    if (srv->client_ca && !client_verified(conn))
        return reject(req, MHD_HTTP_UNAUTHORIZED,
                      "unauthorized: a client certificate signed by the client CA is required");
    if (!is_json_content_type(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type")))
        return reject(req, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                      "unsupported media type: send Content-Type: application/json");
    const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if (length && strtoull(length, NULL, 10) > srv->opts->max_body_bytes)
        return reject(req, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
    if (length)
        buf_reserve(&req->body, (size_t)strtoull(length, NULL, 10));
}

/* ---- handlers ----------------------------------------------------------- */

static enum MHD_Result serve_health(struct server *srv, struct MHD_Connection *conn, bool readiness)
{
    bool ok = !readiness || (atomic_load(&srv->ready) && !atomic_load(&srv->draining));
    return respond_json(srv, conn, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
                        json_pack("{s:s}", "status", ok ? "ok" : "not ready"));
}

static enum MHD_Result serve_metrics(struct server *srv, struct MHD_Connection *conn)
{
    struct buf text = BUF_INIT;
    metrics_set_cert_expiry(tls_store_not_after());
    if (metrics_render(&text) != 0) {
        buf_free(&text);
        return respond_error(srv, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory", NULL);
    }
    size_t len = text.len;
    return respond(srv, conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                   buf_steal(&text), len, NULL);
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/*
 * The ?podSecurity= query (for a webhook called by URL): baseline or restricted
 * say the namespace enforces Pod Security, privileged that it does not. Refines
 * what the path said.
 */
static enum pod_security_route pod_security_from_query(struct MHD_Connection *conn,
                                                       enum pod_security_route from_path)
{
    const char *level = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "podSecurity");
    if (level && (strcmp(level, "baseline") == 0 || strcmp(level, "restricted") == 0))
        return POD_SECURITY_LABEL_ENFORCED;
    if (level && strcmp(level, "privileged") == 0 && from_path == POD_SECURITY_FROM_CONFIG)
        return POD_SECURITY_LABEL_PRIVILEGED;
    return from_path;
}

/*
 * The API server's own timeout for this call, from its ?timeout= query (a Go
 * duration such as "10s"), in milliseconds; 0 when absent or not understood.
 */
static unsigned timeout_from_query(struct MHD_Connection *conn)
{
    const char *text = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "timeout");
    char *end;
    if (!text || *text < '0' || *text > '9')
        return 0;
    unsigned long n = strtoul(text, &end, 10);
    if (n > 3600)
        return 0;
    if (strcmp(end, "s") == 0)
        return (unsigned)n * 1000;
    if (strcmp(end, "ms") == 0)
        return (unsigned)n;
    if (strcmp(end, "m") == 0)
        return (unsigned)n * 60000;
    return 0;
}

static enum MHD_Result serve_review(struct server *srv, struct MHD_Connection *conn,
                                    struct request *req)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    enum pod_security_route pod_security = pod_security_from_query(conn, req->pod_security);
    struct review_options options = {
        .pod_security_enforced = pod_security == POD_SECURITY_LABEL_ENFORCED,
        .pod_security_privileged = pod_security == POD_SECURITY_LABEL_PRIVILEGED,
        .timeout_ms = timeout_from_query(conn),
        .no_registry = srv->opts->no_registry,
    };
    struct review_outcome outcome;
    struct config_ref *config = confstore_acquire(srv->opts->config);
    admission_review(config->cfg, req->body.data ? req->body.data : "", req->body.len, &options,
                     &outcome);
    config_ref_release(config);
    double seconds = seconds_since(&start);
    metrics_record_review(&outcome, seconds);

    json_t *fields = json_incref(outcome.log);
    json_object_set_new(fields, "result", json_string(review_result_name(outcome.result)));
    /* Microsecond resolution; rounded by hand, which spares loading libm for one call. */
    json_object_set_new(fields, "durationMs",
                        json_real((double)(long long)(seconds * 1e6 + 0.5) / 1e3));
    log_event(outcome.result == REVIEW_INVALID || outcome.result == REVIEW_FAILED_OPEN
                  ? LOG_LEVEL_WARN
                  : LOG_LEVEL_INFO,
              "review", fields);

    unsigned status = (unsigned)outcome.http_status;
    size_t len = outcome.body.len;
    char *body = buf_steal(&outcome.body);
    review_outcome_free(&outcome);
    return respond(srv, conn, status, "application/json", body, len, NULL);
}

/*
 * Benchmark aid (--bench-floor): the cheapest answer a webhook could give. The
 * uid is the first "uid" member after "request" (the API server writes
 * request.uid before userInfo and the object); nothing else is parsed, nothing
 * is logged. It is what `make bench` compares the real review against.
 */
static enum MHD_Result serve_floor(struct server *srv, struct MHD_Connection *conn,
                                   struct request *req)
{
    static const char prefix[] =
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
        "\"response\":{\"uid\":\"";
    static const char suffix[] = "\",\"allowed\":true}}";
    const char *data = req->body.data ? req->body.data : "";
    size_t len = req->body.len, uid_len = 0;
    const char *uid = NULL;
    const char *request = memmem(data, len, "\"request\"", 9);
    const char *key =
        request ? memmem(request, len - (size_t)(request - data), "\"uid\"", 5) : NULL;
    if (key) {
        const char *p = key + 5, *end = data + len;
        while (p < end && (*p == ' ' || *p == ':' || *p == '\n' || *p == '\t' || *p == '\r'))
            p++;
        if (p < end && *p == '"') {
            uid = ++p;
            while (p < end && *p != '"' && *p != '\\' && p - uid < 128)
                p++;
            if (p < end && *p == '"')
                uid_len = (size_t)(p - uid);
        }
    }
    if (!uid_len)
        return respond_error(srv, conn, MHD_HTTP_BAD_REQUEST, "no request.uid", NULL);
    struct buf answer = BUF_INIT;
    if (buf_reserve(&answer, sizeof(prefix) + uid_len + sizeof(suffix)) != 0 ||
        buf_append(&answer, prefix, sizeof(prefix) - 1) != 0 ||
        buf_append(&answer, uid, uid_len) != 0 ||
        buf_append(&answer, suffix, sizeof(suffix) - 1) != 0) {
        buf_free(&answer);
        return MHD_NO;
    }
    size_t answer_len = answer.len;
    return respond(srv, conn, MHD_HTTP_OK, "application/json", buf_steal(&answer), answer_len,
                   NULL);
}

static void append_body(struct server *srv, struct request *req, const char *data, size_t size)
{
    if (req->too_large || req->reject)
        return;
    if (req->body.len + size > srv->opts->max_body_bytes) {
        req->too_large = true;
        buf_free(&req->body); /* no need to keep what will never be read */
        return;
    }
    if (buf_append(&req->body, data, size) != 0)
        reject(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
}

static void log_rejection(const char *method, const char *url, unsigned status, const char *message)
{
    /* The method and path are client data: bounded and valid UTF-8 for the log. */
    json_t *fields = json_pack("{s:i,s:o,s:s,s:o}", "status", (int)status, "method",
                               log_safe_string(method, 32), "error", message, "path",
                               log_safe_string(url, 200));
    log_event(LOG_LEVEL_WARN, "request rejected", fields);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **req_cls)
{
    struct server *srv = cls;
    struct request *req = *req_cls;
    (void)version;
    if (!req) {
        /* A client that got this far has finished its handshake: give it the idle timeout. */
        MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, srv->opts->idle_timeout_s);
        if (!(req = calloc(1, sizeof(*req))))
            return MHD_NO;
        *req_cls = req;
        req->route = route_for(url, &req->pod_security);
        if (req->route == ROUTE_MUTATE) {
            req->counted = true;
            atomic_fetch_add(&srv->inflight, 1);
            metrics_inflight_add(1);
        }
        check_headers(srv, conn, method, req);
        return MHD_YES;
    }
    if (*upload_size) {
        append_body(srv, req, upload_data, *upload_size);
        req->received += *upload_size;
        *upload_size = 0;
        /*
         * libmicrohttpd sends an answer only once the body has ended, so an
         * oversized chunked body is read and dropped until then; one that goes
         * on far past the limit is cut off instead of holding the connection.
         */
        if (req->received - srv->opts->max_body_bytes > DISCARD_LIMIT_BYTES &&
            req->received > srv->opts->max_body_bytes) {
            log_rejection(method, url, MHD_HTTP_CONTENT_TOO_LARGE,
                          "request body far too large; connection closed");
            return MHD_NO;
        }
        return MHD_YES;
    }
    if (req->too_large)
        reject(req, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
    if (req->reject) {
        log_rejection(method, url, req->reject, req->message);
        return respond_error(srv, conn, req->reject, req->message,
                             req->reject != MHD_HTTP_METHOD_NOT_ALLOWED ? NULL
                             : req->route == ROUTE_MUTATE               ? "POST"
                                                                        : "GET");
    }
    switch (req->route) {
    case ROUTE_MUTATE:
        return srv->opts->bench_floor ? serve_floor(srv, conn, req) : serve_review(srv, conn, req);
    case ROUTE_HEALTHZ:
        return serve_health(srv, conn, false);
    case ROUTE_READYZ:
        return serve_health(srv, conn, true);
    case ROUTE_METRICS:
        return serve_metrics(srv, conn);
    case ROUTE_NOT_FOUND:
        break;
    }
    return respond_error(srv, conn, MHD_HTTP_NOT_FOUND, "not found", NULL);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode code)
{
    struct server *srv = cls;
    struct request *req = *req_cls;
    (void)conn;
    (void)code;
    if (!req)
        return;
    if (req->counted) {
        atomic_fetch_sub(&srv->inflight, 1);
        metrics_inflight_add(-1);
    }
    buf_free(&req->body);
    free(req);
    *req_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    /* Handshake failures and resets from clients are routine noise. */
    log_event(LOG_LEVEL_DEBUG, "libmicrohttpd", json_pack("{s:s}", "detail", line));
}

/* ---- start, reload, drain ----------------------------------------------- */

static int resolve_listen(const char *listen, struct sockaddr_storage *addr, bool *ipv6)
{
    const char *colon = strrchr(listen, ':');
    if (!colon)
        return -1;
    char host[256];
    size_t host_len = (size_t)(colon - listen);
    if (host_len >= sizeof(host))
        return -1;
    memcpy(host, listen, host_len);
    host[host_len] = '\0';
    if (host[0] == '[' && host_len >= 2 && host[host_len - 1] == ']') {
        memmove(host, host + 1, host_len - 2);
        host[host_len - 2] = '\0';
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *found = NULL;
    if (getaddrinfo(host[0] ? host : "0.0.0.0", colon + 1, &hints, &found) != 0 || !found)
        return -1;
    memcpy(addr, found->ai_addr, found->ai_addrlen);
    *ipv6 = found->ai_family == AF_INET6;
    freeaddrinfo(found);
    return 0;
}

static char *read_text_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct buf text = BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && text.len < 1024 * 1024)
        buf_append(&text, chunk, n);
    fclose(f);
    return buf_steal(&text);
}

/*
 * GnuTLS takes a trust file without certificates silently, and then every
 * client certificate fails verification: count them first.
 */
static unsigned count_pem_certificates(const char *pem)
{
    gnutls_datum_t data = {(unsigned char *)pem, (unsigned)strlen(pem)};
    gnutls_x509_crt_t *certs = NULL;
    unsigned count = 0;
    if (gnutls_x509_crt_list_import2(&certs, &count, &data, GNUTLS_X509_FMT_PEM, 0) < 0)
        return 0;
    for (unsigned i = 0; i < count; i++)
        gnutls_x509_crt_deinit(certs[i]);
    gnutls_free(certs);
    return count;
}

/* The descriptor limit bounds how many connections can be open at once. */
static unsigned raise_fd_limit(unsigned wanted)
{
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return wanted;
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < (rlim_t)wanted + 64)
        return limit.rlim_cur > 128 ? (unsigned)(limit.rlim_cur - 64) : 64;
    return wanted;
}

static struct MHD_Daemon *start_daemon(struct server *srv, const struct sockaddr_storage *addr,
                                       bool ipv6)
{
    const struct server_options *o = srv->opts;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TLS | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG | (ipv6 ? MHD_USE_IPv6 : 0);
    unsigned max_connections = raise_fd_limit(o->max_connections);
    struct MHD_OptionItem options[] = {
        {MHD_OPTION_THREAD_POOL_SIZE, o->threads, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, max_connections, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, o->handshake_timeout_s, NULL},
        {MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, NULL},
        {MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1, NULL},
        {MHD_OPTION_HTTPS_PRIORITIES, 0, TLS_PRIORITIES},
        {MHD_OPTION_HTTPS_CERT_CALLBACK2, 0, (void *)tls_store_retrieve},
        {MHD_OPTION_HTTPS_MEM_TRUST, 0, srv->client_ca},
        {MHD_OPTION_END, 0, NULL},
    };
    if (!srv->client_ca)
        options[7].option = MHD_OPTION_END;
    return MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, addr,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
                            MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_ARRAY, options,
                            MHD_OPTION_END);
}

static void reload_certificate(void)
{
    char err[512];
    int rc = tls_store_reload_if_changed(err, sizeof(err));
    if (rc == 0)
        return;
    metrics_record_cert_reload(rc > 0);
    if (rc > 0)
        log_event(LOG_LEVEL_INFO, "serving certificate reloaded",
                  json_pack("{s:I}", "notAfter", (json_int_t)tls_store_not_after()));
    else
        log_event(LOG_LEVEL_ERROR, "serving certificate not reloaded; keeping the old one",
                  json_pack("{s:s}", "error", err));
}

/* Puts the configuration in service into the metrics (mode label, catalog size, load time). */
static void publish_config(struct confstore *store)
{
    struct config_ref *config = confstore_acquire(store);
    metrics_set_info(config_mode_name(config->cfg->mode));
    metrics_set_config_loaded(time(NULL), config->cfg->catalog.count);
    config_ref_release(config);
}

static void reload_config(struct confstore *store, bool force)
{
    char err[512];
    enum confstore_result rc = confstore_check(store, force, err, sizeof(err));
    if (rc == CONFSTORE_UNCHANGED)
        return;
    metrics_record_config_reload(rc == CONFSTORE_RELOADED);
    if (rc == CONFSTORE_REJECTED) {
        log_event(LOG_LEVEL_ERROR, "configuration not reloaded; keeping the old one",
                  json_pack("{s:s}", "error", err));
        return;
    }
    publish_config(store);
    struct config_ref *config = confstore_acquire(store);
    log_event(LOG_LEVEL_INFO, "configuration reloaded",
              json_pack("{s:s,s:I}", "mode", config_mode_name(config->cfg->mode), "catalogRules",
                        (json_int_t)config->cfg->catalog.count));
    config_ref_release(config);
}

static int wait_for_signal(const sigset_t *signals, const struct server_options *opts)
{
    unsigned interval_ms = opts->reload_interval_ms;
    struct timespec timeout = {interval_ms / 1000, (long)(interval_ms % 1000) * 1000000L};
    for (;;) {
        int sig = sigtimedwait(signals, NULL, &timeout);
        if (sig == SIGTERM || sig == SIGINT)
            return sig;
        if (sig == SIGHUP || (sig < 0 && errno == EAGAIN)) {
            reload_certificate();
            reload_config(opts->config, sig == SIGHUP);
        }
    }
}

static void sleep_ms(unsigned ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

/*
 * A request a client has already sent on a kept-alive connection can still sit
 * unread in its socket, not yet counted in flight. Open connections get this
 * long after the listener closes to be read and answered (with Connection:
 * close) before the daemon stops and closes whatever is left.
 */
#define DRAIN_SETTLE_MS 500

static unsigned open_connections(struct MHD_Daemon *daemon)
{
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return info ? info->num_connections : 0;
}

/* Unready first, then stop accepting, then let in-flight reviews finish. */
static void drain(struct server *srv)
{
    const struct server_options *o = srv->opts;
    atomic_store(&srv->draining, true);
    log_event(LOG_LEVEL_INFO, "shutting down: not ready, still serving",
              json_pack("{s:i}", "delayMs", (int)o->shutdown_delay_ms));
    sleep_ms(o->shutdown_delay_ms);
    MHD_socket listener = MHD_quiesce_daemon(srv->daemon);
    if (listener != MHD_INVALID_SOCKET)
        close(listener);
    unsigned waited_ms = 0;
    while ((atomic_load(&srv->inflight) > 0 ||
            (waited_ms < DRAIN_SETTLE_MS && open_connections(srv->daemon) > 0)) &&
           waited_ms < o->shutdown_grace_s * 1000) {
        sleep_ms(10);
        waited_ms += 10;
    }
    int left = atomic_load(&srv->inflight);
    log_event(left ? LOG_LEVEL_WARN : LOG_LEVEL_INFO, "stopped accepting; in-flight reviews done",
              json_pack("{s:i,s:i}", "waitedMs", (int)waited_ms, "unfinished", left));
}

void server_default_options(struct server_options *opts)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    memset(opts, 0, sizeof(*opts));
    opts->listen = "0.0.0.0:8443";
    opts->max_body_bytes = 3 * 1024 * 1024;
    opts->threads = cpus < 2 ? 2 : (cpus > 16 ? 16 : (unsigned)cpus);
    opts->handshake_timeout_s = 10;
    opts->idle_timeout_s = 60;
    opts->max_connections = 8192;
    opts->shutdown_delay_ms = 0;
    opts->shutdown_grace_s = 25;
    opts->reload_interval_ms = 1000;
}

static int prepare(struct server *srv, struct sockaddr_storage *addr, bool *ipv6)
{
    const struct server_options *o = srv->opts;
    char err[512];
    if (resolve_listen(o->listen, addr, ipv6) != 0) {
        log_msgf(LOG_LEVEL_ERROR, "--listen %s: expected ADDR:PORT, [IPV6]:PORT or :PORT",
                 o->listen);
        return -1;
    }
    if (tls_store_init(o->cert_file, o->key_file, err, sizeof(err)) != 0) {
        log_event(LOG_LEVEL_ERROR, "cannot load the serving certificate",
                  json_pack("{s:s}", "error", err));
        return -1;
    }
    if (o->client_ca_file && !(srv->client_ca = read_text_file(o->client_ca_file))) {
        log_msgf(LOG_LEVEL_ERROR, "--client-ca %s: %s", o->client_ca_file, strerror(errno));
        return -1;
    }
    if (srv->client_ca && count_pem_certificates(srv->client_ca) == 0) {
        log_msgf(LOG_LEVEL_ERROR, "--client-ca %s: no PEM certificate in the file",
                 o->client_ca_file);
        return -1;
    }
    return 0;
}

int server_run(const struct server_options *opts)
{
    struct server srv = {.opts = opts};
    struct sockaddr_storage addr;
    bool ipv6 = false;
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGHUP);
    /* Block before the pool starts, so only the main thread takes these signals. */
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    int status = 1;
    if (prepare(&srv, &addr, &ipv6) != 0) {
        /* prepare() said why */
    } else if (!(srv.daemon = start_daemon(&srv, &addr, ipv6))) {
        log_msgf(LOG_LEVEL_ERROR, "cannot listen on %s", opts->listen);
    } else {
        const union MHD_DaemonInfo *info =
            MHD_get_daemon_info(srv.daemon, MHD_DAEMON_INFO_BIND_PORT);
        struct config_ref *config = confstore_acquire(opts->config);
        publish_config(opts->config);
        metrics_set_cert_expiry(tls_store_not_after());
        atomic_store(&srv.ready, true);
        log_event(LOG_LEVEL_INFO, "listening",
                  json_pack("{s:s,s:i,s:s,s:i,s:b,s:I}", "listen", opts->listen, "port",
                            info ? (int)info->port : 0, "mode", config_mode_name(config->cfg->mode),
                            "threads", (int)opts->threads, "clientAuth", srv.client_ca != NULL,
                            "catalogRules", (json_int_t)config->cfg->catalog.count));
        config_ref_release(config);
        if (opts->bench_floor)
            log_msgf(LOG_LEVEL_WARN,
                     "--bench-floor: a benchmark aid; /mutate does not review pods");
        int sig = wait_for_signal(&signals, opts);
        log_event(LOG_LEVEL_INFO, "signal received",
                  json_pack("{s:s}", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"));
        drain(&srv);
        MHD_stop_daemon(srv.daemon);
        log_msgf(LOG_LEVEL_INFO, "stopped");
        status = 0;
    }
    tls_store_free();
    free(srv.client_ca);
    return status;
}
