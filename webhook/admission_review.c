/*
 * admission_review.c - the AdmissionReview: parse it, route its request (a pod's
 * CREATE, a workload, anything else), answer; see admission.h and admission_int.h.
 */
#include "admission.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "admission_int.h"
#include "arena.h"
#include "jsonin.h"
#include "jsonout.h"
#include "patch_build.h"

static void set_error_body(struct review_outcome *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_error_body(struct review_outcome *out, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *body = json_pack("{s:s}", "error", msg);
    char *text = json_dumps(body, JSON_COMPACT);
    buf_truncate(&out->body, 0);
    buf_append_str(&out->body, text ? text : "{\"error\":\"out of memory\"}");
    arena_text_free(text);
    json_decref(body);
    out->result = REVIEW_INVALID;
    out->http_status = 400;
    json_object_set_new(out->log, "error", json_string(msg));
}

/*
 * The answer: uid echoed, always allowed, the patch and the warnings when there are any.
 * Written straight into the body, with the members in the order they always had:
 * {"apiVersion","kind","response":{"uid","allowed","patchType","patch","warnings"}}.
 */
static void write_answer(struct review_outcome *out, const struct goinject_config *cfg,
                         const char *api_version, const char *uid, const struct patch *ops,
                         const struct warnings *w)
{
    struct buf *b = &out->body;
    struct buf patch = BUF_INIT;
    int rc = ops ? patch_write(&patch, ops, cfg->agent.texts) : 0;
    buf_truncate(b, 0);
    rc = rc || buf_append_str(b, "{\"apiVersion\":") ||
         jsonout_write_string(b, api_version, strlen(api_version)) ||
         buf_append_str(b, ",\"kind\":\"AdmissionReview\",\"response\":{\"uid\":") ||
         jsonout_write_string(b, uid, strlen(uid)) || buf_append_str(b, ",\"allowed\":true");
    if (!rc && ops)
        rc = buf_append_str(b, ",\"patchType\":\"JSONPatch\",\"patch\":\"") ||
             buf_append_base64(b, patch.data, patch.len) || buf_append_char(b, '"');
    if (!rc && w->count) {
        json_t *warnings = warnings_to_json(w); /* within the API server's budget */
        rc = buf_append_str(b, ",\"warnings\":") || jsonout_write_compact(b, warnings);
        json_decref(warnings);
    }
    rc = rc || buf_append_str(b, "}}");
    buf_free(&patch);
    if (rc) {
        buf_truncate(b, 0);
        buf_append_str(b, "{\"error\":\"out of memory\"}");
    }
    out->http_status = 200;
}

bool is_pod_create(const json_t *request)
{
    const json_t *resource = json_object_get(request, "resource");
    const char *group = json_string_value(json_object_get(resource, "group"));
    const char *plural = json_string_value(json_object_get(resource, "resource"));
    const char *sub = json_string_value(json_object_get(request, "subResource"));
    const char *operation = json_string_value(json_object_get(request, "operation"));
    return group && !*group && plural && strcmp(plural, "pods") == 0 && (!sub || !*sub) &&
           operation && strcmp(operation, "CREATE") == 0;
}

static void log_mutation(struct review_outcome *out, const struct mutation *m)
{
    json_object_set(out->log, "actions", m->actions);
    if (m->warnings.count) {
        json_t *all = json_array();
        for (size_t i = 0; i < m->warnings.count; i++)
            json_array_append_new(all, json_string(m->warnings.items[i]));
        json_object_set_new(out->log, "warnings", all);
    }
    if (m->skip != SKIP_NONE)
        json_object_set_new(out->log, "skip", json_string(skip_reason_name(m->skip)));
    if (m->result == REVIEW_FAILED_OPEN)
        json_object_set_new(out->log, "error", json_string(m->error));
    if (m->result == REVIEW_PATCHED)
        json_object_set_new(out->log, "patchOps", json_integer((json_int_t)patch_count(&m->patch)));
}

static void answer_mutation(struct review_outcome *out, const struct goinject_config *cfg,
                            const char *api_version, const char *uid, struct mutation *m)
{
    out->result = m->result;
    out->skip = m->skip;
    memcpy(out->containers, m->containers, sizeof(out->containers));
    log_mutation(out, m);
    if (m->result == REVIEW_FAILED_OPEN) {
        struct warnings only = {NULL, 0};
        warnings_addf(&only, "pod admitted unchanged: %s", m->error);
        write_answer(out, cfg, api_version, uid, NULL, &only);
        warnings_free(&only);
        return;
    }
    write_answer(out, cfg, api_version, uid, m->result == REVIEW_PATCHED ? &m->patch : NULL,
                 &m->warnings);
}

const char *request_namespace(const json_t *request, const json_t *pod)
{
    const char *ns = json_string_value(json_object_get(request, "namespace"));
    if (!ns || !*ns)
        ns = json_string_value(json_object_get(json_object_get(pod, "metadata"), "namespace"));
    return ns;
}

/* The workload kinds whose pod template is checked, and where each keeps it. */
static const struct workload_kind workload_kinds[] = {
    {"apps", "deployments", "Deployment", false},
    {"apps", "statefulsets", "StatefulSet", false},
    {"apps", "daemonsets", "DaemonSet", false},
    {"apps", "replicasets", "ReplicaSet", false},
    {"batch", "jobs", "Job", false},
    {"batch", "cronjobs", "CronJob", true},
};
#define WORKLOAD_KINDS (sizeof(workload_kinds) / sizeof(workload_kinds[0]))

const struct workload_kind *request_workload(const json_t *request)
{
    const json_t *resource = json_object_get(request, "resource");
    const char *group = json_string_value(json_object_get(resource, "group"));
    const char *plural = json_string_value(json_object_get(resource, "resource"));
    const char *sub = json_string_value(json_object_get(request, "subResource"));
    const char *operation = json_string_value(json_object_get(request, "operation"));
    if (!group || !plural || (sub && *sub) || !operation ||
        (strcmp(operation, "CREATE") != 0 && strcmp(operation, "UPDATE") != 0))
        return NULL;
    for (size_t i = 0; i < WORKLOAD_KINDS; i++)
        if (strcmp(group, workload_kinds[i].group) == 0 &&
            strcmp(plural, workload_kinds[i].resource) == 0)
            return &workload_kinds[i];
    return NULL;
}

const struct workload_kind *object_workload(const json_t *object)
{
    const char *version = json_string_value(json_object_get(object, "apiVersion"));
    const char *kind = json_string_value(json_object_get(object, "kind"));
    const char *slash = version ? strchr(version, '/') : NULL;
    size_t group_len = slash ? (size_t)(slash - version) : 0;
    for (size_t i = 0; slash && kind && i < WORKLOAD_KINDS; i++)
        if (strcmp(kind, workload_kinds[i].kind) == 0 &&
            strlen(workload_kinds[i].group) == group_len &&
            memcmp(version, workload_kinds[i].group, group_len) == 0)
            return &workload_kinds[i];
    return NULL;
}

static void review_request(const struct goinject_config *cfg, const char *api_version,
                           const json_t *request, const struct review_options *opts,
                           struct review_outcome *out)
{
    const char *uid = json_string_value(json_object_get(request, "uid"));
    const json_t *pod = json_object_get(request, "object");
    const char *ns = request_namespace(request, pod);
    json_object_set_new(out->log, "uid", json_string(uid));
    json_object_set_new(out->log, "namespace", json_string(ns ? ns : ""));
    json_object_set_new(out->log, "pod", json_string(pod_display_name(pod)));
    const char *operation = json_string_value(json_object_get(request, "operation"));
    json_object_set_new(out->log, "operation", json_string(operation ? operation : ""));
    const struct workload_kind *kind = request_workload(request);
    if (kind) {
        struct warnings w = {NULL, 0};
        json_object_set_new(out->log, "workload", json_string(kind->resource));
        check_template(cfg, kind, pod, ns, opts, &w, out->log);
        if (w.count) {
            json_t *all = json_array();
            for (size_t i = 0; i < w.count; i++)
                json_array_append_new(all, json_string(w.items[i]));
            json_object_set_new(out->log, "warnings", all);
        }
        out->result = REVIEW_WORKLOAD;
        write_answer(out, cfg, api_version, uid, NULL, &w);
        warnings_free(&w);
        return;
    }
    if (!is_pod_create(request)) {
        struct warnings none = {NULL, 0};
        out->result = REVIEW_SKIPPED;
        out->skip = SKIP_NOT_POD_CREATE;
        json_object_set_new(out->log, "skip", json_string(skip_reason_name(out->skip)));
        write_answer(out, cfg, api_version, uid, NULL, &none);
        return;
    }
    struct pod_input in = pod_input_for(cfg, pod, ns, opts);
    struct mutation m;
    mutate_pod(&in, &m);
    answer_mutation(out, cfg, api_version, uid, &m);
    mutation_free(&m);
}

static const char *review_api_version(const json_t *review)
{
    const char *version = json_string_value(json_object_get(review, "apiVersion"));
    if (version && (strcmp(version, "admission.k8s.io/v1") == 0 ||
                    strcmp(version, "admission.k8s.io/v1beta1") == 0))
        return version;
    return NULL;
}

const char *review_problem(const json_t *doc)
{
    if (!json_is_object(doc))
        return "not an AdmissionReview: the body is not a JSON object";
    const char *kind = json_string_value(json_object_get(doc, "kind"));
    if (!kind || strcmp(kind, "AdmissionReview") != 0)
        return "not an AdmissionReview: kind must be AdmissionReview";
    if (!review_api_version(doc))
        return "not an AdmissionReview: apiVersion must be admission.k8s.io/v1 or v1beta1";
    const json_t *request = json_object_get(doc, "request");
    if (!json_is_object(request))
        return "not an AdmissionReview: request is missing";
    const json_t *uid = json_object_get(request, "uid");
    if (!json_string_value(uid) || !*json_string_value(uid))
        return "not an AdmissionReview: request.uid is missing";
    /* The answer must echo the uid exactly; one with NUL cannot pass through C strings. */
    if (strlen(json_string_value(uid)) != json_string_length(uid))
        return "not an AdmissionReview: request.uid contains NUL";
    return NULL;
}

/*
 * What a review reads of the AdmissionReview around the object: every member a function
 * in this file looks at. The object's own members, with all that admission.c reads of
 * the pod or the workload, are admission.c's table (admission_object_*), beside that code.
 */
/* clang-format off */
#define LEAF(name) {name, NULL}
static const struct jsonin_shape RESOURCE[] = {LEAF("group"), LEAF("resource"), {NULL, NULL}};
#define REVIEW_SHAPE(name, object)                                                                 \
    static const struct jsonin_shape name##_REQUEST[] = {                                            \
        LEAF("uid"),         {"object", object}, LEAF("namespace"), {"resource", RESOURCE},        \
        LEAF("subResource"), LEAF("operation"), {NULL, NULL}};                                     \
    static const struct jsonin_shape name[] = {                                                      \
        LEAF("apiVersion"), LEAF("kind"), {"request", name##_REQUEST}, {NULL, NULL}}
REVIEW_SHAPE(REVIEW_WITH_ENV, admission_object_with_env);
REVIEW_SHAPE(REVIEW_WITHOUT_ENV, admission_object_without_env);
#undef REVIEW_SHAPE
#undef LEAF
/* clang-format on */

const struct jsonin_shape *admission_review_shape(const struct goinject_config *cfg)
{
    return admission_reads_env(cfg) ? REVIEW_WITH_ENV : REVIEW_WITHOUT_ENV;
}

static void review_body(const struct goinject_config *cfg, const char *body, size_t len,
                        const struct review_options *opts, struct review_outcome *out)
{
    json_error_t error;
    json_t *doc = jsonin_parse_body(
        body, len, opts && opts->full_parse ? NULL : admission_review_shape(cfg), &error);
    if (!doc) {
        /* jansson quotes the input near the error: keep the message on one line. */
        char text[4 * JSON_ERROR_TEXT_LENGTH];
        set_error_body(out, "malformed JSON at line %d column %d: %s", error.line, error.column,
                       str_safe(text, sizeof(text), error.text, strlen(error.text)));
        return;
    }
    const char *problem = review_problem(doc);
    if (problem)
        set_error_body(out, "%s", problem);
    else
        review_request(cfg, review_api_version(doc), json_object_get(doc, "request"), opts, out);
    /*
     * No json_decref(doc): the request's values are arena memory and refer only to each
     * other, so ending the scope releases them without walking the tree.
     */
}

/* What a review too large to build reads: enough to answer it. */
/* clang-format off */
static const struct jsonin_shape UID_REQUEST[] = {{"uid", NULL}, {"namespace", NULL}, {"operation", NULL},
                                                {NULL, NULL}};
static const struct jsonin_shape UID_ONLY[] = {{"apiVersion", NULL}, {"kind", NULL},
                                             {"request", UID_REQUEST}, {NULL, NULL}};
/* clang-format on */

/*
 * The answer to a review whose values did not fit ARENA_MAX: the body is parsed
 * again for its uid alone (which builds nearly nothing), and the pod is allowed
 * unchanged with a warning, as for any other failure. Called in a fresh scope.
 */
static void review_too_large(const struct goinject_config *cfg, const char *body, size_t len,
                             struct review_outcome *out)
{
    json_error_t error;
    json_t *doc = jsonin_parse_body(body, len, UID_ONLY, &error);
    const char *problem = doc                 ? review_problem(doc)
                          : arena_exhausted() ? "not even its uid could be read"
                                              : "malformed JSON";
    const char *why = "the review needs more than " ARENA_MAX_TEXT " of memory to process";
    if (problem) {
        set_error_body(out, "%s; %s", why, problem);
        return;
    }
    const json_t *request = json_object_get(doc, "request");
    static const char *const logged[] = {"uid", "namespace", "operation"};
    for (size_t i = 0; i < sizeof(logged) / sizeof(logged[0]); i++)
        json_object_set(out->log, logged[i], json_object_get(request, logged[i]));
    json_object_set_new(out->log, "error", json_string(why));
    struct warnings only = {NULL, 0};
    warnings_addf(&only, "pod admitted unchanged: %s", why);
    out->result = REVIEW_FAILED_OPEN;
    write_answer(out, cfg, review_api_version(doc),
                 json_string_value(json_object_get(request, "uid")), NULL, &only);
    warnings_free(&only);
}

void admission_review(const struct goinject_config *cfg, const char *body, size_t len,
                      const struct review_options *opts, struct review_outcome *out)
{
    memset(out, 0, sizeof(*out));
    arena_begin();
    out->log = json_object();
    review_body(cfg, body, len, opts, out);
    if (arena_exhausted()) {
        /* Anything built may lack values: throw it all away, answer from the uid alone. */
        arena_end();
        buf_free(&out->body);
        memset(out, 0, sizeof(*out));
        arena_begin();
        out->log = json_object();
        review_too_large(cfg, body, len, out);
    }
    /* The log fields outlive the review: the one value copied out of the arena. */
    json_t *log = out->log;
    out->log = arena_export(log);
    arena_end();
}

void review_outcome_free(struct review_outcome *out)
{
    buf_free(&out->body);
    json_decref(out->log);
    out->log = NULL;
}
