/*
 * metrics.h - the webhook's Prometheus metrics.
 *
 * Owns process-wide counters (C11 atomics, so the pool threads record without
 * locks) and their rendering in the Prometheus text exposition format:
 * reviews by result, a review latency histogram, containers by action, skips
 * by reason, HTTP responses by code, certificate expiry and reloads, build info.
 */
#ifndef GOINJECT_METRICS_H
#define GOINJECT_METRICS_H

#include <stdbool.h>
#include <time.h>

#include "admission.h"
#include "buf.h"

void metrics_set_info(const char *mode);
void metrics_record_review(const struct review_outcome *outcome, double seconds);
void metrics_record_response(unsigned status);
void metrics_record_cert_reload(bool ok);
void metrics_set_cert_expiry(time_t not_after);
void metrics_inflight_add(int delta);
/* Appends the exposition text; returns 0 or -1 when out of memory. */
int metrics_render(struct buf *out);

#endif
