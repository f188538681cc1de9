/*
 * admission_mutate.c - `goinject mutate`: a pod, a workload, a List of them or an
 * AdmissionReview, through the review's stages without a cluster; see admission.h.
 */
#include "admission.h"

#include <stdio.h>
#include <string.h>

#include "admission_int.h"

static const char *skip_explanation(enum skip_reason reason)
{
    switch (reason) {
    case SKIP_NOT_POD_CREATE:
        return "only the CREATE of a pod is mutated";
    case SKIP_NAMESPACE:
        return "its namespace is excluded by the configuration";
    case SKIP_WINDOWS:
        return "it is a Windows pod";
    case SKIP_POD_OPT_OUT:
        return "it opted out (inject annotation, or injectByDefault false)";
    default:
        return "not selected";
    }
}

static void note_skip(struct warnings *w, const json_t *pod, const struct mutation *m)
{
    if (m->result == REVIEW_SKIPPED)
        warnings_addf(w, "pod \"%s\" not mutated: %s", pod_display_name(pod),
                      skip_explanation(m->skip));
    else if (m->result == REVIEW_FAILED_OPEN)
        warnings_addf(w, "pod \"%s\" admitted unchanged: %s", pod_display_name(pod), m->error);
}

static json_t *mutate_one(const struct goinject_config *cfg, const json_t *pod, const char *ns,
                          const struct review_options *opts, struct warnings *w)
{
    if (!ns)
        ns = json_string_value(json_object_get(json_object_get(pod, "metadata"), "namespace"));
    if (!ns || !*ns)
        ns = "default";
    struct pod_input in = pod_input_for(cfg, pod, ns, opts);
    struct mutation m;
    mutate_pod(&in, &m);
    for (size_t i = 0; i < m.warnings.count && m.result != REVIEW_FAILED_OPEN; i++)
        warnings_addf(w, "%s", m.warnings.items[i] + strlen("goinject: "));
    note_skip(w, pod, &m);
    json_t *result = m.result == REVIEW_PATCHED ? json_incref(m.patched) : json_deep_copy(pod);
    mutation_free(&m);
    return result;
}

/* A workload given as it is: unchanged, with the warnings its template would get. */
static json_t *check_workload(const struct goinject_config *cfg, const json_t *workload,
                              const struct review_options *opts, struct warnings *w)
{
    const char *ns =
        json_string_value(json_object_get(json_object_get(workload, "metadata"), "namespace"));
    check_template(cfg, object_workload(workload), workload, ns && *ns ? ns : "default", opts, w,
                   NULL);
    return json_deep_copy(workload);
}

static bool is_kind(const json_t *doc, const char *kind)
{
    const char *k = json_string_value(json_object_get(doc, "kind"));
    return k && strcmp(k, kind) == 0;
}

json_t *admission_mutate(const struct goinject_config *cfg, const json_t *input,
                         const struct review_options *opts, struct warnings *w, char *err,
                         size_t errlen)
{
    if (is_kind(input, "AdmissionReview")) {
        const char *problem = review_problem(input);
        const json_t *request = json_object_get(input, "request");
        const json_t *object = json_object_get(request, "object");
        if (problem) {
            snprintf(err, errlen, "%s", problem);
            return NULL;
        }
        const struct workload_kind *kind = request_workload(request);
        if (kind) {
            const char *ns = request_namespace(request, object);
            check_template(cfg, kind, object, ns && *ns ? ns : "default", opts, w, NULL);
            return json_deep_copy(object);
        }
        if (!is_pod_create(request)) {
            /* Exactly what the server would do: answer without a patch. */
            warnings_addf(w, "pod \"%s\" not mutated: %s", pod_display_name(object),
                          skip_explanation(SKIP_NOT_POD_CREATE));
            return object ? json_deep_copy(object) : json_null();
        }
        return mutate_one(cfg, json_object_get(request, "object"),
                          request_namespace(request, json_object_get(request, "object")), opts, w);
    }
    if (is_kind(input, "Pod"))
        return mutate_one(cfg, input, NULL, opts, w);
    if (object_workload(input))
        return check_workload(cfg, input, opts, w);
    if (is_kind(input, "List") && json_is_array(json_object_get(input, "items"))) {
        json_t *list = json_deep_copy(input);
        json_t *items = json_object_get(list, "items");
        size_t i;
        json_t *item;
        json_array_foreach(items, i, item)
        {
            if (is_kind(item, "Pod"))
                json_array_set_new(items, i, mutate_one(cfg, item, NULL, opts, w));
            else if (object_workload(item))
                json_array_set_new(items, i, check_workload(cfg, item, opts, w));
        }
        return list;
    }
    snprintf(err, errlen, "input is not a Pod, a workload, a List of them or an AdmissionReview");
    return NULL;
}
