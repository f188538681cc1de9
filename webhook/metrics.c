/* metrics.c - Prometheus text metrics; see metrics.h. */
#include "metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "version.h"

/* Seconds; a review is normally well under a millisecond. */
static const double latency_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                        0.01,   0.025,   0.05,   0.1,   0.5,    1.0};
#define LATENCY_BUCKETS (sizeof(latency_bounds) / sizeof(latency_bounds[0]))

/* HTTP status codes the server sends, as counters in this order. */
static const unsigned response_codes[] = {200, 400, 401, 404, 405, 413, 415, 500, 503};
#define RESPONSE_CODES (sizeof(response_codes) / sizeof(response_codes[0]))

static struct {
    atomic_ullong reviews[REVIEW_RESULT_COUNT];
    atomic_ullong skips[SKIP_REASON_COUNT];
    atomic_ullong containers[ACTION_COUNT];
    atomic_ullong latency[LATENCY_BUCKETS + 1]; /* last: +Inf */
    atomic_ullong latency_sum_ns;
    atomic_ullong responses[RESPONSE_CODES + 1]; /* last: any other code */
    atomic_ullong cert_reloads_ok, cert_reloads_failed;
    atomic_llong cert_not_after;
    atomic_int inflight;
    atomic_ullong config_reloads_ok, config_reloads_failed;
    atomic_llong config_loaded_at;
    atomic_bool config_last_ok;
    atomic_ullong catalog_rules;
    _Atomic(const char *) mode; /* a reload may change it while /metrics renders */
} m;

void metrics_set_info(const char *mode)
{
    atomic_store(&m.mode, mode);
}

void metrics_set_config_loaded(time_t when, size_t catalog_rules)
{
    atomic_store(&m.config_loaded_at, (long long)when);
    atomic_store(&m.config_last_ok, true);
    atomic_store(&m.catalog_rules, (unsigned long long)catalog_rules);
}

void metrics_record_config_reload(bool ok)
{
    atomic_fetch_add(ok ? &m.config_reloads_ok : &m.config_reloads_failed, 1);
    atomic_store(&m.config_last_ok, ok);
}

void metrics_record_review(const struct review_outcome *outcome, double seconds)
{
    atomic_fetch_add(&m.reviews[outcome->result], 1);
    if (outcome->result == REVIEW_SKIPPED)
        atomic_fetch_add(&m.skips[outcome->skip], 1);
    for (int a = 0; a < ACTION_COUNT; a++)
        if (outcome->containers[a])
            atomic_fetch_add(&m.containers[a], outcome->containers[a]);
    size_t bucket = 0;
    while (bucket < LATENCY_BUCKETS && seconds > latency_bounds[bucket])
        bucket++;
    atomic_fetch_add(&m.latency[bucket], 1);
    atomic_fetch_add(&m.latency_sum_ns, (unsigned long long)(seconds * 1e9));
}

void metrics_record_response(unsigned status)
{
    size_t i = 0;
    while (i < RESPONSE_CODES && response_codes[i] != status)
        i++;
    atomic_fetch_add(&m.responses[i], 1);
}

void metrics_record_cert_reload(bool ok)
{
    atomic_fetch_add(ok ? &m.cert_reloads_ok : &m.cert_reloads_failed, 1);
}

void metrics_set_cert_expiry(time_t not_after)
{
    atomic_store(&m.cert_not_after, (long long)not_after);
}

void metrics_inflight_add(int delta)
{
    atomic_fetch_add(&m.inflight, delta);
}

static void header(struct buf *out, const char *name, const char *type, const char *help)
{
    buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void render_reviews(struct buf *out)
{
    header(out, "goinject_reviews_total", "counter", "Admission reviews answered, by result.");
    for (int r = 0; r < REVIEW_RESULT_COUNT; r++)
        buf_printf(out, "goinject_reviews_total{result=\"%s\"} %llu\n",
                   review_result_name((enum review_result)r), atomic_load(&m.reviews[r]));
    header(out, "goinject_skips_total", "counter", "Pods not mutated, by reason.");
    for (int s = 1; s < SKIP_REASON_COUNT; s++)
        buf_printf(out, "goinject_skips_total{reason=\"%s\"} %llu\n",
                   skip_reason_name((enum skip_reason)s), atomic_load(&m.skips[s]));
    header(out, "goinject_containers_total", "counter", "Containers planned, by action.");
    for (int a = 0; a < ACTION_COUNT; a++)
        buf_printf(out, "goinject_containers_total{action=\"%s\"} %llu\n",
                   action_name((enum container_action)a), atomic_load(&m.containers[a]));
}

static void render_latency(struct buf *out)
{
    unsigned long long cumulative = 0;
    header(out, "goinject_review_duration_seconds", "histogram",
           "Time to answer an admission review, from the full body to the answer.");
    for (size_t i = 0; i < LATENCY_BUCKETS; i++) {
        cumulative += atomic_load(&m.latency[i]);
        buf_printf(out, "goinject_review_duration_seconds_bucket{le=\"%g\"} %llu\n",
                   latency_bounds[i], cumulative);
    }
    cumulative += atomic_load(&m.latency[LATENCY_BUCKETS]);
    buf_printf(out, "goinject_review_duration_seconds_bucket{le=\"+Inf\"} %llu\n", cumulative);
    buf_printf(out, "goinject_review_duration_seconds_sum %.9f\n",
               (double)atomic_load(&m.latency_sum_ns) / 1e9);
    buf_printf(out, "goinject_review_duration_seconds_count %llu\n", cumulative);
}

static void render_http(struct buf *out)
{
    header(out, "goinject_http_responses_total", "counter", "HTTP responses sent, by status code.");
    for (size_t i = 0; i < RESPONSE_CODES; i++)
        buf_printf(out, "goinject_http_responses_total{code=\"%u\"} %llu\n", response_codes[i],
                   atomic_load(&m.responses[i]));
    buf_printf(out, "goinject_http_responses_total{code=\"other\"} %llu\n",
               atomic_load(&m.responses[RESPONSE_CODES]));
    header(out, "goinject_inflight_reviews", "gauge", "Reviews being processed right now.");
    buf_printf(out, "goinject_inflight_reviews %d\n", atomic_load(&m.inflight));
}

static void render_tls(struct buf *out)
{
    header(out, "goinject_certificate_expiry_timestamp_seconds", "gauge",
           "NotAfter of the serving certificate in use, as a Unix time.");
    buf_printf(out, "goinject_certificate_expiry_timestamp_seconds %lld\n",
               atomic_load(&m.cert_not_after));
    header(out, "goinject_certificate_reloads_total", "counter",
           "Reloads of the serving certificate after its files changed, by result.");
    buf_printf(out, "goinject_certificate_reloads_total{result=\"success\"} %llu\n",
               atomic_load(&m.cert_reloads_ok));
    buf_printf(out, "goinject_certificate_reloads_total{result=\"failure\"} %llu\n",
               atomic_load(&m.cert_reloads_failed));
}

static void render_config(struct buf *out)
{
    header(out, "goinject_config_reloads_total", "counter",
           "Reloads of the configuration file after it changed, by result.");
    buf_printf(out, "goinject_config_reloads_total{result=\"success\"} %llu\n",
               atomic_load(&m.config_reloads_ok));
    buf_printf(out, "goinject_config_reloads_total{result=\"failure\"} %llu\n",
               atomic_load(&m.config_reloads_failed));
    header(out, "goinject_config_last_reload_success_timestamp_seconds", "gauge",
           "When the configuration in service was loaded, as a Unix time.");
    buf_printf(out, "goinject_config_last_reload_success_timestamp_seconds %lld\n",
               atomic_load(&m.config_loaded_at));
    header(out, "goinject_config_last_reload_successful", "gauge",
           "1 when the last load of the configuration file succeeded, 0 when it was rejected.");
    buf_printf(out, "goinject_config_last_reload_successful %d\n",
               atomic_load(&m.config_last_ok) ? 1 : 0);
    header(out, "goinject_catalog_rules", "gauge",
           "Rules in the image catalog of the configuration in service.");
    buf_printf(out, "goinject_catalog_rules %llu\n", atomic_load(&m.catalog_rules));
}

int metrics_render(struct buf *out)
{
    size_t before = out->len;
    const char *mode = atomic_load(&m.mode);
    render_reviews(out);
    render_latency(out);
    render_http(out);
    render_tls(out);
    render_config(out);
    header(out, "goinject_build_info", "gauge", "Build and configuration of this webhook.");
    buf_printf(out, "goinject_build_info{version=\"%s\",revision=\"%s\",mode=\"%s\"} 1\n",
               GOINJECT_VERSION, GOINJECT_REVISION, mode ? mode : "");
    return out->len > before ? 0 : -1;
}
