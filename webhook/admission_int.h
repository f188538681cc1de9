/*
 * admission_int.h - the stages of a review, shared by the three files that run them.
 *
 * admission.c is one pod: selection, the plan of every container, the patch,
 * the check of the patched pod, and a workload's pod template; it keeps what
 * a review reads of the object (its shape, jsonin.h) beside the code that
 * reads it. admission_review.c is the AdmissionReview around it: parse, route
 * (a pod's CREATE, a workload, anything else), answer. admission_mutate.c is
 * `goinject mutate`: the same stages, without a cluster. Nothing else includes
 * this header; admission.h is the module's interface.
 */
#ifndef GOINJECT_ADMISSION_INT_H
#define GOINJECT_ADMISSION_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "admission.h"
#include "buf.h"
#include "jsonin.h"
#include "patch_build.h"
#include "rules.h"
#include "warn.h"

/* ---- one pod (admission.c) ---------------------------------------------------------- */

struct pod_input {
    const struct goinject_config *cfg;
    const json_t *pod; /* borrowed */
    const char *namespace;
    bool pod_security_enforced;
    uint64_t deadline_ms; /* when the registry stage must be done (reg_now_ms); 0: no registry */
};

/* A wrapped container, remembered so the patched pod can be checked against E. */
struct wrapped {
    size_t index;
    size_t prefix_len; /* 3 for the shell wrapper, 2 for tini */
    json_t *argv;      /* owned: E */
};

struct mutation {
    enum review_result result;
    enum skip_reason skip;
    struct patch patch;
    struct warnings warnings;
    json_t *done; /* owned: the status map, container name -> action */
    size_t done_before;
    json_t *actions; /* owned: this review's decisions, for the log */
    unsigned containers[ACTION_COUNT];
    struct wrapped *wrapped;
    size_t nwrapped;
    bool need_agent;
    json_t *patched; /* owned: the pod after the patch, NULL when unchanged */
    /* What the registry stage did: the members of the status annotation's "facts" object. */
    struct buf registry;
    bool facts_pending;
    bool registry_broken; /* out of memory while writing registry: the status is not written */
    json_t *ptrace_ineffective; /* owned: container name -> why SYS_PTRACE cannot take effect */
    json_t *agent_env;          /* owned: container name -> the libc that chose its agent env set */
    /* Set when the pod already has something by one of the agent's names (agent_clash). */
    char clash[160];
    const char *clash_fix; /* the setting that renames goinject's object */
    char error[256];
};

/* What the review of pod (borrowed) in namespace ns knows before it starts. */
struct pod_input pod_input_for(const struct goinject_config *cfg, const json_t *pod, const char *ns,
                               const struct review_options *opts);
/* Selects and mutates the pod; always fills m, which mutation_free releases. */
void mutate_pod(const struct pod_input *in, struct mutation *m);
void mutation_free(struct mutation *m);
/* metadata.name, else metadata.generateName, else "". */
const char *pod_display_name(const json_t *pod);

/*
 * What a review builds of the object (the pod, or a workload with its pod template):
 * everything admission.c reads of it. With env when the configuration adds agent env,
 * which reads each container's (admission_reads_env); admission_review.c puts the
 * object in the AdmissionReview's shape.
 */
extern const struct jsonin_shape admission_object_with_env[];
extern const struct jsonin_shape admission_object_without_env[];
bool admission_reads_env(const struct goinject_config *cfg);

/* ---- workloads ---------------------------------------------------------------------- */

/* A workload kind whose pod template is checked, and where it keeps it (admission_review.c). */
struct workload_kind {
    const char *group, *resource, *kind;
    bool in_job_template; /* spec.jobTemplate.spec.template rather than spec.template */
};

/* The kind of workload a CREATE or UPDATE of request is about, or NULL for anything else. */
const struct workload_kind *request_workload(const json_t *request);
/* The same, for a bare object: its apiVersion's group and its kind. */
const struct workload_kind *object_workload(const json_t *object);

/*
 * Plans the pod workload's template describes, in namespace ns, and adds to w
 * what its pods would be told (admission.c): nothing for a template that is not
 * selected (or has no containers), only the reason for one that would fail open.
 * The plan goes to log (NULL: nowhere); nothing else of it is kept.
 */
void check_template(const struct goinject_config *cfg, const struct workload_kind *kind,
                    const json_t *workload, const char *ns, const struct review_options *opts,
                    struct warnings *w, json_t *log);

/* ---- the AdmissionReview (admission_review.c) --------------------------------------- */

/* Why doc is not an AdmissionReview with a request, or NULL when it is one. */
const char *review_problem(const json_t *doc);
/* A pod's CREATE: the one request that is mutated. */
bool is_pod_create(const json_t *request);
/* The request's namespace, else the pod's own; NULL when neither says. */
const char *request_namespace(const json_t *request, const json_t *pod);

#endif
