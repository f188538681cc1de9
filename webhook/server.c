/* server.c - the HTTPS admission webhook on libmicrohttpd; see server.h. */
#include "server.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <malloc.h>
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

/*
 * libmicrohttpd's memory pool of one connection: the request line, the
 * header fields, the read buffer and the answer's header fields. Larger
 * request heads get 431 or 414. Bodies are not in it (see body_make_room).
 */
#define CONNECTION_MEMORY_BYTES (16u * 1024)

/*
 * A body of at most this many bytes may use all of the body budget, a larger
 * one only the first LARGE_BODY_SHARE of it: a few clients holding large
 * bodies never make the server refuse reviews of the usual size.
 */
#define SMALL_BODY_BYTES         (64u * 1024)
#define LARGE_BODY_SHARE(budget) ((budget) / 4 * 3)

/*
 * When this many connections fewer are open than at the last peak, the
 * memory their pools and TLS sessions used is handed back to the system.
 */
#define TRIM_AFTER_CLOSED 64

/* The metrics listener serves scrapes and probes: a few connections, short heads. */
#define METRICS_MAX_CONNECTIONS         16
#define METRICS_CONNECTION_MEMORY_BYTES (8u * 1024)

enum route { ROUTE_NOT_FOUND, ROUTE_MUTATE, ROUTE_HEALTHZ, ROUTE_READYZ, ROUTE_METRICS };

struct server;

/* What a daemon's callbacks get: the server, and which listener it is. */
struct listener {
    struct server *srv;
    bool metrics; /* the plain HTTP metrics listener, not the webhook port */
};

struct server {
    const struct server_options *opts;
    struct listener webhook_listener, metrics_listener;
    struct MHD_Daemon *daemon;
    struct MHD_Daemon *metrics_daemon; /* NULL without --metrics-listen */
    char *client_ca;                   /* PEM, kept alive for the daemon's lifetime */
    atomic_bool ready;
    atomic_bool draining;
    atomic_int inflight;            /* /mutate requests from head to completion */
    atomic_ullong last_activity_ms; /* the last handler call or accepted connection */
    atomic_size_t body_bytes;       /* body buffer bytes held, never above body_budget_bytes */
    unsigned connections_peak;      /* the most open since memory was last trimmed */
};

/* Per connection, from accept to close. */
struct connection_state {
    unsigned long long accepted_ms; /* monotonic */
    unsigned requests;              /* requests begun on it */
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
    bool gauged;  /* counted in the in-flight gauge of the metrics, until answered */
    bool too_large;
    bool declared;                        /* the body's length was declared (Content-Length) */
    bool bad_framing;                     /* refused for framing: its body cannot be read */
    size_t length;                        /* the declared length, 0 when none */
    enum pod_security_route pod_security; /* what the URL says of the namespace */
    size_t received;                      /* body bytes read so far, kept or not */
    unsigned reject;                      /* a refusal's status, 0 when none */
    const char *message;                  /* its error text */
    unsigned long long deadline_ms;       /* the whole request has arrived by then (monotonic) */
    unsigned timeout_s;                   /* the connection timeout last set for it */
    struct buf body;                      /* body.cap bytes are charged to server.body_bytes */
};

static unsigned long long now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (unsigned long long)now.tv_sec * 1000 + (unsigned long long)now.tv_nsec / 1000000;
}

/*
 * The metrics' in-flight gauge drops before the answer is queued, so that a
 * client that has its answer never reads a gauge that still counts it.
 */
static void ungauge(struct request *req)
{
    if (req->gauged)
        metrics_inflight_add(-1);
    req->gauged = false;
}

/* ---- responses ---------------------------------------------------------- */

/* One more header field of an answer: Allow for 405, Retry-After for 503. */
struct header {
    const char *name;
    const char *value;
};

/*
 * Queues the answer (taking body, a heap string). A connection that is
 * answered is no longer under its request's deadline: it gets the idle
 * timeout again for writing the answer and waiting for the next request.
 */
static enum MHD_Result respond(struct server *srv, struct MHD_Connection *conn, unsigned status,
                               const char *content_type, char *body, size_t len,
                               struct header extra)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!response) {
        free(body);
        return MHD_NO;
    }
    MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, srv->opts->idle_timeout_s);
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
    if (extra.name)
        MHD_add_response_header(response, extra.name, extra.value);
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
    return respond(srv, conn, status, "application/json", text, strlen(text), (struct header){0});
}

/*
 * {"error": message} with status; a 405 names the allowed method, and a 503
 * (a refusal for want of memory, which passes) asks to retry in a second.
 */
static enum MHD_Result respond_error(struct server *srv, struct MHD_Connection *conn,
                                     unsigned status, const char *message, const char *allow)
{
    struct header extra = {0};
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        extra = (struct header){MHD_HTTP_HEADER_ALLOW, allow};
    else if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
        extra = (struct header){MHD_HTTP_HEADER_RETRY_AFTER, "1"};
    char *text = NULL;
    json_t *body = json_pack("{s:s}", "error", message);
    if (body)
        text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text)
        return MHD_NO;
    return respond(srv, conn, status, "application/json", text, strlen(text), extra);
}

/* ---- routing and header checks ------------------------------------------ */

/*
 * The path of a request target in absolute form ("https://host/mutate", RFC
 * 9112 section 3.2.2, which a server must accept), or the target itself.
 */
static const char *origin_form(const char *url)
{
    const char *rest = NULL;
    if (strncasecmp(url, "https://", 8) == 0)
        rest = url + 8;
    else if (strncasecmp(url, "http://", 7) == 0)
        rest = url + 7;
    if (!rest)
        return url;
    rest += strcspn(rest, "/");
    return *rest ? rest : "/";
}

/*
 * The webhook configuration sends namespaces labelled to enforce Pod Security
 * baseline/restricted to /mutate/pod-security-enforced, and those labelled
 * privileged (which overrides a cluster-wide default) to
 * /mutate/pod-security-privileged: a URL in a webhook configuration may carry
 * a path but no query. Sets *pod_security from the path.
 */
static enum route route_for(const char *url, enum pod_security_route *pod_security)
{
    url = origin_form(url);
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

/* What the header fields say of the body's framing (RFC 9112 section 6). */
struct framing {
    unsigned lengths;    /* Content-Length fields */
    unsigned encodings;  /* Transfer-Encoding fields */
    bool lengths_differ; /* two Content-Length fields with different values */
    bool chunked;        /* the one Transfer-Encoding is exactly "chunked" */
    bool bad_name;       /* a field name that is not an RFC 9110 token */
    const char *length;  /* the first Content-Length value */
};

static bool is_token(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("!#$%&'*+-.^_`|~", *s)))
            return false;
    return true;
}

static enum MHD_Result note_framing(void *cls, enum MHD_ValueKind kind, const char *name,
                                    const char *value)
{
    struct framing *f = cls;
    (void)kind;
    if (!is_token(name))
        f->bad_name = true;
    if (strcasecmp(name, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        if (f->lengths++ && strcmp(f->length, value ? value : "") != 0)
            f->lengths_differ = true;
        if (!f->length)
            f->length = value ? value : "";
    }
    if (strcasecmp(name, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0)
        f->chunked = f->encodings++ == 0 && value && strcasecmp(value, "chunked") == 0;
    return MHD_YES;
}

/*
 * The body's framing must be unambiguous: at most one Content-Length value,
 * or Transfer-Encoding: chunked alone. libmicrohttpd 0.9.75 reads the first
 * Content-Length field, keeps a field name with white space before its colon
 * as a different field, and waits for the end of an encoding it does not
 * know; a proxy in front may read such a request differently (request
 * smuggling). So these are refused, and the connection closed after the
 * answer. Sets req->declared and *has_body.
 */
static void check_framing(struct MHD_Connection *conn, struct request *req, bool *has_body)
{
    struct framing f = {0};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, note_framing, &f);
    req->declared = f.lengths > 0 && f.encodings == 0;
    req->length = req->declared ? (size_t)strtoull(f.length, NULL, 10) : 0;
    *has_body = f.encodings > 0 || req->length > 0;
    req->bad_framing =
        f.bad_name || f.lengths_differ || (f.lengths && f.encodings) || (f.encodings && !f.chunked);
    if (f.bad_name)
        return reject(req, MHD_HTTP_BAD_REQUEST,
                      "bad request: a header field name that is not a token (white space "
                      "before the colon?)");
    if (f.lengths_differ)
        return reject(req, MHD_HTTP_BAD_REQUEST, "bad request: Content-Length values differ");
    if (f.lengths && f.encodings)
        return reject(req, MHD_HTTP_BAD_REQUEST,
                      "bad request: both Content-Length and Transfer-Encoding");
    if (f.encodings && !f.chunked)
        return reject(req, MHD_HTTP_NOT_IMPLEMENTED,
                      "not implemented: the only Transfer-Encoding served is chunked");
}

/*
 * Takes n bytes of the body budget, or returns false when that would pass
 * the limit: the whole budget for a body that stays small, its large share
 * for one that does not (the SMALL_BODY_BYTES rule above).
 */
static bool budget_take(struct server *srv, size_t n, bool large)
{
    size_t budget = srv->opts->body_budget_bytes;
    size_t limit = large ? LARGE_BODY_SHARE(budget) : budget;
    size_t used = atomic_load(&srv->body_bytes);
    do {
        if (n > limit || used > limit - n)
            return false;
    } while (!atomic_compare_exchange_weak(&srv->body_bytes, &used, used + n));
    return true;
}

/* Frees the body and gives its bytes back to the budget. */
static void body_release(struct server *srv, struct request *req)
{
    atomic_fetch_sub(&srv->body_bytes, req->body.cap);
    buf_free(&req->body);
}

/*
 * Makes room for extra more body bytes. The buffer grows to the declared
 * length at once, or by doubling (up to the body limit) for a chunked body,
 * and every byte it grows by is charged to the budget first. Returns 0, or
 * -1 when the budget has no room (or memory ran out: *oom set).
 */
static int body_make_room(struct server *srv, struct request *req, size_t extra, bool *oom)
{
    struct buf *b = &req->body;
    size_t need = b->len + extra + 1, cap = need;
    if (need <= b->cap)
        return 0;
    if (!req->declared && b->cap * 2 > need)
        cap =
            b->cap * 2 < srv->opts->max_body_bytes + 1 ? b->cap * 2 : srv->opts->max_body_bytes + 1;
    if (!budget_take(srv, cap - b->cap, cap > SMALL_BODY_BYTES))
        return -1;
    char *data = realloc(b->data, cap);
    if (!data) {
        atomic_fetch_sub(&srv->body_bytes, cap - b->cap);
        *oom = true;
        return -1;
    }
    b->data = data;
    b->cap = cap;
    return 0;
}

/*
 * The request's deadline: request_timeout_s after the connection was
 * accepted for its first request (so the TLS handshake and the head count),
 * after the head arrived for later ones (the time a kept-alive connection
 * waits between requests does not).
 */
static unsigned long long request_deadline(struct server *srv, struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct connection_state *state = info ? info->socket_context : NULL;
    unsigned long long start = now_ms();
    if (state && state->requests++ == 0)
        start = state->accepted_ms;
    return start + (unsigned long long)srv->opts->request_timeout_s * 1000;
}

/*
 * Keeps the connection's timeout at the time left to the deadline (whole
 * seconds, at least one), so a client that stops sending is closed by then.
 * Returns false once the deadline has passed.
 */
static bool keep_deadline(struct MHD_Connection *conn, struct request *req)
{
    unsigned long long now = now_ms();
    if (now >= req->deadline_ms)
        return false;
    unsigned left_s = (unsigned)((req->deadline_ms - now + 999) / 1000);
    if (left_s != req->timeout_s) {
        MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, left_s);
        req->timeout_s = left_s;
    }
    return true;
}

/*
 * Which listener serves the route, with which method, with a body or not,
 * and (for /mutate and /metrics on the webhook port, with --client-ca) for
 * which client. The probes never ask for a certificate: the kubelet has none.
 */
static void check_route(struct server *srv, struct MHD_Connection *conn, const char *method,
                        struct request *req, bool metrics_listener, bool has_body)
{
    bool is_post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    bool is_get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;
    bool needs_client = req->route == ROUTE_MUTATE || req->route == ROUTE_METRICS;
    if (metrics_listener && (req->route == ROUTE_MUTATE || req->route == ROUTE_NOT_FOUND))
        return reject(req, MHD_HTTP_NOT_FOUND,
                      "not found: the metrics listener serves GET /metrics, /healthz and /readyz");
    if (req->route == ROUTE_METRICS && srv->opts->metrics_listen && !metrics_listener)
        return reject(req, MHD_HTTP_NOT_FOUND,
                      "not found: /metrics is served on the metrics listener");
    if (req->route == ROUTE_NOT_FOUND)
        return reject(req, MHD_HTTP_NOT_FOUND, "not found: the webhook serves POST /mutate");
    if (req->route == ROUTE_MUTATE && !is_post)
        return reject(req, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: use POST");
    if (req->route != ROUTE_MUTATE && !is_get)
        return reject(req, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: use GET");
    if (req->route != ROUTE_MUTATE && has_body)
        return reject(req, MHD_HTTP_CONTENT_TOO_LARGE,
                      "content too large: this endpoint takes no request body");
    if (needs_client && !metrics_listener && srv->client_ca && !client_verified(conn))
        return reject(req, MHD_HTTP_UNAUTHORIZED,
                      "unauthorized: a client certificate signed by the client CA is required");
}

/*
 * A review's body: JSON, within the body limit, and (when its length is
 * declared) its whole buffer taken from the budget now.
 */
static void check_review_body(struct server *srv, struct MHD_Connection *conn, struct request *req)
{
    bool oom = false;
    if (!is_json_content_type(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type")))
        return reject(req, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                      "unsupported media type: send Content-Type: application/json");
    if (req->length > srv->opts->max_body_bytes)
        return reject(req, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
    if (req->length && body_make_room(srv, req, req->length, &oom) != 0)
        return reject(req, oom ? MHD_HTTP_INTERNAL_SERVER_ERROR : MHD_HTTP_SERVICE_UNAVAILABLE,
                      oom ? "out of memory"
                          : "service unavailable: too many request bodies in flight; retry");
}

/*
 * Everything that can be decided from the request line and the header
 * fields, in the order a client can act on: framing, deadline, route,
 * method, body allowed, client certificate, then a review's content type,
 * body size and body budget.
 */
static void check_headers(struct server *srv, struct MHD_Connection *conn, const char *method,
                          struct request *req, bool metrics_listener)
{
    bool has_body = false;
    check_framing(conn, req, &has_body);
    if (!req->reject && !keep_deadline(conn, req))
        reject(req, MHD_HTTP_REQUEST_TIMEOUT,
               "request timeout: the request head did not arrive in time");
    if (!req->reject)
        check_route(srv, conn, method, req, metrics_listener, has_body);
    if (!req->reject && req->route == ROUTE_MUTATE)
        check_review_body(srv, conn, req);
}

static unsigned open_connections(struct MHD_Daemon *daemon)
{
    const union MHD_DaemonInfo *info =
        daemon ? MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS) : NULL;
    return info ? info->num_connections : 0;
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
    metrics_set_server_load(open_connections(srv->daemon), atomic_load(&srv->body_bytes));
    if (metrics_render(&text) != 0) {
        buf_free(&text);
        return respond_error(srv, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory", NULL);
    }
    size_t len = text.len;
    return respond(srv, conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                   buf_steal(&text), len, (struct header){0});
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
    ungauge(req);
    return respond(srv, conn, status, "application/json", body, len, (struct header){0});
}

#ifdef GOINJECT_BENCH
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
    ungauge(req);
    return respond(srv, conn, MHD_HTTP_OK, "application/json", buf_steal(&answer), answer_len,
                   (struct header){0});
}
#endif

/*
 * Keeps a piece of the body, within the body limit and the budget. Past
 * either, the body is dropped (its bytes given back) and the refusal noted:
 * libmicrohttpd 0.9.75 cannot answer before the body has ended.
 */
static void append_body(struct server *srv, struct request *req, const char *data, size_t size)
{
    bool oom = false;
    if (req->too_large || req->reject)
        return;
    if (req->body.len + size > srv->opts->max_body_bytes) {
        req->too_large = true;
        body_release(srv, req); /* no need to keep what will never be read */
        return;
    }
    if (body_make_room(srv, req, size, &oom) != 0) {
        body_release(srv, req);
        return reject(req, oom ? MHD_HTTP_INTERNAL_SERVER_ERROR : MHD_HTTP_SERVICE_UNAVAILABLE,
                      oom ? "out of memory"
                          : "service unavailable: too many request bodies in flight; retry");
    }
    buf_append(&req->body, data, size); /* cannot fail: the room is there */
}

static void log_rejection(const char *method, const char *url, unsigned status, const char *message)
{
    /* The method and path are client data: bounded and valid UTF-8 for the log. */
    json_t *fields =
        json_pack("{s:i,s:o,s:s,s:o}", "status", (int)status, "method", log_safe_string(method, 32),
                  "error", message, "path", log_safe_string(url, 200));
    log_event(LOG_LEVEL_WARN, "request rejected", fields);
}

static enum MHD_Result refuse(struct server *srv, struct MHD_Connection *conn, const char *method,
                              const char *url, struct request *req)
{
    log_rejection(method, url, req->reject, req->message);
    ungauge(req);
    return respond_error(srv, conn, req->reject, req->message,
                         req->route == ROUTE_MUTATE ? "POST" : "GET");
}

/*
 * Whether a refusal the head decided is answered at once, before the body;
 * libmicrohttpd then closes the connection, the body unread. So it is when
 * the body cannot or will not be read: its framing is refused, the deadline
 * has passed, or it is declared longer than would ever be read and dropped.
 * And when the client waits for 100 Continue: it gets the refusal instead
 * and never sends the body. Any other refusal comes after the body has been
 * read and dropped (nothing kept), on a connection that stays open: a client
 * still writing its body when the connection closed might see the reset and
 * never the answer.
 */
static bool answer_now(struct server *srv, struct MHD_Connection *conn, const struct request *req)
{
    const char *expect = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Expect");
    if (req->bad_framing || req->reject == MHD_HTTP_REQUEST_TIMEOUT)
        return true;
    if (expect && strcasecmp(expect, "100-continue") == 0)
        return true;
    return req->length > srv->opts->max_body_bytes + (size_t)DISCARD_LIMIT_BYTES;
}

/*
 * The first call for a request: its state, its deadline, and every check the
 * head decides (answered now or after the body: answer_now).
 */
static enum MHD_Result begin_request(const struct listener *listener, struct MHD_Connection *conn,
                                     const char *url, const char *method, void **req_cls)
{
    struct server *srv = listener->srv;
    struct request *req = calloc(1, sizeof(*req));
    if (!req)
        return MHD_NO;
    *req_cls = req;
    req->route = route_for(url, &req->pod_security);
    req->deadline_ms = request_deadline(srv, conn);
    if (req->route == ROUTE_MUTATE) {
        req->counted = req->gauged = true;
        atomic_fetch_add(&srv->inflight, 1);
        metrics_inflight_add(1);
    }
    check_headers(srv, conn, method, req, listener->metrics);
    return req->reject && answer_now(srv, conn, req) ? refuse(srv, conn, method, url, req)
                                                     : MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **req_cls)
{
    const struct listener *listener = cls;
    struct server *srv = listener->srv;
    struct request *req = *req_cls;
    (void)version;
    if (!listener->metrics)
        atomic_store(&srv->last_activity_ms, now_ms());
    if (!req)
        return begin_request(listener, conn, url, method, req_cls);
    if (*upload_size) {
        append_body(srv, req, upload_data, *upload_size);
        req->received += *upload_size;
        *upload_size = 0;
        if (!keep_deadline(conn, req)) {
            log_rejection(method, url, MHD_HTTP_REQUEST_TIMEOUT,
                          "request body not received in time; connection closed");
            return MHD_NO;
        }
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
    if (req->reject)
        return refuse(srv, conn, method, url, req);
    switch (req->route) {
    case ROUTE_MUTATE:
#ifdef GOINJECT_BENCH
        if (srv->opts->bench_floor)
            return serve_floor(srv, conn, req);
#endif
        return serve_review(srv, conn, req);
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
    if (req->counted)
        atomic_fetch_sub(&srv->inflight, 1);
    ungauge(req);
    body_release(srv, req);
    free(req);
    *req_cls = NULL;
}

/*
 * Notes when each connection was accepted, for its first request's deadline,
 * and (cls: the server, for the webhook port) as activity for drain().
 */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct server *srv = cls;
    (void)conn;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        if (srv)
            atomic_store(&srv->last_activity_ms, now_ms());
        struct connection_state *state = calloc(1, sizeof(*state));
        if (state)
            state->accepted_ms = now_ms();
        *socket_context = state; /* NULL: its first request is timed from its head */
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        free(*socket_context);
        *socket_context = NULL;
    }
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

/* A PEM file larger than this is not a list of client CA certificates. */
#define CLIENT_CA_MAX_BYTES (1024 * 1024)

static char *read_text_file(const char *path, char *err, size_t errlen)
{
    struct buf text = BUF_INIT_MAX(CLIENT_CA_MAX_BYTES);
    if (buf_read_file(&text, path, err, errlen) == 0)
        return buf_steal(&text);
    buf_free(&text);
    return NULL;
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

/*
 * The webhook's daemon. poll(), not epoll: libmicrohttpd 0.9.75 in epoll mode
 * keeps a connection whose TLS handshake waits for its client marked ready
 * to read, and its thread spins (epoll_wait with timeout 0, recv EAGAIN)
 * until the client sends more or the timeout; poll() sleeps. Each thread
 * polls only its own connections, at most max_connections / threads.
 */
static struct MHD_Daemon *start_daemon(struct server *srv, const struct sockaddr_storage *addr,
                                       bool ipv6)
{
    const struct server_options *o = srv->opts;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_TLS | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG | (ipv6 ? MHD_USE_IPv6 : 0);
    unsigned max_connections = raise_fd_limit(o->max_connections);
    struct MHD_OptionItem options[] = {
        {MHD_OPTION_THREAD_POOL_SIZE, o->threads, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, max_connections, NULL},
        {MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->max_connections_per_ip, NULL},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONNECTION_MEMORY_BYTES, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, o->handshake_timeout_s, NULL},
        {MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, NULL},
        {MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1, NULL},
        {MHD_OPTION_HTTPS_PRIORITIES, 0, TLS_PRIORITIES},
        {MHD_OPTION_HTTPS_CERT_CALLBACK2, 0, (void *)tls_store_retrieve},
        {MHD_OPTION_HTTPS_MEM_TRUST, 0, srv->client_ca},
        {MHD_OPTION_END, 0, NULL},
    };
    if (!srv->client_ca)
        options[9].option = MHD_OPTION_END;
    return MHD_start_daemon(flags, 0, NULL, NULL, on_request, &srv->webhook_listener,
                            MHD_OPTION_SOCK_ADDR, addr, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
                            srv, MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
                            MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_ARRAY, options,
                            MHD_OPTION_END);
}

/*
 * The metrics listener (--metrics-listen): plain HTTP, one thread, a few
 * connections, the same handler and limits; routes other than /metrics,
 * /healthz and /readyz get 404 (see check_headers).
 */
static struct MHD_Daemon *start_metrics_daemon(struct server *srv,
                                               const struct sockaddr_storage *addr, bool ipv6)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG | (ipv6 ? MHD_USE_IPv6 : 0);
    return MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, &srv->metrics_listener, MHD_OPTION_SOCK_ADDR, addr,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_NOTIFY_CONNECTION, on_connection,
        NULL, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)METRICS_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)METRICS_CONNECTION_MEMORY_BYTES, MHD_OPTION_CONNECTION_TIMEOUT,
        srv->opts->handshake_timeout_s, MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1, MHD_OPTION_END);
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

/*
 * glibc keeps freed memory of its arenas resident. Once TRIM_AFTER_CLOSED
 * connections fewer are open than at the last peak, what their pools and TLS
 * sessions used is handed back, so a burst of connections leaves no lasting
 * mark on the resident size.
 */
static void trim_after_closes(struct server *srv)
{
    unsigned open = open_connections(srv->daemon);
    if (open > srv->connections_peak)
        srv->connections_peak = open;
    if (srv->connections_peak - open < TRIM_AFTER_CLOSED)
        return;
    malloc_trim(0);
    srv->connections_peak = open;
}

static int wait_for_signal(struct server *srv, const sigset_t *signals)
{
    const struct server_options *opts = srv->opts;
    unsigned interval_ms = opts->reload_interval_ms;
    struct timespec timeout = {interval_ms / 1000, (long)(interval_ms % 1000) * 1000000L};
    for (;;) {
        int sig = sigtimedwait(signals, NULL, &timeout);
        if (sig == SIGTERM || sig == SIGINT)
            return sig;
        if (sig == SIGHUP || (sig < 0 && errno == EAGAIN)) {
            reload_certificate();
            reload_config(opts->config, sig == SIGHUP);
            trim_after_closes(srv);
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
 * unread in its socket, not yet counted in flight. While connections are
 * open, the daemon stops only once the webhook port has been quiet this long
 * (no request read, no connection accepted): a thread the machine keeps
 * waiting still gets to read and answer (with Connection: close) what it was
 * sent. A client that closed its idle connections leaves none open.
 */
#define DRAIN_SETTLE_MS 1000

/* Whether no request began on the webhook port for DRAIN_SETTLE_MS. */
static bool quiet(struct server *srv)
{
    return now_ms() - atomic_load(&srv->last_activity_ms) >= DRAIN_SETTLE_MS;
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
    atomic_store(&srv->last_activity_ms, now_ms());
    while (
        (atomic_load(&srv->inflight) > 0 || (!quiet(srv) && open_connections(srv->daemon) > 0)) &&
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
    opts->body_budget_bytes = 24 * 1024 * 1024;
    opts->handshake_timeout_s = 10;
    opts->idle_timeout_s = 60;
    opts->request_timeout_s = 10;
    opts->max_connections = 512;
    opts->max_connections_per_ip = 128;
    opts->shutdown_delay_ms = 0;
    opts->shutdown_grace_s = 25;
    opts->reload_interval_ms = 1000;
}

/*
 * Large request bodies are given to mmap and back to the system when freed,
 * whatever sizes came before (glibc would otherwise raise the threshold after
 * the first one and keep later ones in its arenas).
 */
#define MMAP_THRESHOLD_BYTES (128 * 1024)

static int prepare(struct server *srv, struct sockaddr_storage *addr, bool *ipv6,
                   struct sockaddr_storage *metrics_addr, bool *metrics_ipv6)
{
    const struct server_options *o = srv->opts;
    char err[512];
    mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
    if (resolve_listen(o->listen, addr, ipv6) != 0) {
        log_msgf(LOG_LEVEL_ERROR, "--listen %s: expected ADDR:PORT, [IPV6]:PORT or :PORT",
                 o->listen);
        return -1;
    }
    if (o->metrics_listen && resolve_listen(o->metrics_listen, metrics_addr, metrics_ipv6) != 0) {
        log_msgf(LOG_LEVEL_ERROR, "--metrics-listen %s: expected ADDR:PORT, [IPV6]:PORT or :PORT",
                 o->metrics_listen);
        return -1;
    }
    if (tls_store_init(o->cert_file, o->key_file, err, sizeof(err)) != 0) {
        log_event(LOG_LEVEL_ERROR, "cannot load the serving certificate",
                  json_pack("{s:s}", "error", err));
        return -1;
    }
    if (o->client_ca_file &&
        !(srv->client_ca = read_text_file(o->client_ca_file, err, sizeof(err)))) {
        log_msgf(LOG_LEVEL_ERROR, "--client-ca: %s", err);
        return -1;
    }
    if (srv->client_ca && count_pem_certificates(srv->client_ca) == 0) {
        log_msgf(LOG_LEVEL_ERROR, "--client-ca %s: no PEM certificate in the file",
                 o->client_ca_file);
        return -1;
    }
    return 0;
}

static int bound_port(struct MHD_Daemon *daemon)
{
    const union MHD_DaemonInfo *info =
        daemon ? MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    return info ? (int)info->port : 0;
}

/* Starts both daemons; on failure says which address, stops what started. */
static int start_listeners(struct server *srv, const struct sockaddr_storage *addr, bool ipv6,
                           const struct sockaddr_storage *metrics_addr, bool metrics_ipv6)
{
    const struct server_options *opts = srv->opts;
    if (!(srv->daemon = start_daemon(srv, addr, ipv6))) {
        log_msgf(LOG_LEVEL_ERROR, "cannot listen on %s", opts->listen);
        return -1;
    }
    if (opts->metrics_listen &&
        !(srv->metrics_daemon = start_metrics_daemon(srv, metrics_addr, metrics_ipv6))) {
        log_msgf(LOG_LEVEL_ERROR, "cannot listen on %s (--metrics-listen)", opts->metrics_listen);
        MHD_stop_daemon(srv->daemon);
        return -1;
    }
    return 0;
}

int server_run(const struct server_options *opts)
{
    struct server srv = {.opts = opts};
    struct sockaddr_storage addr, metrics_addr;
    bool ipv6 = false, metrics_ipv6 = false;
    srv.webhook_listener = (struct listener){&srv, false};
    srv.metrics_listener = (struct listener){&srv, true};
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGHUP);
    /* Block before the pool starts, so only the main thread takes these signals. */
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    int status = 1;
    if (prepare(&srv, &addr, &ipv6, &metrics_addr, &metrics_ipv6) != 0 ||
        start_listeners(&srv, &addr, ipv6, &metrics_addr, metrics_ipv6) != 0) {
        /* prepare() or start_listeners() said why */
    } else {
        struct config_ref *config = confstore_acquire(opts->config);
        publish_config(opts->config);
        metrics_set_cert_expiry(tls_store_not_after());
        atomic_store(&srv.ready, true);
        json_t *fields =
            json_pack("{s:s,s:i,s:s,s:i,s:b,s:I}", "listen", opts->listen, "port",
                      bound_port(srv.daemon), "mode", config_mode_name(config->cfg->mode),
                      "threads", (int)opts->threads, "clientAuth", srv.client_ca != NULL,
                      "catalogRules", (json_int_t)config->cfg->catalog.count);
        if (srv.metrics_daemon)
            json_object_set_new(fields, "metricsPort",
                                json_integer(bound_port(srv.metrics_daemon)));
        log_event(LOG_LEVEL_INFO, "listening", fields);
        config_ref_release(config);
#ifdef GOINJECT_BENCH
        if (opts->bench_floor)
            log_msgf(LOG_LEVEL_WARN,
                     "--bench-floor: a benchmark aid; /mutate does not review pods");
#endif
        int sig = wait_for_signal(&srv, &signals);
        log_event(LOG_LEVEL_INFO, "signal received",
                  json_pack("{s:s}", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"));
        drain(&srv);
        MHD_stop_daemon(srv.daemon);
        if (srv.metrics_daemon)
            MHD_stop_daemon(srv.metrics_daemon);
        log_msgf(LOG_LEVEL_INFO, "stopped");
        status = 0;
    }
    tls_store_free();
    free(srv.client_ca);
    return status;
}
