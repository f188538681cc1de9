/*
 * metrics.h - the webhook's Prometheus metrics.
 *
 * Owns process-wide counters (C11 atomics, so the pool threads record without
 * locks) and their rendering in the Prometheus text exposition format:
 * reviews by result, a review latency histogram, containers by action, skips
 * by reason, HTTP responses by code, certificate expiry and reloads,
 * configuration reloads and catalog size, build info.
 */
#ifndef GOINJECT_METRICS_H
#define GOINJECT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"

struct review_outcome;

/* mode must be a string with static storage (config_mode_name's). */
void metrics_set_info(const char *mode);
void metrics_record_review(const struct review_outcome *outcome, double seconds);
void metrics_record_response(unsigned status);
void metrics_record_cert_reload(bool ok);
void metrics_set_cert_expiry(time_t not_after);
void metrics_inflight_add(int delta);
/* What the server holds when /metrics is rendered: open connections, request body bytes. */
void metrics_set_server_load(unsigned connections, size_t body_bytes);
/* A configuration was put in service at when (the first load, or a reload). */
void metrics_set_config_loaded(time_t when, size_t catalog_rules);
/* A reload of the configuration file succeeded or was rejected. */
void metrics_record_config_reload(bool ok);
/*
 * One request to a registry: its registry label (the reference's registry;
 * past METRICS_MAX_REGISTRIES distinct ones they count as "other"), kind
 * (token, manifest-head, manifest, config, layer), HTTP status (-1 when the
 * transfer failed), duration and body bytes.
 */
#define METRICS_MAX_REGISTRIES 32
void metrics_record_registry_request(const char *registry, const char *kind, long status,
                                     double seconds, unsigned long long bytes);
/* A registry facts lookup answered a review's container: result is an enum regfacts_result. */
void metrics_record_facts_lookup(int result);
/* A look into the tag cache (cache 0), the facts cache (1) or the layer store (2). */
void metrics_record_facts_cache(int cache, bool hit);
/* Appends the exposition text; returns 0 or -1 when out of memory. */
int metrics_render(struct buf *out);

#endif
