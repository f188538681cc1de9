/* metrics.c - Prometheus text metrics; see metrics.h. */
#include "metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "admission.h"
#include "regfacts.h"

#include "version.h"

/*
 * Seconds. The low bounds tell apart reviews that need no registry lookup (no
 * I/O at all); the high ones, up to a second, those that wait for one within
 * the registry budget.
 */
static const double latency_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                        0.01,   0.025,   0.05,   0.1,   0.5,    1.0};
#define LATENCY_BUCKETS (sizeof(latency_bounds) / sizeof(latency_bounds[0]))

/* HTTP status codes the server sends, as counters in this order. */
static const unsigned response_codes[] = {200, 400, 401, 404, 405, 408, 413, 415, 500, 501, 503};
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
    atomic_uint connections;
    atomic_ullong body_bytes;
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

void metrics_set_server_load(unsigned connections, size_t body_bytes)
{
    atomic_store(&m.connections, connections);
    atomic_store(&m.body_bytes, body_bytes);
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
    header(out, "goinject_open_connections", "gauge", "Connections open on the webhook port.");
    buf_printf(out, "goinject_open_connections %u\n", atomic_load(&m.connections));
    header(out, "goinject_request_body_bytes", "gauge",
           "Buffer bytes of request bodies held, within --body-budget-bytes.");
    buf_printf(out, "goinject_request_body_bytes %llu\n", atomic_load(&m.body_bytes));
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

/* ---- registries ------------------------------------------------------------------------ */

static const char *const request_kinds[] = {"token", "manifest-head", "manifest", "config",
                                            "layer"};
#define REQUEST_KINDS (sizeof(request_kinds) / sizeof(request_kinds[0]))
/* Statuses counted apart; others count as their class (2xx, 3xx, 4xx, 5xx) or "error". */
static const long request_codes[] = {200, 307, 401, 403, 404, 429, 500, 503};
#define REQUEST_CODES (sizeof(request_codes) / sizeof(request_codes[0]))
#define CODE_SLOTS    (REQUEST_CODES + 5) /* + 2xx..5xx, error */
static const double request_bounds[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
#define REQUEST_BUCKETS (sizeof(request_bounds) / sizeof(request_bounds[0]))

/* Registries get a row each as they are first seen, up to the limit; then "other". */
static struct {
    pthread_mutex_t lock;
    char names[METRICS_MAX_REGISTRIES + 1][128];
    unsigned count;
    unsigned long long requests[METRICS_MAX_REGISTRIES + 1][REQUEST_KINDS][CODE_SLOTS];
    unsigned long long bytes[METRICS_MAX_REGISTRIES + 1];
    unsigned long long latency[REQUEST_KINDS][REQUEST_BUCKETS + 1];
    double latency_sum[REQUEST_KINDS];
    unsigned long long lookups[RESULT_COUNT];
    unsigned long long cache_hits[3], cache_misses[3];
} reg = {.lock = PTHREAD_MUTEX_INITIALIZER};

static unsigned registry_slot(const char *registry)
{
    for (unsigned i = 0; i < reg.count; i++)
        if (strcmp(reg.names[i], registry) == 0)
            return i;
    if (reg.count == METRICS_MAX_REGISTRIES || strlen(registry) >= sizeof(reg.names[0]))
        return METRICS_MAX_REGISTRIES;
    snprintf(reg.names[reg.count], sizeof(reg.names[0]), "%s", registry);
    return reg.count++;
}

static size_t code_slot(long status)
{
    for (size_t i = 0; i < REQUEST_CODES; i++)
        if (request_codes[i] == status)
            return i;
    if (status >= 200 && status < 600)
        return REQUEST_CODES + (size_t)(status / 100 - 2);
    return REQUEST_CODES + 4;
}

static void code_label(size_t slot, char *out, size_t len)
{
    static const char *const classes[] = {"2xx", "3xx", "4xx", "5xx", "error"};
    if (slot < REQUEST_CODES)
        snprintf(out, len, "%ld", request_codes[slot]);
    else
        snprintf(out, len, "%s", classes[slot - REQUEST_CODES]);
}

void metrics_record_registry_request(const char *registry, const char *kind, long status,
                                     double seconds, unsigned long long bytes)
{
    size_t k = 0;
    while (k < REQUEST_KINDS && strcmp(request_kinds[k], kind) != 0)
        k++;
    if (k == REQUEST_KINDS)
        return;
    size_t bucket = 0;
    while (bucket < REQUEST_BUCKETS && seconds > request_bounds[bucket])
        bucket++;
    pthread_mutex_lock(&reg.lock);
    unsigned r = registry_slot(registry);
    reg.requests[r][k][code_slot(status)]++;
    reg.bytes[r] += bytes;
    reg.latency[k][bucket]++;
    reg.latency_sum[k] += seconds;
    pthread_mutex_unlock(&reg.lock);
}

void metrics_record_facts_lookup(int result)
{
    pthread_mutex_lock(&reg.lock);
    if (result >= 0 && result < RESULT_COUNT)
        reg.lookups[result]++;
    pthread_mutex_unlock(&reg.lock);
}

void metrics_record_facts_cache(int cache, bool hit)
{
    pthread_mutex_lock(&reg.lock);
    if (cache >= 0 && cache <= 2)
        (hit ? reg.cache_hits : reg.cache_misses)[cache]++;
    pthread_mutex_unlock(&reg.lock);
}

static void render_registry_requests(struct buf *out)
{
    char code[16];
    header(out, "goinject_registry_requests_total", "counter",
           "Requests to image registries, by registry, kind and HTTP status.");
    for (unsigned r = 0; r <= reg.count && r <= METRICS_MAX_REGISTRIES; r++) {
        const char *name = r < reg.count ? reg.names[r] : "other";
        for (size_t k = 0; k < REQUEST_KINDS; k++)
            for (size_t c = 0; c < CODE_SLOTS; c++) {
                if (!reg.requests[r][k][c])
                    continue;
                code_label(c, code, sizeof(code));
                buf_printf(out,
                           "goinject_registry_requests_total{registry=\"%s\",kind=\"%s\","
                           "code=\"%s\"} %llu\n",
                           name, request_kinds[k], code, reg.requests[r][k][c]);
            }
    }
    header(out, "goinject_registry_bytes_total", "counter",
           "Body bytes received from image registries, by registry.");
    for (unsigned r = 0; r <= reg.count && r <= METRICS_MAX_REGISTRIES; r++)
        if (reg.bytes[r])
            buf_printf(out, "goinject_registry_bytes_total{registry=\"%s\"} %llu\n",
                       r < reg.count ? reg.names[r] : "other", reg.bytes[r]);
}

static void render_registry_latency(struct buf *out)
{
    header(out, "goinject_registry_request_duration_seconds", "histogram",
           "Time of one request to an image registry, by kind.");
    for (size_t k = 0; k < REQUEST_KINDS; k++) {
        unsigned long long cumulative = 0;
        for (size_t i = 0; i <= REQUEST_BUCKETS; i++) {
            cumulative += reg.latency[k][i];
            if (i < REQUEST_BUCKETS)
                buf_printf(out,
                           "goinject_registry_request_duration_seconds_bucket{kind=\"%s\","
                           "le=\"%g\"} %llu\n",
                           request_kinds[k], request_bounds[i], cumulative);
        }
        buf_printf(out,
                   "goinject_registry_request_duration_seconds_bucket{kind=\"%s\",le=\"+Inf\"} "
                   "%llu\n",
                   request_kinds[k], cumulative);
        buf_printf(out, "goinject_registry_request_duration_seconds_sum{kind=\"%s\"} %.6f\n",
                   request_kinds[k], reg.latency_sum[k]);
        buf_printf(out, "goinject_registry_request_duration_seconds_count{kind=\"%s\"} %llu\n",
                   request_kinds[k], cumulative);
    }
}

/* counts: entries of the tags, facts, failures and layers caches, then lookups pending. */
static void render_facts(struct buf *out, const size_t counts[5])
{
    static const char *const caches[] = {"tags", "facts", "layers"};
    size_t tags = counts[0], facts = counts[1], failures = counts[2], pending = counts[4];
    header(out, "goinject_facts_lookups_total", "counter",
           "Containers whose image facts were asked of the registry layer, by result.");
    for (int r = 0; r < RESULT_COUNT; r++)
        buf_printf(out, "goinject_facts_lookups_total{result=\"%s\"} %llu\n",
                   regfacts_result_name((enum regfacts_result)r), reg.lookups[r]);
    header(out, "goinject_facts_cache_hits_total", "counter", "Registry layer cache hits.");
    for (int c = 0; c < 3; c++)
        buf_printf(out, "goinject_facts_cache_hits_total{cache=\"%s\"} %llu\n", caches[c],
                   reg.cache_hits[c]);
    header(out, "goinject_facts_cache_misses_total", "counter", "Registry layer cache misses.");
    for (int c = 0; c < 3; c++)
        buf_printf(out, "goinject_facts_cache_misses_total{cache=\"%s\"} %llu\n", caches[c],
                   reg.cache_misses[c]);
    header(out, "goinject_facts_cache_entries", "gauge", "Entries in the registry layer's caches.");
    buf_printf(out, "goinject_facts_cache_entries{cache=\"tags\"} %zu\n", tags);
    buf_printf(out, "goinject_facts_cache_entries{cache=\"facts\"} %zu\n", facts);
    buf_printf(out, "goinject_facts_cache_entries{cache=\"failures\"} %zu\n", failures);
    buf_printf(out, "goinject_facts_cache_entries{cache=\"layers\"} %zu\n", counts[3]);
    header(out, "goinject_facts_pending", "gauge", "Registry lookups queued or running.");
    buf_printf(out, "goinject_facts_pending %zu\n", pending);
}

static void render_registry(struct buf *out)
{
    /* regfacts records while holding its lock: take the counts first, never both locks. */
    size_t counts[5];
    regfacts_counts(&counts[0], &counts[1], &counts[2], &counts[3], &counts[4]);
    pthread_mutex_lock(&reg.lock);
    render_registry_requests(out);
    render_registry_latency(out);
    render_facts(out, counts);
    pthread_mutex_unlock(&reg.lock);
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
    render_registry(out);
    header(out, "goinject_build_info", "gauge", "Build and configuration of this webhook.");
    buf_printf(out, "goinject_build_info{version=\"%s\",revision=\"%s\",mode=\"%s\"} 1\n",
               GOINJECT_VERSION, GOINJECT_REVISION, mode ? mode : "");
    return out->len > before ? 0 : -1;
}
