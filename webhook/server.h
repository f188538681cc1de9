/*
 * server.h - `goinject serve`: the HTTPS admission webhook.
 *
 * Owns the libmicrohttpd daemon (TLS 1.2/1.3 through GnuTLS, a thread pool of
 * poll loops), routing, request limits, the certificate and configuration
 * reload loop (every reload_interval_ms and on SIGHUP) and the graceful
 * shutdown on SIGTERM. Each review runs with the configuration in service
 * when it started (confstore.h). Routes:
 *   POST /mutate   (also //mutate, the absolute form, any query such as ?timeout=10s)
 *   GET  /healthz  the process is alive
 *   GET  /readyz   ready to take reviews (503 while starting or draining)
 *   GET  /metrics  Prometheus text format (on the metrics listener when there is one)
 *
 * The limits below bound what any client can make the server hold (see
 * docs/hardening.md): connections in total and per address, each one's
 * libmicrohttpd memory pool, the request bodies held together, the time a
 * whole request may take to arrive. A refusal that the request line and
 * headers decide is answered before the body when the client waits for 100
 * Continue or the body cannot be read (see answer_now in server.c), else
 * after the body has been read and dropped.
 */
#ifndef GOINJECT_SERVER_H
#define GOINJECT_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "confstore.h"

struct server_options {
    const char *listen; /* "ADDR:PORT", "[v6]:PORT" or ":PORT" */
    const char *cert_file;
    const char *key_file;
    const char *client_ca_file; /* NULL: no client certificates asked for */
    /*
     * "ADDR:PORT" of a plain HTTP listener for GET /metrics, /healthz and
     * /readyz; the webhook port then answers /metrics with 404. NULL: none,
     * and /metrics stays on the webhook port (behind --client-ca if given).
     */
    const char *metrics_listen;
    struct confstore *config;     /* the configuration, reloaded when its file changes */
    size_t max_body_bytes;        /* larger request bodies get 413 */
    size_t body_budget_bytes;     /* request bodies held together; past it 503 */
    unsigned threads;             /* event loops in the pool */
    unsigned handshake_timeout_s; /* a new connection idle this long before its request is closed */
    unsigned idle_timeout_s;      /* an idle keep-alive connection is closed after this */
    unsigned
        request_timeout_s;    /* handshake (new connection), headers and body arrive within this */
    unsigned max_connections; /* open at once, in total */
    unsigned max_connections_per_ip;
    unsigned shutdown_delay_ms;  /* SIGTERM: unready and still serving for this long */
    unsigned shutdown_grace_s;   /* then at most this long for in-flight reviews */
    unsigned reload_interval_ms; /* how often the certificate and config files are checked */
#ifdef GOINJECT_BENCH
    /*
     * Benchmark aid, in the bench build only (build/bench/goinject, compiled
     * with -DGOINJECT_BENCH; `serve --bench-floor`): /mutate answers "allowed"
     * without parsing the pod, echoing the request's uid found by a byte
     * search. It measures what TLS and HTTP cost alone.
     */
    bool bench_floor;
#endif
    /* Facts from annotations and the catalog only (`serve --no-registry`). */
    bool no_registry;
};

void server_default_options(struct server_options *opts);
/* Runs until SIGTERM or SIGINT; returns the process exit status. */
int server_run(const struct server_options *opts);

#endif
