/*
 * admission.h - one admission review, from request bytes to answer bytes.
 *
 * Owns the flow of a review: parse and check the AdmissionReview, select the
 * pod (operation, namespace, opt-outs, Windows), plan every container with the
 * rules, build the patch, apply it with our own applier, check the result,
 * and write the answer. A workload (Deployment, StatefulSet, DaemonSet,
 * ReplicaSet, Job, CronJob) gets the warnings its pod template would get and
 * never a patch: its pods are mutated when they are created. It never denies:
 * every problem becomes "allowed" without a patch, a warning, and a log line
 * (fail open). The same function serves `goinject serve`, `goinject review`
 * and `goinject mutate`, so their answers are identical byte for byte.
 */
#ifndef GOINJECT_ADMISSION_H
#define GOINJECT_ADMISSION_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "config.h"
#include "rules.h"
#include "warn.h"

struct jsonin_shape;

enum review_result {
    REVIEW_PATCHED,     /* answered with a non-empty patch */
    REVIEW_UNCHANGED,   /* selected, nothing (more) to do: empty patch */
    REVIEW_SKIPPED,     /* not selected: see enum skip_reason */
    REVIEW_FAILED_OPEN, /* something went wrong: allowed, no patch, a warning */
    REVIEW_INVALID,     /* not an AdmissionReview: HTTP 400 */
    REVIEW_WORKLOAD,    /* a workload's pod template checked: allowed, no patch, its warnings */
    REVIEW_RESULT_COUNT
};

enum skip_reason {
    SKIP_NONE,
    SKIP_NOT_POD_CREATE, /* another resource, subresource or operation */
    SKIP_NAMESPACE,      /* namespace excluded by the configuration */
    SKIP_WINDOWS,        /* spec.os.name: windows */
    SKIP_POD_OPT_OUT,    /* <prefix>/inject: "false", or the default says no */
    SKIP_REASON_COUNT
};

struct review_options {
    /* The namespace is known (from the request URL) to enforce baseline/restricted. */
    bool pod_security_enforced;
    /*
     * The namespace is known (from the request URL) to be labelled enforce=privileged,
     * which overrides podSecurityDefault; pod_security_enforced wins over it.
     */
    bool pod_security_privileged;
    /* Build every value of the request, not only what the review reads (for tests). */
    bool full_parse;
    /* The API server's timeout for this call (its ?timeout=), 0 when unknown. */
    unsigned timeout_ms;
    /* No registry stage: facts come from annotations and the catalog only. */
    bool no_registry;
};

struct review_outcome {
    enum review_result result;
    enum skip_reason skip;
    int http_status; /* 200, or 400 for REVIEW_INVALID */
    struct buf body; /* the HTTP body: the AdmissionReview answer or {"error": ...} */
    unsigned containers[ACTION_COUNT]; /* containers planned in this review, by action */
    json_t *log;                       /* owned: fields for the review's log line */
};

/* What a review builds of the request it parses: all the rest is checked and skipped. */
const struct jsonin_shape *admission_review_shape(const struct goinject_config *cfg);

/* Reviews the AdmissionReview in body. Always fills out; free it with review_outcome_free. */
void admission_review(const struct goinject_config *cfg, const char *body, size_t len,
                      const struct review_options *opts, struct review_outcome *out);
void review_outcome_free(struct review_outcome *out);

/*
 * Dry-run admission without a cluster: input is a Pod, a workload, a List of
 * them, or an AdmissionReview. Returns the mutated pod or the workload as it
 * was (owned) with every warning in w, or NULL with a one-line reason in err
 * when the input is none of those.
 */
json_t *admission_mutate(const struct goinject_config *cfg, const json_t *input,
                         const struct review_options *opts, struct warnings *w, char *err,
                         size_t errlen);

const char *review_result_name(enum review_result result);
const char *skip_reason_name(enum skip_reason reason);

#endif
