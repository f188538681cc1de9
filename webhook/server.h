/*
 * server.h - `goinject serve`: the HTTPS admission webhook.
 *
 * Owns the libmicrohttpd daemon (TLS 1.2/1.3 through GnuTLS, a thread pool of
 * epoll loops), routing, request limits, the certificate and configuration
 * reload loop (every reload_interval_ms and on SIGHUP) and the graceful
 * shutdown on SIGTERM. Each review runs with the configuration in service
 * when it started (confstore.h). Routes:
 *   POST /mutate   (also //mutate, any query such as ?timeout=10s)
 *   GET  /healthz  the process is alive
 *   GET  /readyz   ready to take reviews (503 while starting or draining)
 *   GET  /metrics  Prometheus text format
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
    const char *client_ca_file;   /* NULL: no client certificates asked for */
    struct confstore *config;     /* the configuration, reloaded when its file changes */
    size_t max_body_bytes;        /* larger request bodies get 413 */
    unsigned threads;             /* event loops in the pool */
    unsigned handshake_timeout_s; /* a new connection must send a request within this */
    unsigned idle_timeout_s;      /* an idle keep-alive connection is closed after this */
    unsigned max_connections;
    unsigned shutdown_delay_ms;  /* SIGTERM: unready and still serving for this long */
    unsigned shutdown_grace_s;   /* then at most this long for in-flight reviews */
    unsigned reload_interval_ms; /* how often the certificate and config files are checked */
    /*
     * Benchmark aid only (`serve --bench-floor`): /mutate answers "allowed"
     * without parsing the pod, echoing the request's uid found by a byte
     * search. It measures what TLS and HTTP cost alone; never deploy it.
     */
    bool bench_floor;
    /* Facts from annotations and the catalog only (`serve --no-registry`). */
    bool no_registry;
};

void server_default_options(struct server_options *opts);
/* Runs until SIGTERM or SIGINT; returns the process exit status. */
int server_run(const struct server_options *opts);

#endif
