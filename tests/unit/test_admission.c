/* test_admission.c - one admission review, end to end, as the API server sees it. */
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>

#include "admission.h"
#include "arena.h"
#include "patch_json.h"
#include "testutil.h"

/* ---- JSON with single quotes ------------------------------------------- */

/*
 * Pods in this file are written with ' for " so that they stay readable;
 * an escaped quote inside a string is \' and a real apostrophe \u0027.
 */
static json_t *q(const char *text)
{
    char *copy = strdup(text);
    ck_assert_ptr_nonnull(copy);
    for (char *p = copy; *p; p++)
        if (*p == '\'')
            *p = '"';
    json_t *value = json_lit(copy);
    free(copy);
    return value;
}

#define ck_assert_json_q(actual, expected_q)                                                       \
    do {                                                                                           \
        json_t *want_q__ = q(expected_q);                                                          \
        char *want_text__ = json_dumps(want_q__, JSON_COMPACT | JSON_ENCODE_ANY);                  \
        ck_assert_json_eq((actual), want_text__);                                                  \
        free(want_text__);                                                                         \
        json_decref(want_q__);                                                                     \
    } while (0)

/* A pod in namespace default, annotations and containers given as quoted JSON (NULL: none). */
static json_t *make_pod(const char *annotations, const char *containers)
{
    char text[65536];
    int n = snprintf(text, sizeof(text),
                     "{'apiVersion': 'v1', 'kind': 'Pod', 'metadata': {'name': 'web',"
                     " 'namespace': 'default'%s%s}, 'spec': {'containers': %s}}",
                     annotations ? ", 'annotations': " : "", annotations ? annotations : "",
                     containers);
    ck_assert_int_lt(n, (int)sizeof(text));
    return q(text);
}

/* The init container goinject adds with the default configuration. */
static const char agent_init[] =
    "{'name': 'goinject-agent', 'image': 'goinject/goinject:" GOINJECT_VERSION "',"
    " 'imagePullPolicy': 'IfNotPresent', 'command': ['/usr/local/bin/goinject', 'copy-agent'],"
    " 'args': ['/opt/goinject/agent', '/goinject-agent'],"
    " 'resources': {'requests': {'cpu': '10m', 'memory': '16Mi'},"
    "               'limits': {'cpu': '500m', 'memory': '64Mi'}},"
    " 'securityContext': {'allowPrivilegeEscalation': false, 'capabilities': {'drop': ['ALL']},"
    "     'privileged': false, 'readOnlyRootFilesystem': true, 'runAsNonRoot': true,"
    "     'runAsUser': 65532, 'runAsGroup': 65532, 'seccompProfile': {'type': 'RuntimeDefault'}},"
    " 'volumeMounts': [{'name': 'goinject-agent', 'mountPath': '/goinject-agent'}]}";

static const char agent_mount[] =
    "{'name': 'goinject-agent', 'mountPath': '/goinject-agent', 'readOnly': true}";

static const char agent_volume[] = "{'name': 'goinject-agent', 'emptyDir': {}}";

static const char shell_script[] = "exec \\'$0\\' \\'$@\\'";

/* ---- reviews ------------------------------------------------------------ */

static struct goinject_config *cfg;

struct answer {
    struct review_outcome out;
    json_t *review;   /* the answer body */
    json_t *response; /* borrowed from review */
    json_t *ops;      /* the decoded patch, NULL without one */
    json_t *pod;      /* the pod that was sent */
    json_t *mutated;  /* pod with the patch applied (an equal copy without a patch) */
};

static struct answer first, second;

static void answer_free(struct answer *a)
{
    review_outcome_free(&a->out);
    json_decref(a->review);
    json_decref(a->ops);
    json_decref(a->pod);
    json_decref(a->mutated);
    memset(a, 0, sizeof(*a));
}

static void setup(void)
{
    cfg = config_new_default();
    ck_assert_ptr_nonnull(cfg);
    memset(&first, 0, sizeof(first));
    memset(&second, 0, sizeof(second));
}

static void teardown(void)
{
    answer_free(&first);
    answer_free(&second);
    config_free(cfg);
}

static void load_config(const char *text)
{
    char err[256];
    config_free(cfg);
    cfg = config_parse(text, strlen(text), err, sizeof(err));
    ck_assert_msg(cfg != NULL, "%s", err);
}

static json_t *decode_patch(const char *b64)
{
    size_t len = strlen(b64);
    ck_assert_uint_gt(len, 0);
    ck_assert_uint_eq(len % 4, 0);
    unsigned char *raw = malloc(len / 4 * 3 + 1);
    ck_assert_ptr_nonnull(raw);
    int n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)len);
    ck_assert_int_ge(n, 0);
    if (b64[len - 1] == '=')
        n--;
    if (b64[len - 2] == '=')
        n--;
    json_error_t error;
    json_t *ops =
        json_loadb((const char *)raw, (size_t)n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &error);
    ck_assert_msg(ops != NULL, "patch is not JSON: %s", error.text);
    ck_assert(json_is_array(ops));
    free(raw);
    return ops;
}

/* Reviews body; for a valid review, checks the answer's shape and applies its patch to pod. */
static void review_body(const char *body, size_t len, const json_t *pod,
                        const struct review_options *opts, struct answer *a)
{
    answer_free(a);
    admission_review(cfg, body, len, opts, &a->out);
    a->pod = pod ? json_deep_copy(pod) : NULL;
    ck_assert_ptr_nonnull(a->out.log);
    if (a->out.result == REVIEW_INVALID)
        return;
    ck_assert_int_eq(a->out.http_status, 200);
    json_error_t error;
    a->review = json_loadb(a->out.body.data, a->out.body.len, JSON_REJECT_DUPLICATES, &error);
    ck_assert_msg(a->review != NULL, "answer is not JSON: %s", error.text);
    ck_assert_str_eq(json_string_value(json_object_get(a->review, "kind")), "AdmissionReview");
    a->response = json_object_get(a->review, "response");
    ck_assert(json_is_object(a->response));
    ck_assert(json_is_true(json_object_get(a->response, "allowed")));
    const char *key;
    json_t *value;
    json_object_foreach(a->response, key, value)
    {
        ck_assert_msg(strcmp(key, "uid") == 0 || strcmp(key, "allowed") == 0 ||
                          strcmp(key, "patchType") == 0 || strcmp(key, "patch") == 0 ||
                          strcmp(key, "warnings") == 0,
                      "unexpected response member %s", key);
    }
    json_t *warnings = json_object_get(a->response, "warnings");
    if (warnings) {
        ck_assert_uint_gt(json_array_size(warnings), 0);
        size_t i;
        json_t *w;
        json_array_foreach(warnings, i, w)
        {
            const char *text = json_string_value(w);
            ck_assert_ptr_nonnull(text);
            ck_assert_int_eq(strncmp(text, "goinject: ", 10), 0);
            ck_assert_uint_le(strlen(text), 256);
            for (const char *p = text; *p; p++)
                ck_assert_msg(*p >= 0x20 && *p <= 0x7e, "not printable: %s", text);
        }
    }
    const char *patch = json_string_value(json_object_get(a->response, "patch"));
    if (patch) {
        ck_assert_int_eq(a->out.result, REVIEW_PATCHED);
        ck_assert_str_eq(json_string_value(json_object_get(a->response, "patchType")), "JSONPatch");
        a->ops = decode_patch(patch);
        ck_assert_uint_gt(json_array_size(a->ops), 0);
        char err[256] = "";
        a->mutated = patch_apply(pod, a->ops, err, sizeof(err));
        ck_assert_msg(a->mutated != NULL, "the answer's patch does not apply: %s", err);
    } else {
        ck_assert_int_ne(a->out.result, REVIEW_PATCHED);
        ck_assert_ptr_null(json_object_get(a->response, "patchType"));
        a->mutated = pod ? json_deep_copy(pod) : NULL;
    }
}

static json_t *make_review(const char *api_version, const char *operation, const char *group,
                           const char *resource, const char *sub, const char *ns, const json_t *pod)
{
    json_t *request =
        json_pack("{s:s,s:{s:s,s:s,s:s},s:{s:s,s:s,s:s},s:s}", "uid", "705ab4f5-6393-11e8", "kind",
                  "group", "", "version", "v1", "kind", "Pod", "resource", "group", group,
                  "version", "v1", "resource", resource, "operation", operation);
    if (sub)
        json_object_set_new(request, "subResource", json_string(sub));
    if (ns)
        json_object_set_new(request, "namespace", json_string(ns));
    if (pod)
        json_object_set_new(request, "object", json_deep_copy(pod));
    return json_pack("{s:s,s:s,s:o}", "apiVersion", api_version, "kind", "AdmissionReview",
                     "request", request);
}

static void review_doc(const json_t *review, const json_t *pod, const struct review_options *opts,
                       struct answer *a)
{
    char *text = json_dumps(review, JSON_COMPACT);
    ck_assert_ptr_nonnull(text);
    review_body(text, strlen(text), pod, opts, a);
    free(text);
}

/* CREATE of pod in namespace ns, with opts. */
static void review_in(const json_t *pod, const char *ns, const struct review_options *opts,
                      struct answer *a)
{
    json_t *review = make_review("admission.k8s.io/v1", "CREATE", "", "pods", NULL, ns, pod);
    review_doc(review, pod, opts, a);
    json_decref(review);
}

/* CREATE of pod in namespace default; takes the pod reference. */
static void review_pod(json_t *pod, struct answer *a)
{
    review_in(pod, "default", NULL, a);
    json_decref(pod);
}

static void expect_skipped(const struct answer *a, enum skip_reason reason)
{
    ck_assert_msg(a->out.result == REVIEW_SKIPPED, "result %s, want skipped",
                  review_result_name(a->out.result));
    ck_assert_msg(a->out.skip == reason, "skip %s, want %s", skip_reason_name(a->out.skip),
                  skip_reason_name(reason));
    ck_assert_ptr_null(a->ops);
    ck_assert_ptr_null(json_object_get(a->response, "patch"));
}

static void expect_patched(const struct answer *a)
{
    ck_assert_msg(a->out.result == REVIEW_PATCHED, "result %s (%s), want patched",
                  review_result_name(a->out.result),
                  json_string_value(json_object_get(a->out.log, "error")));
    ck_assert_ptr_nonnull(a->ops);
}

static void expect_invalid(const char *body, const char *needle)
{
    struct review_outcome out;
    admission_review(cfg, body, strlen(body), NULL, &out);
    ck_assert_msg(out.result == REVIEW_INVALID, "result %s for %s", review_result_name(out.result),
                  body);
    ck_assert_int_eq(out.http_status, 400);
    json_error_t error;
    json_t *doc = json_loadb(out.body.data, out.body.len, 0, &error);
    ck_assert_msg(doc != NULL, "error body is not JSON: %s", out.body.data);
    ck_assert_uint_eq(json_object_size(doc), 1);
    const char *message = json_string_value(json_object_get(doc, "error"));
    ck_assert_ptr_nonnull(message);
    ck_assert_msg(strstr(message, needle) != NULL, "error \"%s\" lacks \"%s\"", message, needle);
    json_decref(doc);
    review_outcome_free(&out);
}

static void expect_invalid_review(json_t *review, const char *needle)
{
    char *text = json_dumps(review, JSON_COMPACT);
    expect_invalid(text, needle);
    free(text);
    json_decref(review);
}

/* ---- looking at results ------------------------------------------------- */

static json_t *spec_of(const json_t *pod, const char *member)
{
    return json_object_get(json_object_get(pod, "spec"), member);
}

static json_t *container_of(const json_t *pod, size_t i)
{
    return json_array_get(spec_of(pod, "containers"), i);
}

static const char *annotation(const json_t *pod, const char *key)
{
    return json_string_value(
        json_object_get(json_object_get(json_object_get(pod, "metadata"), "annotations"), key));
}

/* The status annotation's per-container actions. */
static json_t *status_of(const json_t *pod)
{
    const char *text = annotation(pod, "goinject.io/status");
    ck_assert_ptr_nonnull(text);
    json_t *status = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    ck_assert_ptr_nonnull(status);
    return status;
}

static void expect_action(const json_t *pod, const char *container, const char *action)
{
    json_t *status = status_of(pod);
    const char *got =
        json_string_value(json_object_get(json_object_get(status, "containers"), container));
    ck_assert_msg(got && strcmp(got, action) == 0, "container %s: action %s, want %s", container,
                  got ? got : "(none)", action);
    json_decref(status);
}

static size_t ops_at(const json_t *ops, const char *op, const char *path)
{
    size_t n = 0, i;
    json_t *item;
    json_array_foreach(ops, i, item)
    {
        if (strcmp(json_string_value(json_object_get(item, "op")), op) == 0 &&
            strcmp(json_string_value(json_object_get(item, "path")), path) == 0)
            n++;
    }
    return n;
}

static size_t ops_under(const json_t *ops, const char *prefix)
{
    size_t n = 0, i;
    json_t *item;
    json_array_foreach(ops, i, item)
    {
        if (strncmp(json_string_value(json_object_get(item, "path")), prefix, strlen(prefix)) == 0)
            n++;
    }
    return n;
}

/* A warning that contains every needle. */
static void expect_warning(const struct answer *a, const char *const *needles)
{
    json_t *warnings = json_object_get(a->response, "warnings");
    size_t i;
    json_t *w;
    json_array_foreach(warnings, i, w)
    {
        bool all = true;
        for (const char *const *n = needles; *n && all; n++)
            all = strstr(json_string_value(w), *n) != NULL;
        if (all)
            return;
    }
    char *text = json_dumps(warnings, JSON_COMPACT);
    ck_assert_msg(0, "no warning with \"%s\"...: %s", needles[0], text ? text : "none");
    free(text);
}

static void expect_no_warnings(const struct answer *a)
{
    json_t *warnings = json_object_get(a->response, "warnings");
    char *text = warnings ? json_dumps(warnings, JSON_COMPACT) : NULL;
    ck_assert_msg(warnings == NULL, "unexpected warnings: %s", text);
    free(text);
}

/* Reviews the mutated pod again: nothing more to do. */
static void expect_idempotent(const struct answer *a)
{
    review_in(a->mutated, "default", NULL, &second);
    ck_assert_msg(second.out.result == REVIEW_UNCHANGED || second.out.result == REVIEW_SKIPPED,
                  "second review: %s", review_result_name(second.out.result));
    ck_assert_ptr_null(second.ops);
    ck_assert_ptr_null(json_object_get(second.response, "patch"));
}

/* ---- the answer's shape ------------------------------------------------- */

static const char static_go_shell[] = "{'goinject.io/static-go': 'true', 'goinject.io/shell': "
                                      "'/bin/sh'}";
static const char one_app[] = "[{'name': 'app', 'image': 'example/app:1', 'command': ['/app'],"
                              " 'args': ['--port', '8080']}]";

START_TEST(answer_echoes_v1_api_version_kind_and_uid)
{
    review_pod(make_pod(static_go_shell, one_app), &first);
    ck_assert_str_eq(json_string_value(json_object_get(first.review, "apiVersion")),
                     "admission.k8s.io/v1");
    ck_assert_str_eq(json_string_value(json_object_get(first.review, "kind")), "AdmissionReview");
    ck_assert_str_eq(json_string_value(json_object_get(first.response, "uid")),
                     "705ab4f5-6393-11e8");
    ck_assert(json_is_true(json_object_get(first.response, "allowed")));
    ck_assert_uint_eq(json_object_size(first.review), 3);
}
END_TEST

START_TEST(answer_echoes_v1beta1_api_version)
{
    json_t *pod = make_pod(static_go_shell, one_app);
    json_t *review =
        make_review("admission.k8s.io/v1beta1", "CREATE", "", "pods", NULL, "default", pod);
    review_doc(review, pod, NULL, &first);
    json_decref(review);
    json_decref(pod);
    ck_assert_str_eq(json_string_value(json_object_get(first.review, "apiVersion")),
                     "admission.k8s.io/v1beta1");
    expect_patched(&first);
}
END_TEST

START_TEST(answer_echoes_any_uid)
{
    json_t *pod = make_pod(NULL, one_app);
    json_t *review = make_review("admission.k8s.io/v1", "CREATE", "", "pods", NULL, "default", pod);
    json_object_set_new(json_object_get(review, "request"), "uid",
                        json_string("a \"strange\" uid \\ with \xc3\xa9"));
    review_doc(review, pod, NULL, &first);
    ck_assert_str_eq(json_string_value(json_object_get(first.response, "uid")),
                     "a \"strange\" uid \\ with \xc3\xa9");
    json_decref(review);
    json_decref(pod);
}
END_TEST

START_TEST(answer_has_patch_type_and_patch_only_with_a_patch)
{
    review_pod(make_pod(static_go_shell, one_app), &first);
    expect_patched(&first);
    ck_assert_str_eq(json_string_value(json_object_get(first.response, "patchType")), "JSONPatch");
    /* The same pod again: nothing to do, no patch and no patchType (checked by review_body). */
    expect_idempotent(&first);
    ck_assert_int_eq(second.out.result, REVIEW_UNCHANGED);
    ck_assert_uint_eq(json_object_size(second.response), 2);
}
END_TEST

START_TEST(answer_has_warnings_only_when_present)
{
    review_pod(make_pod(static_go_shell, one_app), &first);
    expect_no_warnings(&first);
    review_pod(make_pod("{'goinject.io/static-go': 'true', 'goinject.io/cgo': 'true'}", one_app),
               &second);
    static const char *const needles[] = {"\"app\"", "cgo", NULL};
    expect_warning(&second, needles);
    ck_assert_uint_eq(json_array_size(json_object_get(second.response, "warnings")), 1);
}
END_TEST

START_TEST(answer_patch_is_base64_json_patch_that_applies)
{
    review_pod(make_pod(static_go_shell, one_app), &first);
    expect_patched(&first);
    size_t i;
    json_t *op;
    json_array_foreach(first.ops, i, op)
    {
        const char *name = json_string_value(json_object_get(op, "op"));
        ck_assert_msg(strcmp(name, "add") == 0 || strcmp(name, "remove") == 0, "unexpected op %s",
                      name);
    }
    ck_assert_json_q(json_object_get(container_of(first.mutated, 0), "command"),
                     "['/bin/sh', '-c', 'exec \\'$0\\' \\'$@\\'', '/app']");
}
END_TEST

START_TEST(answer_counts_containers_by_action)
{
    review_pod(make_pod("{'static-go.goinject.io/app': 'true', 'goinject.io/shell': 'none',"
                        " 'inject.goinject.io/debug': 'false'}",
                        "[{'name': 'app', 'command': ['/app']}, {'name': 'side'},"
                        " {'name': 'debug'}]"),
               &first);
    expect_patched(&first);
    ck_assert_uint_eq(first.out.containers[ACTION_TINI_WRAPPER], 1);
    ck_assert_uint_eq(first.out.containers[ACTION_AGENT], 1);
    ck_assert_uint_eq(first.out.containers[ACTION_OPTED_OUT], 1);
    ck_assert_uint_eq(first.out.containers[ACTION_SHELL_WRAPPER], 0);
}
END_TEST

/* ---- invalid input ------------------------------------------------------ */

START_TEST(malformed_json_is_invalid)
{
    expect_invalid("{", "malformed JSON");
    expect_invalid("", "malformed JSON");
    expect_invalid("{\"kind\": \"AdmissionReview\",}", "line 1");
}
END_TEST

START_TEST(not_an_object_is_invalid)
{
    expect_invalid("[]", "not an AdmissionReview");
    expect_invalid("[{\"kind\": \"AdmissionReview\"}]", "not an AdmissionReview");
    expect_invalid("\"AdmissionReview\"", "");
}
END_TEST

START_TEST(wrong_kind_is_invalid)
{
    json_t *pod = make_pod(NULL, one_app);
    json_t *review = make_review("admission.k8s.io/v1", "CREATE", "", "pods", NULL, "default", pod);
    json_object_set_new(review, "kind", json_string("Pod"));
    expect_invalid_review(review, "kind");
    review = make_review("admission.k8s.io/v1", "CREATE", "", "pods", NULL, "default", pod);
    json_object_del(review, "kind");
    expect_invalid_review(review, "kind");
    json_decref(pod);
}
END_TEST

START_TEST(wrong_api_version_is_invalid)
{
    static const char *const versions[] = {"admission.k8s.io/v2", "v1", "", "admission.k8s.io"};
    json_t *pod = make_pod(NULL, one_app);
    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
        expect_invalid_review(make_review(versions[i], "CREATE", "", "pods", NULL, "default", pod),
                              "apiVersion");
    json_t *review = make_review("admission.k8s.io/v1", "CREATE", "", "pods", NULL, "default", pod);
    json_object_del(review, "apiVersion");
    expect_invalid_review(review, "apiVersion");
    json_decref(pod);
}
END_TEST

START_TEST(no_request_is_invalid)
{
    expect_invalid("{\"apiVersion\": \"admission.k8s.io/v1\", \"kind\": \"AdmissionReview\"}",
                   "request");
    expect_invalid("{\"apiVersion\": \"admission.k8s.io/v1\", \"kind\": \"AdmissionReview\","
                   " \"request\": null}",
                   "request");
    expect_invalid("{\"apiVersion\": \"admission.k8s.io/v1\", \"kind\": \"AdmissionReview\","
                   " \"request\": []}",
                   "request");
}
END_TEST

START_TEST(no_uid_is_invalid)
{
    json_t *pod = make_pod(NULL, one_app);
    json_t *review = make_review("admission.k8s.io/v1", "CREATE", "", "pods", NULL, "default", pod);
    json_object_del(json_object_get(review, "request"), "uid");
    expect_invalid_review(review, "uid");
    review = make_review("admission.k8s.io/v1", "CREATE", "", "pods", NULL, "default", pod);
    json_object_set_new(json_object_get(review, "request"), "uid", json_string(""));
    expect_invalid_review(review, "uid");
    review = make_review("admission.k8s.io/v1", "CREATE", "", "pods", NULL, "default", pod);
    json_object_set_new(json_object_get(review, "request"), "uid", json_integer(7));
    expect_invalid_review(review, "uid");
    json_decref(pod);
}
END_TEST

/* A uid the answer could not echo exactly (C strings end at NUL) is refused: 400. */
START_TEST(a_uid_with_nul_is_invalid)
{
    json_t *pod = make_pod(NULL, one_app);
    json_t *review = make_review("admission.k8s.io/v1", "CREATE", "", "pods", NULL, "default", pod);
    json_object_set_new(json_object_get(review, "request"), "uid", json_stringn("ab\0cd", 5));
    expect_invalid_review(review, "contains NUL");
    json_decref(pod);
}
END_TEST

START_TEST(invalid_answer_logs_the_error)
{
    struct review_outcome out;
    admission_review(cfg, "{", 1, NULL, &out);
    ck_assert_ptr_nonnull(json_string_value(json_object_get(out.log, "error")));
    review_outcome_free(&out);
}
END_TEST

/* ---- selection ---------------------------------------------------------- */

static const char *const other_operations[] = {"UPDATE", "DELETE", "CONNECT"};

START_TEST(other_operations_are_allowed_without_a_patch)
{
    json_t *pod = make_pod(static_go_shell, one_app);
    json_t *review =
        make_review("admission.k8s.io/v1", other_operations[_i], "", "pods", NULL, "default", pod);
    review_doc(review, pod, NULL, &first);
    expect_skipped(&first, SKIP_NOT_POD_CREATE);
    expect_no_warnings(&first);
    json_decref(review);
    json_decref(pod);
}
END_TEST

START_TEST(other_resources_are_allowed_without_a_patch)
{
    json_t *pod = make_pod(static_go_shell, one_app);
    json_t *review =
        make_review("admission.k8s.io/v1", "CREATE", "", "services", NULL, "default", pod);
    review_doc(review, pod, NULL, &first);
    expect_skipped(&first, SKIP_NOT_POD_CREATE);
    json_decref(review);
    /* "pods" of another API group is not the core Pod. */
    review =
        make_review("admission.k8s.io/v1", "CREATE", "example.com", "pods", NULL, "default", pod);
    review_doc(review, pod, NULL, &second);
    expect_skipped(&second, SKIP_NOT_POD_CREATE);
    json_decref(review);
    json_decref(pod);
}
END_TEST

START_TEST(subresources_are_allowed_without_a_patch)
{
    json_t *pod = make_pod(static_go_shell, one_app);
    json_t *review = make_review("admission.k8s.io/v1", "CREATE", "", "pods", "ephemeralcontainers",
                                 "default", pod);
    review_doc(review, pod, NULL, &first);
    expect_skipped(&first, SKIP_NOT_POD_CREATE);
    json_decref(review);
    review = make_review("admission.k8s.io/v1", "CREATE", "", "pods", "binding", "default", pod);
    review_doc(review, pod, NULL, &second);
    expect_skipped(&second, SKIP_NOT_POD_CREATE);
    json_decref(review);
    json_decref(pod);
}
END_TEST

START_TEST(missing_operation_or_resource_is_allowed_without_a_patch)
{
    json_t *pod = make_pod(static_go_shell, one_app);
    json_t *review = make_review("admission.k8s.io/v1", "CREATE", "", "pods", NULL, "default", pod);
    json_object_del(json_object_get(review, "request"), "operation");
    review_doc(review, pod, NULL, &first);
    expect_skipped(&first, SKIP_NOT_POD_CREATE);
    json_decref(review);
    review = make_review("admission.k8s.io/v1", "CREATE", "", "pods", NULL, "default", pod);
    json_object_del(json_object_get(review, "request"), "resource");
    review_doc(review, pod, NULL, &second);
    expect_skipped(&second, SKIP_NOT_POD_CREATE);
    json_decref(review);
    json_decref(pod);
}
END_TEST

static const char *const excluded_namespaces[] = {"kube-system", "kube-public", "kube-node-lease",
                                                  "goinject-system"};

START_TEST(excluded_namespace_is_skipped)
{
    json_t *pod = make_pod(static_go_shell, one_app);
    review_in(pod, excluded_namespaces[_i], NULL, &first);
    expect_skipped(&first, SKIP_NAMESPACE);
    json_decref(pod);
}
END_TEST

START_TEST(excluded_namespace_from_object_metadata_when_request_has_none)
{
    json_t *pod = make_pod(static_go_shell, one_app);
    json_object_set_new(json_object_get(pod, "metadata"), "namespace", json_string("kube-system"));
    review_in(pod, NULL, NULL, &first);
    expect_skipped(&first, SKIP_NAMESPACE);
    review_in(pod, "", NULL, &second);
    expect_skipped(&second, SKIP_NAMESPACE);
    json_decref(pod);
}
END_TEST

START_TEST(configured_excluded_namespace_is_skipped)
{
    load_config("{\"excludedNamespaces\": [\"ops\"]}");
    json_t *pod = make_pod(static_go_shell, one_app);
    review_in(pod, "ops", NULL, &first);
    expect_skipped(&first, SKIP_NAMESPACE);
    review_in(pod, "kube-system", NULL, &second);
    expect_patched(&second);
    json_decref(pod);
}
END_TEST

START_TEST(windows_pod_is_skipped)
{
    json_t *pod = make_pod(static_go_shell, one_app);
    json_object_set_new(json_object_get(pod, "spec"), "os", json_pack("{s:s}", "name", "windows"));
    review_in(pod, "default", NULL, &first);
    expect_skipped(&first, SKIP_WINDOWS);
    json_object_set_new(json_object_get(pod, "spec"), "os", json_pack("{s:s}", "name", "linux"));
    review_in(pod, "default", NULL, &second);
    expect_patched(&second);
    json_decref(pod);
}
END_TEST

START_TEST(pod_opt_out_annotation_is_skipped)
{
    review_pod(
        make_pod("{'goinject.io/inject': 'false', 'goinject.io/static-go': 'true'}", one_app),
        &first);
    expect_skipped(&first, SKIP_POD_OPT_OUT);
    expect_no_warnings(&first);
}
END_TEST

START_TEST(inject_by_default_false_skips_pods_without_the_annotation)
{
    load_config("{\"injectByDefault\": false}");
    review_pod(make_pod(static_go_shell, one_app), &first);
    expect_skipped(&first, SKIP_POD_OPT_OUT);
}
END_TEST

START_TEST(inject_by_default_false_injects_pods_with_inject_true)
{
    load_config("{\"injectByDefault\": false}");
    review_pod(make_pod("{'goinject.io/inject': 'true', 'goinject.io/static-go': 'true',"
                        " 'goinject.io/shell': '/bin/sh'}",
                        one_app),
               &first);
    expect_patched(&first);
    expect_action(first.mutated, "app", "shell-wrapper");
}
END_TEST

START_TEST(malformed_inject_annotation_warns_and_uses_the_default)
{
    review_pod(make_pod("{'goinject.io/inject': 'no'}", one_app), &first);
    expect_patched(&first);
    static const char *const needles[] = {"goinject.io/inject", "no", NULL};
    expect_warning(&first, needles);
}
END_TEST

START_TEST(per_container_opt_out_leaves_that_container_untouched)
{
    json_t *pod = make_pod("{'goinject.io/static-go': 'true', 'goinject.io/shell': '/bin/sh',"
                           " 'inject.goinject.io/debug': 'false'}",
                           "[{'name': 'app', 'command': ['/app']},"
                           " {'name': 'debug', 'command': ['/dlv'], 'args': ['x']}]");
    review_in(pod, "default", NULL, &first);
    expect_patched(&first);
    ck_assert_uint_eq(ops_under(first.ops, "/spec/containers/1"), 0);
    ck_assert(json_equal(container_of(first.mutated, 1), container_of(pod, 1)));
    ck_assert_uint_gt(ops_under(first.ops, "/spec/containers/0/"), 0);
    expect_action(first.mutated, "app", "shell-wrapper");
    expect_action(first.mutated, "debug", "opted-out");
    json_decref(pod);
}
END_TEST

/* ---- the rules, end to end ---------------------------------------------- */

static void expect_status(const json_t *pod, const char *mode, const char *containers_q)
{
    json_t *status = status_of(pod);
    ck_assert_str_eq(json_string_value(json_object_get(status, "version")), GOINJECT_VERSION);
    ck_assert_str_eq(json_string_value(json_object_get(status, "mode")), mode);
    ck_assert_json_q(json_object_get(status, "containers"), containers_q);
    json_decref(status);
}

static void expect_agent_init_and_volume(const json_t *pod)
{
    ck_assert_uint_ge(json_array_size(spec_of(pod, "initContainers")), 1);
    json_t *inits = spec_of(pod, "initContainers");
    ck_assert_json_q(json_array_get(inits, json_array_size(inits) - 1), agent_init);
    json_t *volumes = spec_of(pod, "volumes");
    size_t agent_volumes = 0, i;
    json_t *v;
    json_array_foreach(volumes, i, v)
    {
        if (strcmp(json_string_value(json_object_get(v, "name")), "goinject-agent") == 0) {
            ck_assert_json_q(v, agent_volume);
            agent_volumes++;
        }
    }
    ck_assert_uint_eq(agent_volumes, 1);
}

static void expect_no_agent(const json_t *pod)
{
    ck_assert_ptr_null(spec_of(pod, "initContainers"));
    ck_assert_ptr_null(spec_of(pod, "volumes"));
}

static const char ptrace_only[] = "{'capabilities': {'add': ['SYS_PTRACE']}}";

/* printf into one of a few rotating buffers, for building quoted JSON. */
static const char *qf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *qf(const char *fmt, ...)
{
    static char buffers[4][16384];
    static unsigned next;
    char *out = buffers[next++ % 4];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, sizeof(buffers[0]), fmt, ap);
    va_end(ap);
    ck_assert_int_lt(n, (int)sizeof(buffers[0]));
    return out;
}

START_TEST(cloud_native_not_static_go_gets_agent_mount_init_container_and_volume)
{
    review_pod(make_pod(NULL, "[{'name': 'app', 'image': 'nginx'}]"), &first);
    expect_patched(&first);
    expect_no_warnings(&first);
    ck_assert_json_q(container_of(first.mutated, 0),
                     qf("{'name': 'app', 'image': 'nginx', 'volumeMounts': [%s]}", agent_mount));
    ck_assert_json_q(spec_of(first.mutated, "initContainers"), qf("[%s]", agent_init));
    ck_assert_json_q(spec_of(first.mutated, "volumes"), qf("[%s]", agent_volume));
    expect_status(first.mutated, "cloud-native", "{'app': 'agent'}");
    ck_assert_str_eq(annotation(first.mutated, "goinject.io/injected"), "true");
    ck_assert_str_eq(annotation(first.mutated, "goinject.io/reason"), "app: agent");
}
END_TEST

START_TEST(cloud_native_static_go_shell_known_gets_shell_wrapper_ptrace_and_agent)
{
    review_pod(make_pod(static_go_shell, one_app), &first);
    expect_patched(&first);
    expect_no_warnings(&first);
    ck_assert_json_q(container_of(first.mutated, 0),
                     qf("{'name': 'app', 'image': 'example/app:1',"
                        " 'command': ['/bin/sh', '-c', '%s', '/app'], 'args': ['--port', '8080'],"
                        " 'securityContext': %s, 'volumeMounts': [%s]}",
                        shell_script, ptrace_only, agent_mount));
    ck_assert_uint_eq(ops_at(first.ops, "add", "/spec/containers/0/command"), 1);
    ck_assert_uint_eq(ops_at(first.ops, "add", "/spec/containers/0/args"), 1);
    expect_agent_init_and_volume(first.mutated);
    expect_status(first.mutated, "cloud-native", "{'app': 'shell-wrapper'}");
    ck_assert_str_eq(annotation(first.mutated, "goinject.io/injected"), "true");
}
END_TEST

START_TEST(cloud_native_static_go_shell_none_gets_glibc_tini_wrapper)
{
    review_pod(make_pod("{'goinject.io/static-go': 'true', 'goinject.io/shell': 'none'}", one_app),
               &first);
    expect_patched(&first);
    ck_assert_json_q(container_of(first.mutated, 0),
                     qf("{'name': 'app', 'image': 'example/app:1',"
                        " 'command': ['/goinject-agent/tini/glibc/tini', '--', '/app'],"
                        " 'args': ['--port', '8080'], 'securityContext': %s, 'volumeMounts': [%s]}",
                        ptrace_only, agent_mount));
    expect_agent_init_and_volume(first.mutated);
    expect_status(first.mutated, "cloud-native", "{'app': 'tini-wrapper'}");
}
END_TEST

START_TEST(cloud_native_static_go_shell_none_musl_gets_musl_tini_wrapper)
{
    review_pod(make_pod("{'goinject.io/static-go': 'true', 'shell.goinject.io/app': 'none',"
                        " 'libc.goinject.io/app': 'musl'}",
                        one_app),
               &first);
    expect_patched(&first);
    ck_assert_json_q(json_object_get(container_of(first.mutated, 0), "command"),
                     "['/goinject-agent/tini/musl/tini', '--', '/app']");
    ck_assert_json_q(json_object_get(container_of(first.mutated, 0), "args"), "['--port', '8080']");
}
END_TEST

START_TEST(cloud_native_static_go_shell_unknown_gets_tini_wrapper)
{
    review_pod(make_pod("{'goinject.io/static-go': 'true'}", one_app), &first);
    expect_patched(&first);
    ck_assert_json_q(json_object_get(container_of(first.mutated, 0), "command"),
                     "['/goinject-agent/tini/glibc/tini', '--', '/app']");
    expect_status(first.mutated, "cloud-native", "{'app': 'tini-wrapper'}");
}
END_TEST

START_TEST(cloud_native_wrapper_from_image_entrypoint_and_cmd_sets_command_and_args)
{
    review_pod(make_pod("{'static-go.goinject.io/app': 'true', 'shell.goinject.io/app': '/bin/sh',"
                        " 'entrypoint.goinject.io/app': '[\\'/ko-app/server\\']',"
                        " 'cmd.goinject.io/app': '[\\'--v=2\\', \\'$(POD_NAME)\\']'}",
                        "[{'name': 'app', 'image': 'ko.local/server'}]"),
               &first);
    expect_patched(&first);
    json_t *c = container_of(first.mutated, 0);
    ck_assert_json_q(json_object_get(c, "command"),
                     qf("['/bin/sh', '-c', '%s', '/ko-app/server']", shell_script));
    /* The image's CMD was never expanded by the kubelet; in args it would be, so '$' is doubled. */
    ck_assert_json_q(json_object_get(c, "args"), "['--v=2', '$$(POD_NAME)']");
}
END_TEST

START_TEST(cloud_native_static_go_e_unknown_warns_and_keeps_the_entrypoint)
{
    review_pod(make_pod("{'goinject.io/static-go': 'true', 'goinject.io/shell': '/bin/sh'}",
                        "[{'name': 'app', 'image': 'example/app:1'}]"),
               &first);
    expect_patched(&first);
    static const char *const needles[] = {"\"app\"", "ENTRYPOINT unknown",
                                          "entrypoint.goinject.io/app", NULL};
    expect_warning(&first, needles);
    ck_assert_json_q(container_of(first.mutated, 0),
                     qf("{'name': 'app', 'image': 'example/app:1', 'securityContext': %s,"
                        " 'volumeMounts': [%s]}",
                        ptrace_only, agent_mount));
    expect_status(first.mutated, "cloud-native", "{'app': 'ptrace+agent'}");
}
END_TEST

START_TEST(cloud_native_static_go_under_a_shell_gets_ptrace_and_agent_only)
{
    review_pod(make_pod(static_go_shell,
                        "[{'name': 'app', 'command': ['/bin/sh', '-c', '/app --serve']}]"),
               &first);
    expect_patched(&first);
    ck_assert_json_q(container_of(first.mutated, 0),
                     qf("{'name': 'app', 'command': ['/bin/sh', '-c', '/app --serve'],"
                        " 'securityContext': %s, 'volumeMounts': [%s]}",
                        ptrace_only, agent_mount));
    expect_status(first.mutated, "cloud-native", "{'app': 'ptrace+agent'}");
}
END_TEST

START_TEST(cloud_native_unsupported_gets_a_warning_and_nothing_else)
{
    review_pod(make_pod("{'goinject.io/static-go': 'true', 'goinject.io/libc': 'none'}", one_app),
               &first);
    expect_patched(&first);
    static const char *const needles[] = {"\"app\"", "libc none", NULL};
    expect_warning(&first, needles);
    ck_assert_uint_eq(ops_under(first.ops, "/spec"), 0);
    expect_no_agent(first.mutated);
    expect_status(first.mutated, "cloud-native", "{'app': 'unsupported'}");
    ck_assert_str_eq(annotation(first.mutated, "goinject.io/injected"), "false");
    ck_assert_str_eq(annotation(first.mutated, "goinject.io/reason"), "app: unsupported");
}
END_TEST

START_TEST(args_removed_when_e_has_one_element_and_the_pod_had_args)
{
    review_pod(make_pod("{'goinject.io/static-go': 'true', 'goinject.io/shell': 'none'}",
                        "[{'name': 'app', 'command': ['/app'], 'args': []}]"),
               &first);
    expect_patched(&first);
    ck_assert_uint_eq(ops_at(first.ops, "remove", "/spec/containers/0/args"), 1);
    json_t *c = container_of(first.mutated, 0);
    ck_assert_ptr_null(json_object_get(c, "args"));
    ck_assert_json_q(json_object_get(c, "command"),
                     "['/goinject-agent/tini/glibc/tini', '--', '/app']");
}
END_TEST

START_TEST(null_args_removed_when_e_has_one_element)
{
    review_pod(make_pod(static_go_shell, "[{'name': 'app', 'command': ['/app'], 'args': null}]"),
               &first);
    expect_patched(&first);
    ck_assert_uint_eq(ops_at(first.ops, "remove", "/spec/containers/0/args"), 1);
    ck_assert_ptr_null(json_object_get(container_of(first.mutated, 0), "args"));
}
END_TEST

START_TEST(no_args_op_when_e_has_one_element_and_the_pod_had_none)
{
    review_pod(make_pod(static_go_shell, "[{'name': 'app', 'command': ['/app']}]"), &first);
    expect_patched(&first);
    ck_assert_uint_eq(ops_under(first.ops, "/spec/containers/0/args"), 0);
    ck_assert_ptr_null(json_object_get(container_of(first.mutated, 0), "args"));
}
END_TEST

START_TEST(wrapper_keeps_hostile_arguments_byte_for_byte)
{
    json_t *pod = make_pod(static_go_shell, "[{'name': 'app', 'command': ['/my app', 'it\\u0027s'],"
                                            " 'args': ['$(HOME)', '$$(HOME)', '`id`', 'a\\nb', '',"
                                            " 'nul\\u0000byte', 'caf\\u00e9', '\\\\\\'']}]");
    review_in(pod, "default", NULL, &first);
    expect_patched(&first);
    json_t *c = container_of(first.mutated, 0);
    json_t *want_args = json_deep_copy(json_object_get(container_of(pod, 0), "args"));
    json_array_insert_new(want_args, 0, json_string("it's"));
    ck_assert(json_equal(json_object_get(c, "args"), want_args));
    json_t *nul = json_array_get(json_object_get(c, "args"), 6);
    ck_assert_uint_eq(json_string_length(nul), 8);
    ck_assert(memcmp(json_string_value(nul), "nul\0byte", 8) == 0);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(c, "command"), 3)),
                     "/my app");
    json_decref(want_args);
    json_decref(pod);
}
END_TEST

START_TEST(classic_static_go_gets_only_sys_ptrace)
{
    cfg->mode = MODE_CLASSIC;
    review_pod(make_pod(static_go_shell, one_app), &first);
    expect_patched(&first);
    expect_no_warnings(&first);
    ck_assert_json_q(container_of(first.mutated, 0),
                     qf("{'name': 'app', 'image': 'example/app:1', 'command': ['/app'],"
                        " 'args': ['--port', '8080'], 'securityContext': %s}",
                        ptrace_only));
    expect_no_agent(first.mutated);
    expect_status(first.mutated, "classic", "{'app': 'ptrace'}");
    ck_assert_str_eq(annotation(first.mutated, "goinject.io/injected"), "true");
}
END_TEST

START_TEST(classic_not_static_go_gets_only_status_annotations)
{
    cfg->mode = MODE_CLASSIC;
    review_pod(make_pod(NULL, one_app), &first);
    expect_patched(&first);
    ck_assert_uint_eq(ops_under(first.ops, "/spec"), 0);
    ck_assert_uint_eq(ops_under(first.ops, "/metadata/annotations"), json_array_size(first.ops));
    expect_status(first.mutated, "classic", "{'app': 'none'}");
    ck_assert_str_eq(annotation(first.mutated, "goinject.io/injected"), "false");
    ck_assert_str_eq(annotation(first.mutated, "goinject.io/reason"), "app: none");
}
END_TEST

START_TEST(classic_mode_never_adds_an_init_container)
{
    cfg->mode = MODE_CLASSIC;
    review_pod(make_pod("{'static-go.goinject.io/a': 'true', 'static-go.goinject.io/b': 'true',"
                        " 'shell.goinject.io/b': 'none', 'goinject.io/libc': 'musl'}",
                        "[{'name': 'a', 'command': ['/a']}, {'name': 'b'},"
                        " {'name': 'c', 'command': ['/c']}]"),
               &first);
    expect_patched(&first);
    expect_no_agent(first.mutated);
    ck_assert_uint_eq(ops_under(first.ops, "/spec/initContainers"), 0);
    ck_assert_uint_eq(ops_under(first.ops, "/spec/volumes"), 0);
    ck_assert_uint_eq(ops_under(first.ops, "/spec/containers/0/volumeMounts"), 0);
    expect_status(first.mutated, "classic", "{'a': 'ptrace', 'b': 'ptrace', 'c': 'none'}");
}
END_TEST

/* ---- SYS_PTRACE --------------------------------------------------------- */

START_TEST(ptrace_creates_the_security_context_with_one_add)
{
    review_pod(make_pod(static_go_shell, one_app), &first);
    expect_patched(&first);
    ck_assert_uint_eq(ops_under(first.ops, "/spec/containers/0/securityContext"), 1);
    ck_assert_uint_eq(ops_at(first.ops, "add", "/spec/containers/0/securityContext"), 1);
}
END_TEST

START_TEST(ptrace_creates_capabilities_in_an_existing_security_context)
{
    review_pod(make_pod(static_go_shell, "[{'name': 'app', 'command': ['/app'],"
                                         " 'securityContext': {'runAsUser': 1000}}]"),
               &first);
    expect_patched(&first);
    ck_assert_uint_eq(ops_under(first.ops, "/spec/containers/0/securityContext"), 1);
    ck_assert_json_q(json_object_get(container_of(first.mutated, 0), "securityContext"),
                     "{'runAsUser': 1000, 'capabilities': {'add': ['SYS_PTRACE']}}");
}
END_TEST

START_TEST(ptrace_is_appended_to_an_existing_add_list)
{
    review_pod(make_pod(static_go_shell,
                        "[{'name': 'app', 'command': ['/app'], 'securityContext': {'capabilities':"
                        " {'add': ['NET_ADMIN'], 'drop': ['NET_RAW']}}}]"),
               &first);
    expect_patched(&first);
    ck_assert_uint_eq(
        ops_at(first.ops, "add", "/spec/containers/0/securityContext/capabilities/add/-"), 1);
    ck_assert_json_q(json_object_get(container_of(first.mutated, 0), "securityContext"),
                     "{'capabilities': {'add': ['NET_ADMIN', 'SYS_PTRACE'], 'drop': ['NET_RAW']}}");
}
END_TEST

static const char *const ptrace_granted[] = {"SYS_PTRACE", "ALL"};

START_TEST(ptrace_is_never_duplicated_when_already_granted)
{
    json_t *pod = make_pod(static_go_shell, "[{'name': 'app', 'command': ['/app']}]");
    json_object_set_new(
        container_of(pod, 0), "securityContext",
        json_pack("{s:{s:[ss]}}", "capabilities", "add", "CHOWN", ptrace_granted[_i]));
    review_in(pod, "default", NULL, &first);
    expect_patched(&first);
    ck_assert_uint_eq(ops_under(first.ops, "/spec/containers/0/securityContext"), 0);
    ck_assert(json_equal(json_object_get(container_of(first.mutated, 0), "securityContext"),
                         json_object_get(container_of(pod, 0), "securityContext")));
    expect_action(first.mutated, "app", "shell-wrapper");
    json_decref(pod);
}
END_TEST

/* Kubernetes names carry no CAP_ prefix: the runtime ignores CAP_SYS_PTRACE. */
START_TEST(ptrace_cap_prefixed_name_gets_sys_ptrace_beside_it_with_a_warning)
{
    review_pod(make_pod(static_go_shell, "[{'name': 'app', 'command': ['/app'], "
                                         "'securityContext': {'capabilities': {'add': "
                                         "['CAP_SYS_PTRACE']}}}]"),
               &first);
    expect_patched(&first);
    static const char *const needles[] = {"\"app\"", "CAP_SYS_PTRACE", "drop the prefix",
                                          "SYS_PTRACE was added", NULL};
    expect_warning(&first, needles);
    ck_assert_json_q(json_object_get(container_of(first.mutated, 0), "securityContext"),
                     "{'capabilities': {'add': ['CAP_SYS_PTRACE', 'SYS_PTRACE']}}");
}
END_TEST

START_TEST(ptrace_cap_all_is_not_all)
{
    review_pod(make_pod(static_go_shell, "[{'name': 'app', 'command': ['/app'], "
                                         "'securityContext': {'capabilities': {'add': "
                                         "['CAP_ALL']}}}]"),
               &first);
    expect_patched(&first);
    static const char *const needles[] = {"\"app\"", "CAP_ALL", "drop the prefix", NULL};
    expect_warning(&first, needles);
    ck_assert_json_q(json_object_get(container_of(first.mutated, 0), "securityContext"),
                     "{'capabilities': {'add': ['CAP_ALL', 'SYS_PTRACE']}}");
}
END_TEST

START_TEST(ptrace_cap_prefix_beside_sys_ptrace_warns_and_adds_nothing)
{
    review_pod(make_pod(static_go_shell, "[{'name': 'app', 'command': ['/app'], "
                                         "'securityContext': {'capabilities': {'add': "
                                         "['CAP_NET_ADMIN', 'SYS_PTRACE']}}}]"),
               &first);
    expect_patched(&first);
    static const char *const needles[] = {"\"app\"", "CAP_NET_ADMIN", "drop the prefix", NULL};
    expect_warning(&first, needles);
    ck_assert_uint_eq(ops_under(first.ops, "/spec/containers/0/securityContext"), 0);
}
END_TEST

/* A drop of CAP_SYS_PTRACE means nothing to the runtime: SYS_PTRACE is not removed. */
START_TEST(ptrace_cap_prefixed_drop_gives_no_drop_warning)
{
    review_pod(make_pod(static_go_shell, "[{'name': 'app', 'command': ['/app'], "
                                         "'securityContext': {'capabilities': {'drop': "
                                         "['CAP_SYS_PTRACE']}}}]"),
               &first);
    expect_patched(&first);
    expect_no_warnings(&first);
}
END_TEST

START_TEST(ptrace_is_not_added_to_privileged_containers)
{
    review_pod(make_pod(static_go_shell, "[{'name': 'app', 'command': ['/app'],"
                                         " 'securityContext': {'privileged': true}}]"),
               &first);
    expect_patched(&first);
    ck_assert_uint_eq(ops_under(first.ops, "/spec/containers/0/securityContext"), 0);
    ck_assert_json_q(json_object_get(container_of(first.mutated, 0), "securityContext"),
                     "{'privileged': true}");
    expect_action(first.mutated, "app", "shell-wrapper");
}
END_TEST

START_TEST(ptrace_in_capabilities_drop_gives_a_warning)
{
    review_pod(make_pod(static_go_shell, "[{'name': 'app', 'command': ['/app'],"
                                         " 'securityContext': {'capabilities': {'drop': "
                                         "['SYS_PTRACE']}}}]"),
               &first);
    expect_patched(&first);
    static const char *const needles[] = {"\"app\"", "drop", "SYS_PTRACE", NULL};
    expect_warning(&first, needles);
    ck_assert_json_q(json_object_get(container_of(first.mutated, 0), "securityContext"),
                     "{'capabilities': {'drop': ['SYS_PTRACE'], 'add': ['SYS_PTRACE']}}");
}
END_TEST

/* ---- SYS_PTRACE for a non-root user --------------------------------------- */

/* A pod of one static Go container "app" with the given securityContexts (NULL: none). */
static json_t *nonroot_pod(const char *pod_context, const char *container_context)
{
    json_t *pod = make_pod(static_go_shell, "[{'name': 'app', 'image': 'example/app:1',"
                                            " 'command': ['/app']}]");
    if (pod_context)
        json_object_set_new(json_object_get(pod, "spec"), "securityContext", q(pod_context));
    if (container_context)
        json_object_set_new(container_of(pod, 0), "securityContext", q(container_context));
    return pod;
}

/* The status annotation's ptraceIneffective member, as quoted JSON; NULL: absent. */
static void expect_ineffective(const json_t *pod, const char *members_q)
{
    json_t *status = status_of(pod);
    const json_t *member = json_object_get(status, "ptraceIneffective");
    if (members_q)
        ck_assert_json_q(member, members_q);
    else
        ck_assert_ptr_null(member);
    json_decref(status);
}

static void expect_nonroot_warning(const char *why)
{
    const char *const needles[] = {"\"app\"", "non-root", why, "SYS_PTRACE", "as root", NULL};
    expect_warning(&first, needles);
}

START_TEST(nonroot_run_as_user_warns_and_keeps_sys_ptrace)
{
    json_t *pod = nonroot_pod(NULL, "{'runAsUser': 1000}");
    review_pod(pod, &first);
    expect_patched(&first);
    expect_nonroot_warning("runAsUser 1000");
    ck_assert_json_q(json_object_get(container_of(first.mutated, 0), "securityContext"),
                     "{'runAsUser': 1000, 'capabilities': {'add': ['SYS_PTRACE']}}");
    expect_ineffective(first.mutated, "{'app': 'runAsUser'}");
}
END_TEST

START_TEST(nonroot_privileged_container_gets_no_warning)
{
    review_pod(nonroot_pod(NULL, "{'runAsUser': 1000, 'privileged': true}"), &first);
    expect_patched(&first);
    expect_no_warnings(&first);
    expect_ineffective(first.mutated, NULL);
}
END_TEST

START_TEST(nonroot_run_as_user_0_gets_no_warning)
{
    review_pod(nonroot_pod("{'runAsUser': 1000}", "{'runAsUser': 0}"), &first);
    expect_patched(&first);
    expect_no_warnings(&first);
    expect_ineffective(first.mutated, NULL);
}
END_TEST

START_TEST(nonroot_pod_run_as_user_applies_to_the_container)
{
    review_pod(nonroot_pod("{'runAsUser': 65532}", NULL), &first);
    expect_patched(&first);
    expect_nonroot_warning("runAsUser 65532");
    expect_ineffective(first.mutated, "{'app': 'runAsUser'}");
}
END_TEST

START_TEST(nonroot_pod_run_as_non_root_warns)
{
    review_pod(nonroot_pod("{'runAsNonRoot': true}", NULL), &first);
    expect_patched(&first);
    expect_nonroot_warning("runAsNonRoot");
    expect_ineffective(first.mutated, "{'app': 'runAsNonRoot'}");
}
END_TEST

START_TEST(nonroot_container_run_as_non_root_false_overrides_the_pod)
{
    review_pod(nonroot_pod("{'runAsNonRoot': true}", "{'runAsNonRoot': false}"), &first);
    expect_patched(&first);
    expect_no_warnings(&first);
}
END_TEST

/* runAsUser 0 with runAsNonRoot true: the kubelet refuses to start it; the UID decides here. */
START_TEST(nonroot_container_run_as_user_0_overrides_pod_run_as_non_root)
{
    review_pod(nonroot_pod("{'runAsNonRoot': true}", "{'runAsUser': 0}"), &first);
    expect_patched(&first);
    expect_no_warnings(&first);
    expect_ineffective(first.mutated, NULL);
}
END_TEST

static const char user_catalog[] =
    "{\"catalog\": [{\"match\": {\"image\": \"example/app:1\"}, \"facts\": {\"user\": "
    "\"65532\"}}]}";

START_TEST(nonroot_image_user_from_the_catalog_warns)
{
    load_config(user_catalog);
    review_pod(nonroot_pod(NULL, NULL), &first);
    expect_patched(&first);
    expect_nonroot_warning("image USER 65532");
    expect_ineffective(first.mutated, "{'app': 'image-user'}");
}
END_TEST

START_TEST(nonroot_pod_run_as_user_0_overrides_the_image_user)
{
    load_config(user_catalog);
    review_pod(nonroot_pod("{'runAsUser': 0}", NULL), &first);
    expect_patched(&first);
    expect_no_warnings(&first);
    expect_ineffective(first.mutated, NULL);
}
END_TEST

/* A later pass that writes the status again keeps what an earlier one recorded. */
START_TEST(nonroot_entries_survive_a_reinvocation)
{
    review_pod(nonroot_pod(NULL, "{'runAsUser': 1000}"), &first);
    expect_patched(&first);
    json_t *pod = json_deep_copy(first.mutated);
    json_array_append_new(spec_of(pod, "containers"),
                          q("{'name': 'late', 'command': ['/late'], 'securityContext':"
                            " {'runAsNonRoot': true}}"));
    review_in(pod, "default", NULL, &second);
    expect_patched(&second);
    expect_ineffective(second.mutated, "{'app': 'runAsUser', 'late': 'runAsNonRoot'}");
    json_decref(pod);
}
END_TEST

START_TEST(nonroot_root_pod_has_no_ptrace_ineffective_member)
{
    review_pod(nonroot_pod(NULL, NULL), &first);
    expect_patched(&first);
    expect_no_warnings(&first);
    expect_ineffective(first.mutated, NULL);
}
END_TEST

START_TEST(ptrace_replaces_a_null_security_context)
{
    review_pod(make_pod(static_go_shell,
                        "[{'name': 'app', 'command': ['/app'], 'securityContext': null}]"),
               &first);
    expect_patched(&first);
    ck_assert_json_q(json_object_get(container_of(first.mutated, 0), "securityContext"),
                     ptrace_only);
}
END_TEST

START_TEST(ptrace_in_a_wrong_typed_security_context_fails_open)
{
    review_pod(make_pod(static_go_shell,
                        "[{'name': 'app', 'command': ['/app'], 'securityContext': 'root'}]"),
               &first);
    ck_assert_int_eq(first.out.result, REVIEW_FAILED_OPEN);
    ck_assert_ptr_null(first.ops);
    static const char *const needles[] = {"pod admitted unchanged", "container 0", NULL};
    expect_warning(&first, needles);
}
END_TEST

/* ---- the agent mount and env -------------------------------------------- */

START_TEST(agent_mount_is_read_only_and_appended)
{
    review_pod(make_pod(NULL, "[{'name': 'app', 'volumeMounts': [{'name': 'data', 'mountPath':"
                              " '/data'}]}]"),
               &first);
    expect_patched(&first);
    ck_assert_uint_eq(ops_at(first.ops, "add", "/spec/containers/0/volumeMounts/-"), 1);
    ck_assert_json_q(json_object_get(container_of(first.mutated, 0), "volumeMounts"),
                     qf("[{'name': 'data', 'mountPath': '/data'}, %s]", agent_mount));
    json_t *mount =
        json_array_get(json_object_get(container_of(first.mutated, 0), "volumeMounts"), 1);
    ck_assert(json_is_true(json_object_get(mount, "readOnly")));
}
END_TEST

static const char agent_env_config[] =
    "{\"agent\": {\"env\": [{\"name\": \"APM_TENANT\", \"value\": \"t1\"},"
    " {\"name\": \"APM_TOKEN\", \"valueFrom\": {\"secretKeyRef\": {\"name\": \"apm\","
    " \"key\": \"token\"}}}]}}";

START_TEST(agent_env_is_added_with_one_add)
{
    load_config(agent_env_config);
    review_pod(make_pod(NULL, "[{'name': 'app'}]"), &first);
    expect_patched(&first);
    ck_assert_uint_eq(ops_under(first.ops, "/spec/containers/0/env"), 1);
    ck_assert_json_q(json_object_get(container_of(first.mutated, 0), "env"),
                     "[{'name': 'APM_TENANT', 'value': 't1'}, {'name': 'APM_TOKEN',"
                     " 'valueFrom': {'secretKeyRef': {'name': 'apm', 'key': 'token'}}}]");
    expect_no_warnings(&first);
}
END_TEST

START_TEST(agent_env_a_user_variable_of_the_same_name_wins_with_a_warning)
{
    load_config(agent_env_config);
    review_pod(
        make_pod(NULL, "[{'name': 'app', 'env': [{'name': 'APM_TENANT', 'value': 'mine'}]}]"),
        &first);
    expect_patched(&first);
    ck_assert_uint_eq(ops_at(first.ops, "add", "/spec/containers/0/env/-"), 1);
    ck_assert_json_q(json_object_get(container_of(first.mutated, 0), "env"),
                     "[{'name': 'APM_TENANT', 'value': 'mine'}, {'name': 'APM_TOKEN',"
                     " 'valueFrom': {'secretKeyRef': {'name': 'apm', 'key': 'token'}}}]");
    static const char *const needles[] = {"\"app\"", "APM_TENANT", "Merge the values", NULL};
    expect_warning(&first, needles);
}
END_TEST

START_TEST(agent_env_is_not_added_in_classic_mode)
{
    load_config(agent_env_config);
    cfg->mode = MODE_CLASSIC;
    review_pod(make_pod(static_go_shell, one_app), &first);
    expect_patched(&first);
    ck_assert_ptr_null(json_object_get(container_of(first.mutated, 0), "env"));
}
END_TEST

/* ---- agent env by libc ----------------------------------------------------- */

static const char libc_env_config[] =
    "{\"agent\": {\"env\": {\"any\": [{\"name\": \"APM_TENANT\", \"value\": \"t1\"}],"
    " \"glibc\": [{\"name\": \"LD_PRELOAD\", \"value\": \"/goinject-agent/glibc/agent.so\"}],"
    " \"musl\": [{\"name\": \"LD_PRELOAD\", \"value\": \"/goinject-agent/musl/agent.so\"},"
    "            {\"name\": \"APM_MUSL\", \"value\": \"1\"}]}}}";

static const char tenant_env[] = "{'name': 'APM_TENANT', 'value': 't1'}";
static const char glibc_env[] = "{'name': 'LD_PRELOAD', 'value': '/goinject-agent/glibc/agent.so'}";
static const char musl_env[] = "{'name': 'LD_PRELOAD', 'value': '/goinject-agent/musl/agent.so'},"
                               " {'name': 'APM_MUSL', 'value': '1'}";

/* The status annotation's agentEnv member, as quoted JSON; NULL: absent. */
static void expect_agent_env_status(const json_t *pod, const char *members_q)
{
    json_t *status = status_of(pod);
    const json_t *member = json_object_get(status, "agentEnv");
    if (members_q)
        ck_assert_json_q(member, members_q);
    else
        ck_assert_ptr_null(member);
    json_decref(status);
}

static void expect_env(const json_t *pod, size_t container, const char *env_q)
{
    ck_assert_json_q(json_object_get(container_of(pod, container), "env"), env_q);
}

START_TEST(agent_env_glibc_container_gets_any_and_glibc)
{
    load_config(libc_env_config);
    review_pod(make_pod("{'libc.goinject.io/app': 'glibc'}", "[{'name': 'app'}]"), &first);
    expect_patched(&first);
    ck_assert_uint_eq(ops_under(first.ops, "/spec/containers/0/env"), 1);
    expect_env(first.mutated, 0, qf("[%s, %s]", tenant_env, glibc_env));
    expect_no_warnings(&first);
    expect_agent_env_status(first.mutated, "{'app': 'glibc'}");
    expect_idempotent(&first);
}
END_TEST

START_TEST(agent_env_musl_container_gets_any_and_musl)
{
    load_config(libc_env_config);
    review_pod(make_pod("{'goinject.io/libc': 'musl'}", "[{'name': 'app'}]"), &first);
    expect_patched(&first);
    expect_env(first.mutated, 0, qf("[%s, %s]", tenant_env, musl_env));
    expect_no_warnings(&first);
    expect_agent_env_status(first.mutated, "{'app': 'musl'}");
}
END_TEST

START_TEST(agent_env_unknown_libc_gets_only_any_and_a_warning)
{
    load_config(libc_env_config);
    review_pod(make_pod(NULL, "[{'name': 'app'}]"), &first);
    expect_patched(&first);
    expect_env(first.mutated, 0, qf("[%s]", tenant_env));
    static const char *const needles[] = {
        "container \"app\": libc unknown, so only agent.env.any was set; annotate "
        "libc.goinject.io/app with glibc or musl",
        NULL};
    expect_warning(&first, needles);
    ck_assert_uint_eq(json_array_size(json_object_get(first.response, "warnings")), 1);
    expect_agent_env_status(first.mutated, "{'app': 'unknown'}");
}
END_TEST

START_TEST(agent_env_libc_none_gets_only_any_without_a_warning)
{
    load_config(libc_env_config);
    review_pod(make_pod("{'libc.goinject.io/app': 'none'}", "[{'name': 'app'}]"), &first);
    expect_patched(&first);
    expect_env(first.mutated, 0, qf("[%s]", tenant_env));
    expect_no_warnings(&first);
    expect_agent_env_status(first.mutated, "{'app': 'none'}");
}
END_TEST

/* Nothing a user wrote is lost: their variable stays, whichever set the agent's came from. */
START_TEST(agent_env_user_variables_win_over_any_and_libc_sets)
{
    load_config(libc_env_config);
    review_pod(make_pod("{'libc.goinject.io/app': 'musl', 'libc.goinject.io/web': 'glibc'}",
                        "[{'name': 'app', 'env': [{'name': 'LD_PRELOAD', 'value': '/mine.so'}]},"
                        " {'name': 'web', 'env': [{'name': 'APM_TENANT', 'value': 'mine'}]}]"),
               &first);
    expect_patched(&first);
    expect_env(first.mutated, 0,
               qf("[{'name': 'LD_PRELOAD', 'value': '/mine.so'}, %s, {'name': 'APM_MUSL',"
                  " 'value': '1'}]",
                  tenant_env));
    expect_env(first.mutated, 1, qf("[{'name': 'APM_TENANT', 'value': 'mine'}, %s]", glibc_env));
    static const char *const preload[] = {"\"app\"", "env LD_PRELOAD is already set",
                                          "Merge the values", NULL};
    static const char *const tenant[] = {"\"web\"", "env APM_TENANT is already set", NULL};
    expect_warning(&first, preload);
    expect_warning(&first, tenant);
    expect_agent_env_status(first.mutated, "{'app': 'musl', 'web': 'glibc'}");
}
END_TEST

/* The libc fact comes from its layers: here the catalog, under a per-container annotation. */
START_TEST(agent_env_follows_the_libc_of_every_fact_layer)
{
    load_config(
        "{\"agent\": {\"env\": {\"glibc\": [{\"name\": \"LD_PRELOAD\", \"value\": \"/g.so\"}],"
        " \"musl\": [{\"name\": \"LD_PRELOAD\", \"value\": \"/m.so\"}]}},"
        " \"catalog\": [{\"match\": {\"glob\": \"example/alpine-*\"},"
        " \"facts\": {\"libc\": \"musl\"}}]}");
    review_pod(make_pod("{'libc.goinject.io/pinned': 'glibc'}",
                        "[{'name': 'cat', 'image': 'example/alpine-app:1'},"
                        " {'name': 'pinned', 'image': 'example/alpine-app:1'}]"),
               &first);
    expect_patched(&first);
    expect_env(first.mutated, 0, "[{'name': 'LD_PRELOAD', 'value': '/m.so'}]");
    expect_env(first.mutated, 1, "[{'name': 'LD_PRELOAD', 'value': '/g.so'}]");
    expect_no_warnings(&first);
    expect_agent_env_status(first.mutated, "{'cat': 'musl', 'pinned': 'glibc'}");
}
END_TEST

/*
 * The tini wrapper's flavor and the env set follow the same fact; with the libc
 * unknown the wrapper is the glibc tini (the contract's default) and the env is any only.
 */
START_TEST(agent_env_and_the_tini_flavor_agree)
{
    load_config(libc_env_config);
    review_pod(make_pod("{'goinject.io/static-go': 'true', 'goinject.io/shell': 'none',"
                        " 'libc.goinject.io/m': 'musl'}",
                        "[{'name': 'm', 'command': ['/app']}, {'name': 'u', 'command': ['/app']}]"),
               &first);
    expect_patched(&first);
    ck_assert_str_eq(json_string_value(json_array_get(
                         json_object_get(container_of(first.mutated, 0), "command"), 0)),
                     "/goinject-agent/tini/musl/tini");
    expect_env(first.mutated, 0, qf("[%s, %s]", tenant_env, musl_env));
    ck_assert_str_eq(json_string_value(json_array_get(
                         json_object_get(container_of(first.mutated, 1), "command"), 0)),
                     "/goinject-agent/tini/glibc/tini");
    expect_env(first.mutated, 1, qf("[%s]", tenant_env));
    static const char *const needles[] = {"\"u\"", "libc unknown", NULL};
    expect_warning(&first, needles);
    expect_agent_env_status(first.mutated, "{'m': 'musl', 'u': 'unknown'}");
}
END_TEST

/* A container left alone, or in classic mode, gets no env, no libc warning and no entry. */
START_TEST(agent_env_only_for_containers_that_get_the_agent)
{
    load_config(libc_env_config);
    review_pod(make_pod("{'static-go.goinject.io/app': 'true', 'shell.goinject.io/app': '/bin/sh'}",
                        "[{'name': 'app', 'command': ['/app'], 'volumeMounts': [{'name': 'tools',"
                        " 'mountPath': '/goinject-agent'}]}, {'name': 'web'}]"),
               &first);
    expect_patched(&first);
    ck_assert_ptr_null(json_object_get(container_of(first.mutated, 0), "env"));
    static const char *const mount[] = {"\"app\"", "mountPath", NULL};
    expect_warning(&first, mount);
    static const char *const web[] = {"\"web\"", "libc unknown", NULL};
    expect_warning(&first, web);
    ck_assert_uint_eq(json_array_size(json_object_get(first.response, "warnings")), 2);
    expect_agent_env_status(first.mutated, "{'web': 'unknown'}");
    answer_free(&first);
    cfg->mode = MODE_CLASSIC;
    review_pod(make_pod(NULL, "[{'name': 'app'}]"), &first);
    ck_assert_ptr_null(json_object_get(container_of(first.mutated, 0), "env"));
    expect_no_warnings(&first);
    expect_agent_env_status(first.mutated, NULL);
}
END_TEST

/* agent.env as a plain list: every container gets it, and the status is as before. */
START_TEST(agent_env_list_ignores_the_libc)
{
    load_config(agent_env_config);
    review_pod(make_pod("{'libc.goinject.io/m': 'musl'}", "[{'name': 'm'}, {'name': 'u'}]"),
               &first);
    expect_patched(&first);
    for (size_t i = 0; i < 2; i++)
        ck_assert_uint_eq(json_array_size(json_object_get(container_of(first.mutated, i), "env")),
                          2);
    expect_no_warnings(&first);
    expect_agent_env_status(first.mutated, NULL);
}
END_TEST

/* A later pass that writes the status again keeps the earlier containers' entries. */
START_TEST(agent_env_entries_survive_a_reinvocation)
{
    load_config(libc_env_config);
    review_pod(make_pod("{'libc.goinject.io/app': 'glibc', 'libc.goinject.io/late': 'musl'}",
                        "[{'name': 'app'}]"),
               &first);
    expect_patched(&first);
    json_t *pod = json_deep_copy(first.mutated);
    json_array_append_new(spec_of(pod, "containers"), q("{'name': 'late'}"));
    review_in(pod, "default", NULL, &second);
    expect_patched(&second);
    expect_env(second.mutated, 1, qf("[%s, %s]", tenant_env, musl_env));
    expect_agent_env_status(second.mutated, "{'app': 'glibc', 'late': 'musl'}");
    json_decref(pod);
}
END_TEST

/* With only libc-specific sets, the fast parse still reads each container's env. */
START_TEST(agent_env_libc_sets_alone_make_the_fast_parse_read_env)
{
    load_config(
        "{\"agent\": {\"env\": {\"musl\": [{\"name\": \"LD_PRELOAD\", \"value\": \"/m.so\"}]}}}");
    json_t *pod =
        make_pod("{'goinject.io/libc': 'musl'}",
                 "[{'name': 'app', 'env': [{'name': 'LD_PRELOAD', 'value': '/mine.so'}]}]");
    review_in(pod, "default", NULL, &first);
    expect_patched(&first);
    ck_assert_uint_eq(ops_under(first.ops, "/spec/containers/0/env"), 0);
    static const char *const needles[] = {"env LD_PRELOAD is already set", NULL};
    expect_warning(&first, needles);
    struct review_options full = {.full_parse = true};
    review_in(pod, "default", &full, &second);
    ck_assert_str_eq(first.out.body.data, second.out.body.data);
    json_decref(pod);
}
END_TEST

START_TEST(mount_path_conflict_leaves_the_container_alone_with_a_warning)
{
    review_pod(make_pod(static_go_shell,
                        "[{'name': 'app', 'command': ['/app'], 'volumeMounts': [{'name': 'tools',"
                        " 'mountPath': '/goinject-agent'}]}]"),
               &first);
    expect_patched(&first);
    ck_assert_uint_eq(ops_under(first.ops, "/spec"), 0);
    static const char *const needles[] = {"\"app\"", "/goinject-agent", "mountPath", NULL};
    expect_warning(&first, needles);
    expect_action(first.mutated, "app", "unsupported");
    expect_no_agent(first.mutated);
}
END_TEST

START_TEST(agent_volume_mounted_elsewhere_leaves_the_container_alone)
{
    /* The tini wrapper would point at a path where the bundle is not. */
    review_pod(make_pod("{'goinject.io/static-go': 'true', 'goinject.io/shell': 'none'}",
                        "[{'name': 'app', 'command': ['/app'], 'volumeMounts': [{'name':"
                        " 'goinject-agent', 'mountPath': '/opt/agent'}]}]"),
               &first);
    expect_patched(&first);
    ck_assert_uint_eq(ops_under(first.ops, "/spec"), 0);
    static const char *const needles[] = {"\"app\"", "goinject-agent at /goinject-agent", NULL};
    expect_warning(&first, needles);
    expect_action(first.mutated, "app", "unsupported");
}
END_TEST

START_TEST(mount_path_conflict_in_one_container_does_not_stop_the_others)
{
    review_pod(make_pod(NULL, "[{'name': 'app', 'volumeMounts': [{'name': 'tools',"
                              " 'mountPath': '/goinject-agent'}]}, {'name': 'web'}]"),
               &first);
    expect_patched(&first);
    ck_assert_uint_eq(ops_under(first.ops, "/spec/containers/0"), 0);
    ck_assert_uint_eq(ops_under(first.ops, "/spec/containers/1/volumeMounts"), 1);
    expect_agent_init_and_volume(first.mutated);
    expect_status(first.mutated, "cloud-native", "{'app': 'unsupported', 'web': 'agent'}");
}
END_TEST

/* A spelling of the agent's mount path that names the same directory once cleaned. */
static const char *const agent_path_spellings[] = {"/goinject-agent/", "//goinject-agent",
                                                   "/goinject-agent/.", "/./goinject-agent//"};

START_TEST(mount_path_spelled_differently_is_still_the_agents_path)
{
    review_pod(
        make_pod(static_go_shell,
                 qf("[{'name': 'app', 'command': ['/app'], 'volumeMounts': [{'name': 'tools',"
                    " 'mountPath': '%s'}]}]",
                    agent_path_spellings[_i])),
        &first);
    expect_patched(&first);
    ck_assert_uint_eq(ops_under(first.ops, "/spec"), 0);
    static const char *const needles[] = {"\"app\"", "a volume mount clashes", NULL};
    expect_warning(&first, needles);
    expect_action(first.mutated, "app", "unsupported");
    expect_no_agent(first.mutated);
}
END_TEST

START_TEST(agent_volume_at_a_spelling_of_the_agents_path_is_the_agents_mount)
{
    review_pod(make_pod(NULL, "[{'name': 'app'}]"), &first);
    expect_patched(&first);
    json_t *pod = json_deep_copy(first.mutated);
    json_array_append_new(spec_of(pod, "containers"),
                          q("{'name': 'late', 'volumeMounts': [{'name': 'goinject-agent',"
                            " 'mountPath': '/goinject-agent/'}]}"));
    review_in(pod, "default", NULL, &second);
    expect_patched(&second);
    expect_no_warnings(&second);
    ck_assert_uint_eq(ops_under(second.ops, "/spec/containers/1/volumeMounts"), 0);
    expect_status(second.mutated, "cloud-native", "{'app': 'agent', 'late': 'agent'}");
    json_decref(pod);
}
END_TEST

/* ---- names goinject adds, already in the pod ------------------------------ */

/*
 * A pod of a static Go container "app" (shell wrapper) and a plain one "web",
 * with the given volumes and init containers (quoted JSON; NULL: none).
 */
static json_t *clash_pod(const char *volumes, const char *inits)
{
    json_t *pod =
        make_pod("{'static-go.goinject.io/app': 'true', 'shell.goinject.io/app': '/bin/sh'}",
                 "[{'name': 'app', 'command': ['/app']}, {'name': 'web', 'image': 'nginx'}]");
    if (volumes)
        json_object_set_new(json_object_get(pod, "spec"), "volumes", q(volumes));
    if (inits)
        json_object_set_new(json_object_get(pod, "spec"), "initContainers", q(inits));
    return pod;
}

/* Nothing of the pod's spec changed, both containers left alone with the clash named. */
static void expect_clash(const json_t *pod, const char *object, const char *setting)
{
    review_in(pod, "default", NULL, &first);
    expect_patched(&first);
    ck_assert_uint_eq(ops_under(first.ops, "/spec"), 0);
    ck_assert(json_equal(json_object_get(first.mutated, "spec"), json_object_get(pod, "spec")));
    expect_status(first.mutated, "cloud-native", "{'app': 'unsupported', 'web': 'unsupported'}");
    ck_assert_str_eq(annotation(first.mutated, "goinject.io/injected"), "false");
    const char *const app[] = {"\"app\"", object, "goinject did not add", setting, NULL};
    const char *const web[] = {"\"web\"", object, setting, NULL};
    expect_warning(&first, app);
    expect_warning(&first, web);
}

START_TEST(user_config_map_volume_named_like_the_agents_is_a_clash)
{
    json_t *pod =
        clash_pod("[{'name': 'goinject-agent', 'configMap': {'name': 'settings'}}]", NULL);
    expect_clash(pod, "volume \"goinject-agent\" (configMap)", "agent.volumeName");
    json_decref(pod);
}
END_TEST

START_TEST(user_claim_volume_named_like_the_agents_is_a_clash)
{
    json_t *pod = clash_pod(
        "[{'name': 'goinject-agent', 'persistentVolumeClaim': {'claimName': 'data'}}]", NULL);
    expect_clash(pod, "volume \"goinject-agent\" (persistentVolumeClaim)", "agent.volumeName");
    json_decref(pod);
}
END_TEST

START_TEST(user_empty_dir_with_other_settings_named_like_the_agents_is_a_clash)
{
    json_t *pod = clash_pod("[{'name': 'goinject-agent', 'emptyDir': {'medium': 'Memory'}}]", NULL);
    expect_clash(pod, "volume \"goinject-agent\" (emptyDir)", "agent.volumeName");
    json_decref(pod);
}
END_TEST

START_TEST(user_init_container_named_like_the_agents_is_a_clash)
{
    json_t *pod =
        clash_pod(NULL, "[{'name': 'goinject-agent', 'image': 'busybox', 'command': ['true']}]");
    expect_clash(pod, "init container \"goinject-agent\"", "agent.initContainerName");
    json_decref(pod);
}
END_TEST

START_TEST(init_container_running_the_copier_elsewhere_is_a_clash)
{
    /* goinject's image and command, but the volume mounted at another path: not ours. */
    json_t *init = q(agent_init);
    json_object_set_new(init, "volumeMounts",
                        q("[{'name': 'goinject-agent', 'mountPath': '/elsewhere'}]"));
    json_t *pod = clash_pod(NULL, "[]");
    json_array_append_new(spec_of(pod, "initContainers"), init);
    expect_clash(pod, "init container \"goinject-agent\"", "agent.initContainerName");
    json_decref(pod);
}
END_TEST

START_TEST(container_named_like_the_agents_init_container_is_a_clash)
{
    review_pod(make_pod(NULL, "[{'name': 'goinject-agent', 'image': 'x'}, {'name': 'web'}]"),
               &first);
    expect_patched(&first);
    ck_assert_uint_eq(ops_under(first.ops, "/spec"), 0);
    static const char *const needles[] = {"\"web\"", "container \"goinject-agent\"",
                                          "agent.initContainerName", NULL};
    expect_warning(&first, needles);
    expect_status(first.mutated, "cloud-native",
                  "{'goinject-agent': 'unsupported', 'web': 'unsupported'}");
}
END_TEST

START_TEST(clash_in_classic_mode_still_gives_sys_ptrace)
{
    /* Classic mode adds no init container, volume or mount: nothing of the pod's is taken. */
    cfg->mode = MODE_CLASSIC;
    json_t *pod = clash_pod("[{'name': 'goinject-agent', 'configMap': {'name': 'settings'}}]",
                            "[{'name': 'goinject-agent', 'image': 'busybox'}]");
    review_in(pod, "default", NULL, &first);
    expect_patched(&first);
    expect_no_warnings(&first);
    ck_assert_json_q(json_object_get(container_of(first.mutated, 0), "securityContext"),
                     ptrace_only);
    expect_status(first.mutated, "classic", "{'app': 'ptrace', 'web': 'none'}");
    json_decref(pod);
}
END_TEST

START_TEST(own_init_container_and_volume_from_an_earlier_pass_are_no_clash)
{
    review_pod(make_pod(NULL, "[{'name': 'app'}]"), &first);
    expect_patched(&first);
    json_t *pod = json_deep_copy(first.mutated);
    /* What the API server adds after admission must not make them look foreign. */
    json_t *init = json_array_get(spec_of(pod, "initContainers"), 0);
    json_object_set_new(init, "terminationMessagePath", json_string("/dev/termination-log"));
    json_array_append_new(json_object_get(init, "volumeMounts"),
                          q("{'name': 'kube-api-access-x', 'mountPath':"
                            " '/var/run/secrets/kubernetes.io/serviceaccount', 'readOnly': true}"));
    json_array_append_new(spec_of(pod, "containers"), q("{'name': 'late'}"));
    review_in(pod, "default", NULL, &second);
    expect_patched(&second);
    expect_no_warnings(&second);
    ck_assert_uint_eq(ops_under(second.ops, "/spec/initContainers"), 0);
    ck_assert_uint_eq(ops_under(second.ops, "/spec/volumes"), 0);
    ck_assert_json_q(json_object_get(container_of(second.mutated, 1), "volumeMounts"),
                     qf("[%s]", agent_mount));
    expect_status(second.mutated, "cloud-native", "{'app': 'agent', 'late': 'agent'}");
    json_decref(pod);
}
END_TEST

/* ---- the init container and the volume ---------------------------------- */

START_TEST(init_container_goes_after_existing_init_containers_and_native_sidecars)
{
    json_t *pod = make_pod(NULL, "[{'name': 'app'}]");
    json_object_set_new(json_object_get(pod, "spec"), "initContainers",
                        q("[{'name': 'migrate', 'image': 'flyway', 'args': ['migrate']},"
                          " {'name': 'proxy', 'image': 'envoy', 'restartPolicy': 'Always',"
                          "  'resizePolicy': [{'resourceName': 'cpu', 'restartPolicy': "
                          "'NotRequired'}],"
                          "  'startupProbe': {'tcpSocket': {'port': 15000}}, 'futureField': {'x': "
                          "[1, 2.5, null]}}]"));
    review_in(pod, "default", NULL, &first);
    expect_patched(&first);
    ck_assert_uint_eq(ops_at(first.ops, "add", "/spec/initContainers/-"), 1);
    json_t *inits = spec_of(first.mutated, "initContainers");
    ck_assert_uint_eq(json_array_size(inits), 3);
    ck_assert(
        json_equal(json_array_get(inits, 0), json_array_get(spec_of(pod, "initContainers"), 0)));
    ck_assert(
        json_equal(json_array_get(inits, 1), json_array_get(spec_of(pod, "initContainers"), 1)));
    ck_assert_json_q(json_array_get(inits, 2), agent_init);
    /* Native sidecars are not app containers: they are not injected. */
    ck_assert_ptr_null(json_object_get(json_array_get(inits, 1), "volumeMounts"));
    json_decref(pod);
}
END_TEST

START_TEST(init_container_passes_the_restricted_profile_with_resources)
{
    review_pod(make_pod(NULL, "[{'name': 'app'}]"), &first);
    expect_patched(&first);
    json_t *init = json_array_get(spec_of(first.mutated, "initContainers"), 0);
    json_t *sc = json_object_get(init, "securityContext");
    ck_assert(json_is_true(json_object_get(sc, "runAsNonRoot")));
    ck_assert_int_gt(json_integer_value(json_object_get(sc, "runAsUser")), 0);
    ck_assert(json_is_false(json_object_get(sc, "allowPrivilegeEscalation")));
    ck_assert_json_q(json_object_get(sc, "capabilities"), "{'drop': ['ALL']}");
    ck_assert_json_q(json_object_get(sc, "seccompProfile"), "{'type': 'RuntimeDefault'}");
    ck_assert(json_is_true(json_object_get(sc, "readOnlyRootFilesystem")));
    ck_assert(!json_is_true(json_object_get(sc, "privileged")));
    json_t *resources = json_object_get(init, "resources");
    ck_assert_uint_eq(json_object_size(json_object_get(resources, "requests")), 2);
    ck_assert_uint_eq(json_object_size(json_object_get(resources, "limits")), 2);
    ck_assert_json_q(json_object_get(init, "volumeMounts"),
                     "[{'name': 'goinject-agent', 'mountPath': '/goinject-agent'}]");
}
END_TEST

START_TEST(init_container_follows_the_configuration)
{
    load_config("{\"agent\": {\"image\": \"registry.example.com/apm:2\", \"imagePullPolicy\": "
                "\"Always\", \"command\": [\"/cp\"], \"sourcePath\": \"/opt/apm\", \"mountPath\":"
                " \"/apm\", \"resources\": {\"limits\": {\"memory\": \"32Mi\"}},"
                " \"initContainerName\": \"apm-init\", \"volumeName\": \"apm\", \"runAsUser\":"
                " 1000}, \"tini\": {\"glibc\": \"bin/tini\"}}");
    review_pod(make_pod("{'goinject.io/static-go': 'true', 'goinject.io/shell': 'none'}", one_app),
               &first);
    expect_patched(&first);
    ck_assert_json_q(
        spec_of(first.mutated, "initContainers"),
        "[{'name': 'apm-init', 'image': 'registry.example.com/apm:2',"
        " 'imagePullPolicy': 'Always', 'command': ['/cp'], 'args': ['/opt/apm', '/apm'],"
        " 'resources': {'limits': {'memory': '32Mi'}},"
        " 'securityContext': {'allowPrivilegeEscalation': false, 'capabilities':"
        " {'drop': ['ALL']}, 'privileged': false, 'readOnlyRootFilesystem': true,"
        " 'runAsNonRoot': true, 'runAsUser': 1000, 'runAsGroup': 1000,"
        " 'seccompProfile': {'type': 'RuntimeDefault'}},"
        " 'volumeMounts': [{'name': 'apm', 'mountPath': '/apm'}]}]");
    ck_assert_json_q(spec_of(first.mutated, "volumes"), "[{'name': 'apm', 'emptyDir': {}}]");
    json_t *c = container_of(first.mutated, 0);
    ck_assert_json_q(json_object_get(c, "volumeMounts"),
                     "[{'name': 'apm', 'mountPath': '/apm', 'readOnly': true}]");
    ck_assert_json_q(json_object_get(c, "command"), "['/apm/bin/tini', '--', '/app']");
}
END_TEST

START_TEST(volume_and_init_container_are_created_once_for_many_containers)
{
    review_pod(make_pod("{'static-go.goinject.io/b': 'true', 'shell.goinject.io/b': '/bin/sh'}",
                        "[{'name': 'a'}, {'name': 'b', 'command': ['/b']}, {'name': 'c'}]"),
               &first);
    expect_patched(&first);
    ck_assert_uint_eq(ops_under(first.ops, "/spec/volumes"), 1);
    ck_assert_uint_eq(ops_under(first.ops, "/spec/initContainers"), 1);
    ck_assert_json_q(spec_of(first.mutated, "volumes"), qf("[%s]", agent_volume));
    ck_assert_json_q(spec_of(first.mutated, "initContainers"), qf("[%s]", agent_init));
    for (size_t i = 0; i < 3; i++)
        ck_assert_json_q(json_object_get(container_of(first.mutated, i), "volumeMounts"),
                         qf("[%s]", agent_mount));
}
END_TEST

START_TEST(volume_is_appended_to_existing_volumes)
{
    json_t *pod = make_pod(NULL, "[{'name': 'app'}]");
    json_object_set_new(json_object_get(pod, "spec"), "volumes",
                        q("[{'name': 'data', 'persistentVolumeClaim': {'claimName': 'd'}}]"));
    review_in(pod, "default", NULL, &first);
    expect_patched(&first);
    ck_assert_uint_eq(ops_at(first.ops, "add", "/spec/volumes/-"), 1);
    ck_assert_json_q(
        spec_of(first.mutated, "volumes"),
        qf("[{'name': 'data', 'persistentVolumeClaim': {'claimName': 'd'}}, %s]", agent_volume));
    json_decref(pod);
}
END_TEST

/* ---- annotations -------------------------------------------------------- */

START_TEST(status_annotations_record_mode_and_every_container)
{
    review_pod(make_pod("{'static-go.goinject.io/api': 'true', 'shell.goinject.io/api': '/bin/sh',"
                        " 'static-go.goinject.io/worker': 'true', 'cgo.goinject.io/worker': "
                        "'true'}",
                        "[{'name': 'api', 'command': ['/api']}, {'name': 'worker'},"
                        " {'name': 'log'}]"),
               &first);
    expect_patched(&first);
    expect_status(first.mutated, "cloud-native",
                  "{'api': 'shell-wrapper', 'worker': 'unsupported', 'log': 'agent'}");
    ck_assert_str_eq(annotation(first.mutated, "goinject.io/injected"), "true");
    ck_assert_str_eq(annotation(first.mutated, "goinject.io/reason"),
                     "api: shell-wrapper, worker: unsupported, log: agent");
}
END_TEST

START_TEST(missing_annotations_volumes_and_init_containers_are_each_created_by_one_add)
{
    review_pod(make_pod(NULL, "[{'name': 'a'}, {'name': 'b'}]"), &first);
    expect_patched(&first);
    ck_assert_uint_eq(ops_at(first.ops, "add", "/metadata/annotations"), 1);
    ck_assert_uint_eq(ops_under(first.ops, "/metadata"), 1);
    ck_assert_uint_eq(ops_at(first.ops, "add", "/spec/volumes"), 1);
    ck_assert_uint_eq(ops_under(first.ops, "/spec/volumes"), 1);
    ck_assert_uint_eq(ops_at(first.ops, "add", "/spec/initContainers"), 1);
    ck_assert_uint_eq(ops_under(first.ops, "/spec/initContainers"), 1);
    ck_assert_uint_eq(json_object_size(json_object_get(json_object_get(first.mutated, "metadata"),
                                                       "annotations")),
                      3);
}
END_TEST

START_TEST(existing_annotations_get_escaped_members)
{
    review_pod(make_pod("{'team': 'payments'}", "[{'name': 'a'}]"), &first);
    expect_patched(&first);
    ck_assert_uint_eq(ops_at(first.ops, "add", "/metadata/annotations/goinject.io~1status"), 1);
    ck_assert_uint_eq(ops_at(first.ops, "add", "/metadata/annotations/goinject.io~1injected"), 1);
    ck_assert_uint_eq(ops_at(first.ops, "add", "/metadata/annotations/goinject.io~1reason"), 1);
    ck_assert_uint_eq(ops_at(first.ops, "add", "/metadata/annotations"), 0);
    ck_assert_str_eq(annotation(first.mutated, "team"), "payments");
}
END_TEST

START_TEST(null_annotations_are_created)
{
    review_pod(make_pod("null", "[{'name': 'a'}]"), &first);
    expect_patched(&first);
    ck_assert_uint_eq(ops_at(first.ops, "add", "/metadata/annotations"), 1);
    ck_assert_str_eq(annotation(first.mutated, "goinject.io/injected"), "true");
}
END_TEST

START_TEST(missing_metadata_is_created)
{
    review_pod(q("{'apiVersion': 'v1', 'kind': 'Pod', 'spec': {'containers': [{'name': 'a'}]}}"),
               &first);
    expect_patched(&first);
    ck_assert_uint_eq(ops_at(first.ops, "add", "/metadata"), 1);
    ck_assert_str_eq(annotation(first.mutated, "goinject.io/injected"), "true");
}
END_TEST

START_TEST(custom_prefix_is_used_for_every_annotation)
{
    load_config("{\"annotationPrefix\": \"apm.example.com\"}");
    review_pod(make_pod("{'apm.example.com/static-go': 'true', 'apm.example.com/shell': 'none',"
                        " 'inject.apm.example.com/side': 'false'}",
                        "[{'name': 'app', 'command': ['/app']}, {'name': 'side'}]"),
               &first);
    expect_patched(&first);
    ck_assert_ptr_nonnull(annotation(first.mutated, "apm.example.com/status"));
    ck_assert_str_eq(annotation(first.mutated, "apm.example.com/injected"), "true");
    ck_assert_ptr_nonnull(annotation(first.mutated, "apm.example.com/reason"));
    ck_assert_ptr_null(annotation(first.mutated, "goinject.io/status"));
    ck_assert_str_eq(annotation(first.mutated, "apm.example.com/reason"),
                     "app: tini-wrapper, side: opted-out");
    expect_idempotent(&first);
}
END_TEST

/* ---- Pod Security ------------------------------------------------------- */

START_TEST(pod_security_enforced_namespace_gets_pod_security_action_with_a_warning)
{
    struct review_options opts = {.pod_security_enforced = true};
    json_t *pod = make_pod(static_go_shell, "[{'name': 'app', 'command': ['/app']}, {'name': "
                                            "'side', 'image': 'x'}]");
    /* The static Go decision applies to both: both are static Go by the pod-wide annotation. */
    json_object_set_new(json_object_get(json_object_get(pod, "metadata"), "annotations"),
                        "static-go.goinject.io/side", json_string("false"));
    review_in(pod, "default", &opts, &first);
    expect_patched(&first);
    static const char *const needles[] = {"\"app\"", "Pod Security", "SYS_PTRACE", NULL};
    expect_warning(&first, needles);
    ck_assert_uint_eq(ops_under(first.ops, "/spec/containers/0"), 0);
    ck_assert_uint_eq(ops_under(first.ops, "/spec/containers/1/volumeMounts"), 1);
    expect_status(first.mutated, "cloud-native", "{'app': 'pod-security', 'side': 'agent'}");
    json_decref(pod);
}
END_TEST

START_TEST(pod_security_enforced_namespace_from_the_configuration)
{
    load_config("{\"podSecurityEnforcedNamespaces\": [\"prod\"], \"mode\": \"classic\"}");
    json_t *pod = make_pod(static_go_shell, one_app);
    review_in(pod, "prod", NULL, &first);
    expect_patched(&first);
    ck_assert_uint_eq(ops_under(first.ops, "/spec"), 0);
    expect_status(first.mutated, "classic", "{'app': 'pod-security'}");
    review_in(pod, "dev", NULL, &second);
    expect_status(second.mutated, "classic", "{'app': 'ptrace'}");
    json_decref(pod);
}
END_TEST

START_TEST(cluster_wide_pod_security_default_enforces_every_namespace_not_exempt)
{
    load_config("{\"podSecurityDefault\": \"restricted\","
                " \"podSecurityExemptNamespaces\": [\"legacy\"]}");
    json_t *pod = make_pod(static_go_shell, one_app);
    review_in(pod, "team-a", NULL, &first);
    expect_patched(&first);
    static const char *const needles[] = {"\"app\"", "Pod Security", "SYS_PTRACE", NULL};
    expect_warning(&first, needles);
    ck_assert_uint_eq(ops_under(first.ops, "/spec/containers/0"), 0);
    expect_status(first.mutated, "cloud-native", "{'app': 'pod-security'}");
    review_in(pod, "legacy", NULL, &second);
    expect_status(second.mutated, "cloud-native", "{'app': 'shell-wrapper'}");
    json_decref(pod);
}
END_TEST

START_TEST(namespace_labelled_privileged_overrides_the_cluster_wide_default)
{
    load_config("{\"podSecurityDefault\": \"baseline\"}");
    struct review_options privileged = {.pod_security_privileged = true};
    json_t *pod = make_pod(static_go_shell, one_app);
    review_in(pod, "team-a", &privileged, &first);
    expect_status(first.mutated, "cloud-native", "{'app': 'shell-wrapper'}");
    /* A label saying baseline or restricted wins over everything else. */
    struct review_options both = {.pod_security_enforced = true, .pod_security_privileged = true};
    review_in(pod, "team-a", &both, &second);
    expect_status(second.mutated, "cloud-native", "{'app': 'pod-security'}");
    json_decref(pod);
}
END_TEST

/* ---- hostPID pods ------------------------------------------------------- */

/* one_app's pod with spec.hostPID: true. */
static json_t *host_pid_pod(const char *containers)
{
    json_t *pod = make_pod(static_go_shell, containers);
    json_object_set_new(json_object_get(pod, "spec"), "hostPID", json_true());
    return pod;
}

START_TEST(host_pid_static_go_gets_no_ptrace_and_a_warning)
{
    json_t *pod = host_pid_pod(one_app);
    review_in(pod, "default", NULL, &first);
    expect_patched(&first);
    static const char *const needles[] = {"\"app\"", "hostPID", "ptraceWithHostPID", NULL};
    expect_warning(&first, needles);
    ck_assert_uint_eq(ops_under(first.ops, "/spec/containers/0"), 0);
    ck_assert_uint_eq(ops_under(first.ops, "/spec/initContainers"), 0);
    expect_status(first.mutated, "cloud-native", "{'app': 'host-pid'}");
    ck_assert_str_eq(annotation(first.mutated, "goinject.io/injected"), "false");
    /* The fast parse sees hostPID as the full parse does. */
    struct review_options full = {.full_parse = true};
    review_in(pod, "default", &full, &second);
    ck_assert_str_eq(first.out.body.data, second.out.body.data);
    expect_idempotent(&first);
    json_decref(pod);
}
END_TEST

START_TEST(host_pid_static_go_with_ptrace_with_host_pid_gets_ptrace)
{
    load_config("{\"ptraceWithHostPID\": true}");
    json_t *pod = host_pid_pod(one_app);
    review_in(pod, "default", NULL, &first);
    expect_patched(&first);
    expect_no_warnings(&first);
    expect_status(first.mutated, "cloud-native", "{'app': 'shell-wrapper'}");
    ck_assert_json_q(
        json_object_get(json_object_get(container_of(first.mutated, 0), "securityContext"),
                        "capabilities"),
        "{'add': ['SYS_PTRACE']}");
    json_decref(pod);
}
END_TEST

START_TEST(host_pid_pod_without_static_go_is_unchanged_by_it)
{
    json_t *pod = host_pid_pod("[{'name': 'app', 'image': 'example/app:1'}]");
    json_object_set_new(json_object_get(json_object_get(pod, "metadata"), "annotations"),
                        "goinject.io/static-go", json_string("false"));
    review_in(pod, "default", NULL, &first);
    expect_patched(&first);
    expect_no_warnings(&first);
    expect_status(first.mutated, "cloud-native", "{'app': 'agent'}");
    json_decref(pod);
}
END_TEST

/* ---- odd pods ----------------------------------------------------------- */

START_TEST(container_without_a_name_is_left_alone_with_a_warning)
{
    review_pod(make_pod(NULL, "[{'image': 'x'}, {'name': 'b'}]"), &first);
    expect_patched(&first);
    ck_assert_uint_eq(ops_under(first.ops, "/spec/containers/0"), 0);
    ck_assert_uint_eq(ops_under(first.ops, "/spec/containers/1/volumeMounts"), 1);
    static const char *const needles[] = {"container 0", "no name", NULL};
    expect_warning(&first, needles);
}
END_TEST

START_TEST(container_with_a_string_command_is_left_alone_with_a_warning)
{
    review_pod(make_pod(static_go_shell, "[{'name': 'app', 'command': '/app --serve'}]"), &first);
    ck_assert_uint_eq(ops_under(first.ops, "/spec"), 0);
    static const char *const needles[] = {"\"app\"", "arrays of strings", NULL};
    expect_warning(&first, needles);
}
END_TEST

START_TEST(pod_without_containers_fails_open)
{
    review_pod(q("{'apiVersion': 'v1', 'kind': 'Pod', 'metadata': {'name': 'p'}, 'spec': {}}"),
               &first);
    ck_assert_int_eq(first.out.result, REVIEW_FAILED_OPEN);
    ck_assert_ptr_null(first.ops);
    static const char *const needles[] = {"pod admitted unchanged", NULL};
    expect_warning(&first, needles);
}
END_TEST

START_TEST(duplicate_mount_paths_in_the_pod_fail_open_after_the_check)
{
    /* An invalid pod the API server would refuse anyway: the check does not make it worse. */
    review_pod(make_pod(NULL, "[{'name': 'app', 'volumeMounts': [{'name': 'a', 'mountPath': '/x'},"
                              " {'name': 'b', 'mountPath': '/x'}]}]"),
               &first);
    ck_assert_int_eq(first.out.result, REVIEW_FAILED_OPEN);
    static const char *const needles[] = {"mount paths would not be unique", NULL};
    expect_warning(&first, needles);
}
END_TEST

START_TEST(create_without_an_object_fails_open)
{
    json_t *review =
        make_review("admission.k8s.io/v1", "CREATE", "", "pods", NULL, "default", NULL);
    review_doc(review, NULL, NULL, &first);
    ck_assert_int_eq(first.out.result, REVIEW_FAILED_OPEN);
    ck_assert_ptr_null(first.ops);
    ck_assert_uint_eq(json_array_size(json_object_get(first.response, "warnings")), 1);
    json_decref(review);
}
END_TEST

START_TEST(many_warnings_fit_the_answer_budget)
{
    /* 40 static Go containers whose ENTRYPOINT is unknown: one long warning each. */
    struct buf containers = BUF_INIT;
    buf_append_str(&containers, "[");
    for (int i = 0; i < 40; i++)
        buf_printf(&containers, "%s{'name': 'container-with-a-long-name-%02d'}", i ? ", " : "", i);
    buf_append_str(&containers, "]");
    review_pod(make_pod("{'goinject.io/static-go': 'true'}", containers.data), &first);
    buf_free(&containers);
    expect_patched(&first);
    json_t *warnings = json_object_get(first.response, "warnings");
    size_t n = json_array_size(warnings), bytes = 0, i;
    json_t *w;
    json_array_foreach(warnings, i, w) bytes += json_string_length(w);
    ck_assert_uint_lt(n, 40);
    ck_assert_uint_le(bytes, 4096);
    ck_assert_ptr_nonnull(
        strstr(json_string_value(json_array_get(warnings, n - 1)), "more warnings left out"));
    /* The log keeps all of them. */
    ck_assert_uint_eq(json_array_size(json_object_get(first.out.log, "warnings")), 40);
}
END_TEST

/* ---- idempotency and reinvocation --------------------------------------- */

struct pod_case {
    const char *annotations;
    const char *containers;
};

static const struct pod_case idempotent_pods[] = {
    {NULL, "[{'name': 'app', 'image': 'nginx'}]"},
    {"{'goinject.io/static-go': 'true', 'goinject.io/shell': '/bin/sh'}",
     "[{'name': 'app', 'command': ['/app'], 'args': ['--port', '8080']}]"},
    {"{'goinject.io/static-go': 'true', 'goinject.io/shell': 'none', 'goinject.io/libc': 'musl'}",
     "[{'name': 'app', 'command': ['/app'], 'args': []}]"},
    {"{'goinject.io/static-go': 'true', 'entrypoint.goinject.io/app': '[\\'/app\\']',"
     " 'cmd.goinject.io/app': '[\\'serve\\']'}",
     "[{'name': 'app', 'securityContext': {'capabilities': {'add': ['NET_ADMIN']}},"
     " 'env': [{'name': 'A', 'value': '1'}], 'volumeMounts': [{'name': 'd', 'mountPath': '/d'}]}]"},
    {"{'goinject.io/static-go': 'true'}", "[{'name': 'app'}]"},
    {"{'goinject.io/static-go': 'true', 'goinject.io/cgo': 'true'}", "[{'name': 'app'}]"},
    {"{'inject.goinject.io/b': 'false', 'static-go.goinject.io/a': 'true'}",
     "[{'name': 'a', 'command': ['/a']}, {'name': 'b'}, {'name': 'c', 'command': ['sh', '-c', "
     "'x']}]"},
    {NULL, "[{'name': 'app', 'volumeMounts': [{'name': 't', 'mountPath': '/goinject-agent'}]}]"},
    {"{'goinject.io/static-go': 'true', 'goinject.io/shell': '/bin/sh'}",
     "[{'name': 'app', 'command': ['/bin/sh', '-c', 'exec /app'], 'securityContext': null}]"},
};

#define IDEMPOTENT_PODS (sizeof(idempotent_pods) / sizeof(idempotent_pods[0]))

/* Loop index: pod * 2 + mode. */
START_TEST(applying_the_patch_and_reviewing_again_gives_no_patch)
{
    const struct pod_case *c = &idempotent_pods[_i / 2];
    cfg->mode = _i % 2 ? MODE_CLASSIC : MODE_CLOUD_NATIVE;
    review_pod(make_pod(c->annotations, c->containers), &first);
    expect_patched(&first);
    expect_idempotent(&first);
    ck_assert_int_eq(second.out.result, REVIEW_UNCHANGED);
    /* A third time, from the second answer's pod: still nothing. */
    json_t *again = json_deep_copy(second.mutated);
    review_in(again, "default", NULL, &second);
    ck_assert_int_eq(second.out.result, REVIEW_UNCHANGED);
    json_decref(again);
}
END_TEST

START_TEST(reinvocation_patches_only_a_container_added_later)
{
    review_pod(make_pod("{'static-go.goinject.io/app': 'true', 'goinject.io/shell': '/bin/sh',"
                        " 'static-go.goinject.io/late': 'true'}",
                        "[{'name': 'app', 'command': ['/app']}]"),
               &first);
    expect_patched(&first);
    json_t *pod = json_deep_copy(first.mutated);
    json_array_append_new(spec_of(pod, "containers"),
                          q("{'name': 'late', 'command': ['/late', '-v']}"));
    review_in(pod, "default", NULL, &second);
    expect_patched(&second);
    size_t i;
    json_t *op;
    json_array_foreach(second.ops, i, op)
    {
        const char *path = json_string_value(json_object_get(op, "path"));
        ck_assert_msg(strncmp(path, "/spec/containers/1/", 19) == 0 ||
                          strncmp(path, "/metadata/annotations/goinject.io~1", 35) == 0,
                      "op touches %s", path);
    }
    ck_assert_uint_eq(json_array_size(spec_of(second.mutated, "initContainers")), 1);
    ck_assert_uint_eq(json_array_size(spec_of(second.mutated, "volumes")), 1);
    ck_assert(json_equal(container_of(second.mutated, 0), container_of(first.mutated, 0)));
    ck_assert_json_q(json_object_get(container_of(second.mutated, 1), "command"),
                     qf("['/bin/sh', '-c', '%s', '/late']", shell_script));
    expect_status(second.mutated, "cloud-native",
                  "{'app': 'shell-wrapper', 'late': 'shell-wrapper'}");
    ck_assert_str_eq(annotation(second.mutated, "goinject.io/reason"),
                     "app: shell-wrapper, late: shell-wrapper");
    /* And then it is stable. */
    json_t *final = json_deep_copy(second.mutated);
    review_in(final, "default", NULL, &first);
    ck_assert_int_eq(first.out.result, REVIEW_UNCHANGED);
    json_decref(final);
    json_decref(pod);
}
END_TEST

START_TEST(reinvocation_in_classic_mode_patches_only_the_new_container)
{
    cfg->mode = MODE_CLASSIC;
    review_pod(make_pod("{'goinject.io/static-go': 'true'}", "[{'name': 'app'}]"), &first);
    expect_patched(&first);
    json_t *pod = json_deep_copy(first.mutated);
    json_array_append_new(spec_of(pod, "containers"), q("{'name': 'late'}"));
    review_in(pod, "default", NULL, &second);
    expect_patched(&second);
    ck_assert_uint_eq(ops_under(second.ops, "/spec/containers/0"), 0);
    ck_assert_uint_eq(ops_at(second.ops, "add", "/spec/containers/1/securityContext"), 1);
    expect_no_agent(second.mutated);
    expect_status(second.mutated, "classic", "{'app': 'ptrace', 'late': 'ptrace'}");
    json_decref(pod);
}
END_TEST

START_TEST(a_pod_with_forty_containers)
{
    struct buf containers = BUF_INIT;
    struct buf annotations = BUF_INIT;
    buf_append_str(&containers, "[");
    buf_append_str(&annotations, "{'goinject.io/shell': '/bin/sh'");
    for (int i = 0; i < 40; i++) {
        buf_printf(&containers, "%s{'name': 'c%d', 'image': 'example/c%d', 'command': ['/c%d']}",
                   i ? ", " : "", i, i, i);
        if (i % 4 == 0)
            buf_printf(&annotations, ", 'static-go.goinject.io/c%d': 'true'", i);
    }
    buf_append_str(&containers, "]");
    buf_append_str(&annotations, "}");
    review_pod(make_pod(annotations.data, containers.data), &first);
    buf_free(&containers);
    buf_free(&annotations);
    expect_patched(&first);
    expect_no_warnings(&first);
    ck_assert_uint_eq(json_array_size(spec_of(first.mutated, "containers")), 40);
    ck_assert_uint_eq(json_array_size(spec_of(first.mutated, "initContainers")), 1);
    ck_assert_uint_eq(json_array_size(spec_of(first.mutated, "volumes")), 1);
    json_t *status = status_of(first.mutated);
    ck_assert_uint_eq(json_object_size(json_object_get(status, "containers")), 40);
    json_decref(status);
    for (size_t i = 0; i < 40; i++) {
        json_t *c = container_of(first.mutated, i);
        ck_assert_json_q(json_object_get(c, "volumeMounts"), qf("[%s]", agent_mount));
        const char *argv0 = json_string_value(json_array_get(json_object_get(c, "command"), 0));
        ck_assert_str_eq(argv0, i % 4 == 0 ? "/bin/sh" : qf("/c%zu", i));
    }
    ck_assert_uint_eq(first.out.containers[ACTION_SHELL_WRAPPER], 10);
    ck_assert_uint_eq(first.out.containers[ACTION_AGENT], 30);
    expect_idempotent(&first);
}
END_TEST

/* ---- every other byte survives ------------------------------------------ */

START_TEST(every_other_byte_of_the_pod_survives)
{
    json_t *pod = q(
        "{'apiVersion': 'v1', 'kind': 'Pod',"
        " 'metadata': {'name': 'web-7d9f', 'generateName': 'web-', 'namespace': 'default',"
        "   'labels': {'app': 'web'}, 'ownerReferences': [{'apiVersion': 'apps/v1', 'kind':"
        "   'ReplicaSet', 'name': 'web-7d9f', 'uid': 'u-1', 'controller': true}],"
        "   'annotations': {'goinject.io/static-go': 'true', 'goinject.io/shell': '/bin/sh',"
        "     'kubectl.kubernetes.io/last-applied-configuration': '{\\'a\\':1}'},"
        "   'futureMetadata': {'x': [1, 2.5, null, true, 9007199254740993]}},"
        " 'spec': {'futureSpecField': {'a': 'b'}, 'os': {'name': 'linux'},"
        "   'initContainers': [{'name': 'proxy', 'image': 'envoy', 'restartPolicy': 'Always',"
        "     'resizePolicy': [{'resourceName': 'cpu', 'restartPolicy': 'NotRequired'}]}],"
        "   'containers': [{'name': 'app', 'image': 'example/app:1', 'command': ['/app'],"
        "     'args': ['$(HOME)', 'it\\u0027s \\'quoted\\''], 'ports': [{'containerPort': 8080}],"
        "     'resizePolicy': [{'resourceName': 'memory', 'restartPolicy': 'RestartContainer'}],"
        "     'env': [{'name': 'POD', 'valueFrom': {'fieldRef': {'fieldPath': 'metadata.name'}}}],"
        "     'futureField': {'deep': [{'x': null}]},"
        "     'securityContext': {'runAsUser': 1000, 'capabilities': {'drop': ['NET_RAW']}},"
        "     'volumeMounts': [{'name': 'data', 'mountPath': '/data', 'subPathExpr': '$(POD)'}]}],"
        "   'volumes': [{'name': 'data', 'emptyDir': {'medium': 'Memory', 'sizeLimit': '1Gi'}}],"
        "   'resourceClaims': [{'name': 'gpu', 'resourceClaimTemplateName': 'gpu'}],"
        "   'schedulingGates': [{'name': 'wait'}]},"
        " 'status': {'phase': 'Pending'}}");
    review_in(pod, "default", NULL, &first);
    expect_patched(&first);

    /* The expected pod: the original plus exactly what the contract adds. */
    json_t *want = json_deep_copy(pod);
    json_t *c = container_of(want, 0);
    json_object_set_new(c, "command", q(qf("['/bin/sh', '-c', '%s', '/app']", shell_script)));
    json_object_set_new(c, "args", q("['$(HOME)', 'it\\u0027s \\'quoted\\'']"));
    json_object_set_new(json_object_get(json_object_get(c, "securityContext"), "capabilities"),
                        "add", q("['SYS_PTRACE']"));
    json_array_append_new(json_object_get(c, "volumeMounts"), q(agent_mount));
    json_array_append_new(spec_of(want, "initContainers"), q(agent_init));
    json_array_append_new(spec_of(want, "volumes"), q(agent_volume));
    json_t *annotations = json_object_get(json_object_get(want, "metadata"), "annotations");
    json_object_set_new(annotations, "goinject.io/status",
                        json_string(annotation(first.mutated, "goinject.io/status")));
    json_object_set_new(annotations, "goinject.io/injected", json_string("true"));
    json_object_set_new(annotations, "goinject.io/reason", json_string("app: shell-wrapper"));

    char *got_text = json_dumps(first.mutated, JSON_COMPACT | JSON_SORT_KEYS);
    char *want_text = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_str_eq(got_text, want_text);
    free(got_text);
    free(want_text);
    json_decref(want);
    json_decref(pod);
}
END_TEST

/* ---- admission_mutate --------------------------------------------------- */

static json_t *mutate(const json_t *input, struct warnings *w, char *err, size_t errlen)
{
    memset(w, 0, sizeof(*w));
    err[0] = '\0';
    return admission_mutate(cfg, input, NULL, w, err, errlen);
}

START_TEST(mutate_a_pod_gives_the_same_pod_as_the_review)
{
    json_t *pod = make_pod(static_go_shell, one_app);
    review_in(pod, "default", NULL, &first);
    struct warnings w;
    char err[256];
    json_t *mutated = mutate(pod, &w, err, sizeof(err));
    ck_assert_msg(mutated != NULL, "%s", err);
    ck_assert(json_equal(mutated, first.mutated));
    ck_assert_uint_eq(w.count, 0);
    warnings_free(&w);
    json_decref(mutated);
    json_decref(pod);
}
END_TEST

START_TEST(mutate_a_pod_reports_its_warnings)
{
    json_t *pod = make_pod("{'goinject.io/static-go': 'true', 'goinject.io/cgo': 'true'}", one_app);
    struct warnings w;
    char err[256];
    json_t *mutated = mutate(pod, &w, err, sizeof(err));
    ck_assert_ptr_nonnull(mutated);
    ck_assert_uint_eq(w.count, 1);
    ck_assert_int_eq(strncmp(w.items[0], "goinject: container \"app\"", 25), 0);
    warnings_free(&w);
    json_decref(mutated);
    json_decref(pod);
}
END_TEST

START_TEST(mutate_a_list_of_pods_mutates_every_pod)
{
    json_t *a = make_pod(static_go_shell, one_app);
    json_t *b = make_pod("{'goinject.io/inject': 'false'}", "[{'name': 'x'}]");
    json_t *list = json_pack("{s:s,s:s,s:[OOo]}", "apiVersion", "v1", "kind", "List", "items", a, b,
                             q("{'apiVersion': 'v1', 'kind': 'Service', 'metadata': {'name':"
                               " 's'}}"));
    struct warnings w;
    char err[256];
    json_t *mutated = mutate(list, &w, err, sizeof(err));
    ck_assert_msg(mutated != NULL, "%s", err);
    json_t *items = json_object_get(mutated, "items");
    ck_assert_uint_eq(json_array_size(items), 3);
    ck_assert_str_eq(annotation(json_array_get(items, 0), "goinject.io/reason"),
                     "app: shell-wrapper");
    ck_assert(json_equal(json_array_get(items, 1), b));
    ck_assert(
        json_equal(json_array_get(items, 2), json_array_get(json_object_get(list, "items"), 2)));
    /* The skipped pod is reported. */
    ck_assert_uint_eq(w.count, 1);
    ck_assert_ptr_nonnull(strstr(w.items[0], "opted out"));
    warnings_free(&w);
    json_decref(mutated);
    json_decref(list);
    json_decref(a);
    json_decref(b);
}
END_TEST

START_TEST(mutate_an_admission_review_gives_the_mutated_pod)
{
    json_t *pod = make_pod(static_go_shell, one_app);
    json_t *review = make_review("admission.k8s.io/v1", "CREATE", "", "pods", NULL, "default", pod);
    struct warnings w;
    char err[256];
    json_t *mutated = mutate(review, &w, err, sizeof(err));
    ck_assert_msg(mutated != NULL, "%s", err);
    ck_assert_str_eq(json_string_value(json_object_get(mutated, "kind")), "Pod");
    expect_action(mutated, "app", "shell-wrapper");
    warnings_free(&w);
    json_decref(mutated);
    json_decref(review);
    /* The request's namespace counts: an excluded one leaves the pod alone. */
    review = make_review("admission.k8s.io/v1", "CREATE", "", "pods", NULL, "kube-system", pod);
    mutated = mutate(review, &w, err, sizeof(err));
    ck_assert(json_equal(mutated, pod));
    ck_assert_uint_eq(w.count, 1);
    ck_assert_ptr_nonnull(strstr(w.items[0], "namespace"));
    warnings_free(&w);
    json_decref(mutated);
    json_decref(review);
    json_decref(pod);
}
END_TEST

START_TEST(mutate_an_update_review_leaves_the_pod_alone_like_the_server)
{
    json_t *pod = make_pod(static_go_shell, one_app);
    json_t *review = make_review("admission.k8s.io/v1", "UPDATE", "", "pods", NULL, "default", pod);
    struct warnings w;
    char err[256];
    json_t *mutated = mutate(review, &w, err, sizeof(err));
    ck_assert_msg(mutated != NULL, "%s", err);
    ck_assert(json_equal(mutated, pod));
    ck_assert_uint_eq(w.count, 1);
    ck_assert_ptr_nonnull(strstr(w.items[0], "only the CREATE of a pod is mutated"));
    warnings_free(&w);
    json_decref(mutated);
    json_decref(review);
    json_decref(pod);
}
END_TEST

START_TEST(mutate_an_invalid_admission_review_is_an_error)
{
    json_t *review = q("{'apiVersion': 'admission.k8s.io/v1', 'kind': 'AdmissionReview'}");
    struct warnings w;
    char err[256];
    ck_assert_ptr_null(mutate(review, &w, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "request"));
    warnings_free(&w);
    json_decref(review);
}
END_TEST

START_TEST(mutate_something_else_is_an_error)
{
    static const char *const inputs[] = {
        "{'apiVersion': 'v1', 'kind': 'Service', 'metadata': {'name': 'd'}}",
        "{'apiVersion': 'example.com/v1', 'kind': 'Deployment', 'metadata': {'name': 'd'}}",
        "{'kind': 'List', 'items': {}}",
        "{}",
        "[]",
        "'Pod'"};
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        json_t *input = q(inputs[i]);
        struct warnings w;
        char err[256];
        json_t *mutated = mutate(input, &w, err, sizeof(err));
        ck_assert_msg(mutated == NULL, "accepted %s", inputs[i]);
        ck_assert_msg(strstr(err, "not a Pod") != NULL, "error: %s", err);
        ck_assert_ptr_null(strchr(err, '\n'));
        warnings_free(&w);
        json_decref(input);
    }
}
END_TEST

/* ---- workloads ---------------------------------------------------------- */

static const struct {
    const char *group, *resource, *api_version, *kind;
} workloads[] = {
    {"apps", "deployments", "apps/v1", "Deployment"},
    {"apps", "statefulsets", "apps/v1", "StatefulSet"},
    {"apps", "daemonsets", "apps/v1", "DaemonSet"},
    {"apps", "replicasets", "apps/v1", "ReplicaSet"},
    {"batch", "jobs", "batch/v1", "Job"},
    {"batch", "cronjobs", "batch/v1", "CronJob"},
};
#define WORKLOADS (int)(sizeof(workloads) / sizeof(workloads[0]))

static const char cgo_static[] = "{'goinject.io/static-go': 'true', 'goinject.io/cgo': 'true'}";

/* Workload i with a pod template of these annotations and containers (quoted JSON). */
static json_t *make_workload(int i, const char *annotations, const char *containers)
{
    json_t *pod = make_pod(annotations, containers);
    json_t *template = json_pack("{s:O,s:O}", "metadata", json_object_get(pod, "metadata"), "spec",
                                 json_object_get(pod, "spec"));
    json_object_del(json_object_get(template, "metadata"), "namespace");
    json_object_del(json_object_get(template, "metadata"), "name");
    json_t *spec = json_pack("{s:o}", "template", template);
    if (strcmp(workloads[i].kind, "CronJob") == 0)
        spec = json_pack("{s:s,s:{s:o}}", "schedule", "@hourly", "jobTemplate", "spec", spec);
    json_decref(pod);
    return json_pack("{s:s,s:s,s:{s:s,s:s},s:o}", "apiVersion", workloads[i].api_version, "kind",
                     workloads[i].kind, "metadata", "name", "web", "namespace", "default", "spec",
                     spec);
}

/* Reviews operation of workload i in namespace ns, with the fast parser and the full one. */
static void review_workload(int i, const char *operation, const char *sub, const char *ns,
                            const json_t *workload, struct answer *a)
{
    json_t *review = make_review("admission.k8s.io/v1", operation, workloads[i].group,
                                 workloads[i].resource, sub, ns, workload);
    struct review_options full = {.full_parse = true};
    review_doc(review, workload, &full, &second);
    review_doc(review, workload, NULL, a);
    ck_assert_str_eq(a->out.body.data, second.out.body.data);
    json_decref(review);
}

static void expect_workload(const struct answer *a)
{
    ck_assert_msg(a->out.result == REVIEW_WORKLOAD, "result %s, want workload",
                  review_result_name(a->out.result));
    ck_assert_ptr_null(json_object_get(a->response, "patch"));
    for (int k = 0; k < ACTION_COUNT; k++)
        ck_assert_uint_eq(a->out.containers[k], 0);
}

static const char *const create_and_update[] = {"CREATE", "UPDATE"};

START_TEST(a_workload_gets_its_templates_warnings_without_a_patch)
{
    static const char *const needles[] = {"container \"app\"", "cgo", NULL};
    int kind = _i / 2;
    json_t *workload = make_workload(kind, cgo_static, one_app);
    review_workload(kind, create_and_update[_i % 2], NULL, "default", workload, &first);
    expect_workload(&first);
    expect_warning(&first, needles);
    ck_assert_uint_eq(json_array_size(json_object_get(first.response, "warnings")), 1);
    json_decref(workload);
}
END_TEST

START_TEST(a_workload_whose_pods_need_a_patch_gets_no_patch_and_no_warnings)
{
    json_t *workload = make_workload(_i, static_go_shell, one_app);
    review_workload(_i, "CREATE", NULL, "default", workload, &first);
    expect_workload(&first);
    expect_no_warnings(&first);
    json_decref(workload);
}
END_TEST

START_TEST(a_template_that_opted_out_gets_no_warnings)
{
    json_t *workload = make_workload(_i,
                                     "{'goinject.io/inject': 'false', 'goinject.io/static-go': "
                                     "'true', 'goinject.io/cgo': 'true'}",
                                     one_app);
    review_workload(_i, "CREATE", NULL, "default", workload, &first);
    expect_workload(&first);
    expect_no_warnings(&first);
    ck_assert_str_eq(json_string_value(json_object_get(first.out.log, "skip")), "pod-opt-out");
    json_decref(workload);
}
END_TEST

START_TEST(a_workload_in_an_excluded_namespace_gets_no_warnings)
{
    json_t *workload = make_workload(_i, cgo_static, one_app);
    review_workload(_i, "UPDATE", NULL, "kube-system", workload, &first);
    expect_workload(&first);
    expect_no_warnings(&first);
    json_decref(workload);
}
END_TEST

START_TEST(a_workload_delete_or_subresource_gets_nothing)
{
    json_t *workload = make_workload(_i, cgo_static, one_app);
    review_workload(_i, "DELETE", NULL, "default", workload, &first);
    expect_skipped(&first, SKIP_NOT_POD_CREATE);
    expect_no_warnings(&first);
    review_workload(_i, "UPDATE", "scale", "default", workload, &first);
    expect_skipped(&first, SKIP_NOT_POD_CREATE);
    expect_no_warnings(&first);
    json_decref(workload);
}
END_TEST

START_TEST(a_malformed_template_is_allowed_without_warnings)
{
    static const char *const specs[] = {"null",
                                        "{}",
                                        "{'template': 'x'}",
                                        "{'template': {'spec': {'containers': 'x'}}}",
                                        "{'template': {'metadata': 7, 'spec': {}}}",
                                        "{'jobTemplate': []}",
                                        "{'jobTemplate': {'spec': {'template': {'spec': null}}}}"};
    for (size_t s = 0; s < sizeof(specs) / sizeof(specs[0]); s++) {
        json_t *workload = make_workload(_i, cgo_static, one_app);
        json_object_set_new(workload, "spec", q(specs[s]));
        review_workload(_i, "CREATE", NULL, "default", workload, &first);
        expect_workload(&first);
        expect_no_warnings(&first);
        json_decref(workload);
    }
    /* Containers that are not objects: the template is planned and nothing breaks. */
    json_t *workload = make_workload(_i, cgo_static, "[7, {'name': 3}, {'name': 'app'}]");
    review_workload(_i, "CREATE", NULL, "default", workload, &first);
    expect_workload(&first);
    json_decref(workload);
}
END_TEST

START_TEST(a_template_that_would_fail_open_says_so)
{
    /* Two containers of one name: the check of the patched pod fails, so would the pods'. */
    static const char *const needles[] = {"pods of this template would be admitted unchanged",
                                          NULL};
    json_t *workload = make_workload(
        0, static_go_shell,
        "[{'name': 'app', 'image': 'a', 'command': ['/app']}, {'name': 'app', 'image': 'b',"
        " 'command': ['/b']}]");
    review_workload(0, "CREATE", NULL, "default", workload, &first);
    expect_workload(&first);
    expect_warning(&first, needles);
    json_decref(workload);
}
END_TEST

START_TEST(mutate_a_workload_gives_it_back_with_its_templates_warnings)
{
    json_t *workload = make_workload(_i, cgo_static, one_app);
    struct warnings w;
    char err[256];
    json_t *out = mutate(workload, &w, err, sizeof(err));
    ck_assert_msg(out != NULL, "%s", err);
    ck_assert(json_equal(out, workload));
    ck_assert_uint_eq(w.count, 1);
    ck_assert_ptr_nonnull(strstr(w.items[0], "cgo"));
    json_decref(out);
    warnings_free(&w);
    /* As an AdmissionReview and in a List: the same. */
    json_t *review = make_review("admission.k8s.io/v1", "UPDATE", workloads[_i].group,
                                 workloads[_i].resource, NULL, "default", workload);
    out = mutate(review, &w, err, sizeof(err));
    ck_assert_msg(out != NULL, "%s", err);
    ck_assert(json_equal(out, workload));
    ck_assert_uint_eq(w.count, 1);
    json_decref(out);
    warnings_free(&w);
    json_t *list =
        json_pack("{s:s,s:s,s:[O]}", "apiVersion", "v1", "kind", "List", "items", workload);
    out = mutate(list, &w, err, sizeof(err));
    ck_assert_msg(out != NULL, "%s", err);
    ck_assert(json_equal(out, list));
    ck_assert_uint_eq(w.count, 1);
    json_decref(out);
    warnings_free(&w);
    json_decref(list);
    json_decref(review);
    json_decref(workload);
}
END_TEST

START_TEST(result_and_skip_names)
{
    ck_assert_str_eq(review_result_name(REVIEW_PATCHED), "patched");
    ck_assert_str_eq(review_result_name(REVIEW_UNCHANGED), "unchanged");
    ck_assert_str_eq(review_result_name(REVIEW_SKIPPED), "skipped");
    ck_assert_str_eq(review_result_name(REVIEW_FAILED_OPEN), "failed-open");
    ck_assert_str_eq(review_result_name(REVIEW_INVALID), "invalid");
    ck_assert_str_eq(review_result_name(REVIEW_WORKLOAD), "workload");
    ck_assert_str_eq(review_result_name(REVIEW_RESULT_COUNT), "invalid");
    ck_assert_str_eq(skip_reason_name(SKIP_NOT_POD_CREATE), "not-pod-create");
    ck_assert_str_eq(skip_reason_name(SKIP_NAMESPACE), "namespace");
    ck_assert_str_eq(skip_reason_name(SKIP_WINDOWS), "windows");
    ck_assert_str_eq(skip_reason_name(SKIP_POD_OPT_OUT), "pod-opt-out");
    ck_assert_str_eq(skip_reason_name(SKIP_REASON_COUNT), "invalid");
}
END_TEST

static Suite *admission_suite(void)
{
    Suite *s = suite_create("admission");

    TCase *shape = tcase_create("answer");
    tcase_add_checked_fixture(shape, setup, teardown);
    tcase_add_test(shape, answer_echoes_v1_api_version_kind_and_uid);
    tcase_add_test(shape, answer_echoes_v1beta1_api_version);
    tcase_add_test(shape, answer_echoes_any_uid);
    tcase_add_test(shape, answer_has_patch_type_and_patch_only_with_a_patch);
    tcase_add_test(shape, answer_has_warnings_only_when_present);
    tcase_add_test(shape, answer_patch_is_base64_json_patch_that_applies);
    tcase_add_test(shape, answer_counts_containers_by_action);
    tcase_add_test(shape, result_and_skip_names);
    suite_add_tcase(s, shape);

    TCase *invalid = tcase_create("invalid");
    tcase_add_checked_fixture(invalid, setup, teardown);
    tcase_add_test(invalid, malformed_json_is_invalid);
    tcase_add_test(invalid, not_an_object_is_invalid);
    tcase_add_test(invalid, wrong_kind_is_invalid);
    tcase_add_test(invalid, wrong_api_version_is_invalid);
    tcase_add_test(invalid, no_request_is_invalid);
    tcase_add_test(invalid, no_uid_is_invalid);
    tcase_add_test(invalid, a_uid_with_nul_is_invalid);
    tcase_add_test(invalid, invalid_answer_logs_the_error);
    suite_add_tcase(s, invalid);

    TCase *selection = tcase_create("selection");
    tcase_add_checked_fixture(selection, setup, teardown);
    tcase_add_loop_test(selection, other_operations_are_allowed_without_a_patch, 0, 3);
    tcase_add_test(selection, other_resources_are_allowed_without_a_patch);
    tcase_add_test(selection, subresources_are_allowed_without_a_patch);
    tcase_add_test(selection, missing_operation_or_resource_is_allowed_without_a_patch);
    tcase_add_loop_test(selection, excluded_namespace_is_skipped, 0, 4);
    tcase_add_test(selection, excluded_namespace_from_object_metadata_when_request_has_none);
    tcase_add_test(selection, configured_excluded_namespace_is_skipped);
    tcase_add_test(selection, windows_pod_is_skipped);
    tcase_add_test(selection, pod_opt_out_annotation_is_skipped);
    tcase_add_test(selection, inject_by_default_false_skips_pods_without_the_annotation);
    tcase_add_test(selection, inject_by_default_false_injects_pods_with_inject_true);
    tcase_add_test(selection, malformed_inject_annotation_warns_and_uses_the_default);
    tcase_add_test(selection, per_container_opt_out_leaves_that_container_untouched);
    suite_add_tcase(s, selection);

    TCase *rules = tcase_create("rules end to end");
    tcase_add_checked_fixture(rules, setup, teardown);
    tcase_add_test(rules, cloud_native_not_static_go_gets_agent_mount_init_container_and_volume);
    tcase_add_test(rules, cloud_native_static_go_shell_known_gets_shell_wrapper_ptrace_and_agent);
    tcase_add_test(rules, cloud_native_static_go_shell_none_gets_glibc_tini_wrapper);
    tcase_add_test(rules, cloud_native_static_go_shell_none_musl_gets_musl_tini_wrapper);
    tcase_add_test(rules, cloud_native_static_go_shell_unknown_gets_tini_wrapper);
    tcase_add_test(rules, cloud_native_wrapper_from_image_entrypoint_and_cmd_sets_command_and_args);
    tcase_add_test(rules, cloud_native_static_go_e_unknown_warns_and_keeps_the_entrypoint);
    tcase_add_test(rules, cloud_native_static_go_under_a_shell_gets_ptrace_and_agent_only);
    tcase_add_test(rules, cloud_native_unsupported_gets_a_warning_and_nothing_else);
    tcase_add_test(rules, args_removed_when_e_has_one_element_and_the_pod_had_args);
    tcase_add_test(rules, null_args_removed_when_e_has_one_element);
    tcase_add_test(rules, no_args_op_when_e_has_one_element_and_the_pod_had_none);
    tcase_add_test(rules, wrapper_keeps_hostile_arguments_byte_for_byte);
    tcase_add_test(rules, classic_static_go_gets_only_sys_ptrace);
    tcase_add_test(rules, classic_not_static_go_gets_only_status_annotations);
    tcase_add_test(rules, classic_mode_never_adds_an_init_container);
    suite_add_tcase(s, rules);

    TCase *ptrace = tcase_create("SYS_PTRACE");
    tcase_add_checked_fixture(ptrace, setup, teardown);
    tcase_add_test(ptrace, ptrace_creates_the_security_context_with_one_add);
    tcase_add_test(ptrace, ptrace_creates_capabilities_in_an_existing_security_context);
    tcase_add_test(ptrace, ptrace_is_appended_to_an_existing_add_list);
    tcase_add_loop_test(ptrace, ptrace_is_never_duplicated_when_already_granted, 0, 2);
    tcase_add_test(ptrace, ptrace_cap_prefixed_name_gets_sys_ptrace_beside_it_with_a_warning);
    tcase_add_test(ptrace, ptrace_cap_all_is_not_all);
    tcase_add_test(ptrace, ptrace_cap_prefix_beside_sys_ptrace_warns_and_adds_nothing);
    tcase_add_test(ptrace, ptrace_cap_prefixed_drop_gives_no_drop_warning);
    tcase_add_test(ptrace, ptrace_is_not_added_to_privileged_containers);
    tcase_add_test(ptrace, ptrace_in_capabilities_drop_gives_a_warning);
    tcase_add_test(ptrace, ptrace_replaces_a_null_security_context);
    tcase_add_test(ptrace, ptrace_in_a_wrong_typed_security_context_fails_open);
    suite_add_tcase(s, ptrace);

    TCase *nonroot = tcase_create("SYS_PTRACE for a non-root user");
    tcase_add_checked_fixture(nonroot, setup, teardown);
    tcase_add_test(nonroot, nonroot_run_as_user_warns_and_keeps_sys_ptrace);
    tcase_add_test(nonroot, nonroot_privileged_container_gets_no_warning);
    tcase_add_test(nonroot, nonroot_run_as_user_0_gets_no_warning);
    tcase_add_test(nonroot, nonroot_pod_run_as_user_applies_to_the_container);
    tcase_add_test(nonroot, nonroot_pod_run_as_non_root_warns);
    tcase_add_test(nonroot, nonroot_container_run_as_non_root_false_overrides_the_pod);
    tcase_add_test(nonroot, nonroot_container_run_as_user_0_overrides_pod_run_as_non_root);
    tcase_add_test(nonroot, nonroot_image_user_from_the_catalog_warns);
    tcase_add_test(nonroot, nonroot_pod_run_as_user_0_overrides_the_image_user);
    tcase_add_test(nonroot, nonroot_entries_survive_a_reinvocation);
    tcase_add_test(nonroot, nonroot_root_pod_has_no_ptrace_ineffective_member);
    suite_add_tcase(s, nonroot);

    TCase *agent = tcase_create("agent mount and env");
    tcase_add_checked_fixture(agent, setup, teardown);
    tcase_add_test(agent, agent_mount_is_read_only_and_appended);
    tcase_add_test(agent, agent_env_is_added_with_one_add);
    tcase_add_test(agent, agent_env_a_user_variable_of_the_same_name_wins_with_a_warning);
    tcase_add_test(agent, agent_env_is_not_added_in_classic_mode);
    tcase_add_test(agent, agent_env_glibc_container_gets_any_and_glibc);
    tcase_add_test(agent, agent_env_musl_container_gets_any_and_musl);
    tcase_add_test(agent, agent_env_unknown_libc_gets_only_any_and_a_warning);
    tcase_add_test(agent, agent_env_libc_none_gets_only_any_without_a_warning);
    tcase_add_test(agent, agent_env_user_variables_win_over_any_and_libc_sets);
    tcase_add_test(agent, agent_env_follows_the_libc_of_every_fact_layer);
    tcase_add_test(agent, agent_env_and_the_tini_flavor_agree);
    tcase_add_test(agent, agent_env_only_for_containers_that_get_the_agent);
    tcase_add_test(agent, agent_env_list_ignores_the_libc);
    tcase_add_test(agent, agent_env_entries_survive_a_reinvocation);
    tcase_add_test(agent, agent_env_libc_sets_alone_make_the_fast_parse_read_env);
    tcase_add_test(agent, mount_path_conflict_leaves_the_container_alone_with_a_warning);
    tcase_add_test(agent, mount_path_conflict_in_one_container_does_not_stop_the_others);
    tcase_add_test(agent, agent_volume_mounted_elsewhere_leaves_the_container_alone);
    tcase_add_loop_test(agent, mount_path_spelled_differently_is_still_the_agents_path, 0,
                        sizeof(agent_path_spellings) / sizeof(agent_path_spellings[0]));
    tcase_add_test(agent, agent_volume_at_a_spelling_of_the_agents_path_is_the_agents_mount);
    suite_add_tcase(s, agent);

    TCase *clash = tcase_create("names goinject adds, already in the pod");
    tcase_add_checked_fixture(clash, setup, teardown);
    tcase_add_test(clash, user_config_map_volume_named_like_the_agents_is_a_clash);
    tcase_add_test(clash, user_claim_volume_named_like_the_agents_is_a_clash);
    tcase_add_test(clash, user_empty_dir_with_other_settings_named_like_the_agents_is_a_clash);
    tcase_add_test(clash, user_init_container_named_like_the_agents_is_a_clash);
    tcase_add_test(clash, init_container_running_the_copier_elsewhere_is_a_clash);
    tcase_add_test(clash, container_named_like_the_agents_init_container_is_a_clash);
    tcase_add_test(clash, clash_in_classic_mode_still_gives_sys_ptrace);
    tcase_add_test(clash, own_init_container_and_volume_from_an_earlier_pass_are_no_clash);
    suite_add_tcase(s, clash);

    TCase *init = tcase_create("init container and volume");
    tcase_add_checked_fixture(init, setup, teardown);
    tcase_add_test(init, init_container_goes_after_existing_init_containers_and_native_sidecars);
    tcase_add_test(init, init_container_passes_the_restricted_profile_with_resources);
    tcase_add_test(init, init_container_follows_the_configuration);
    tcase_add_test(init, volume_and_init_container_are_created_once_for_many_containers);
    tcase_add_test(init, volume_is_appended_to_existing_volumes);
    suite_add_tcase(s, init);

    TCase *annotations = tcase_create("annotations");
    tcase_add_checked_fixture(annotations, setup, teardown);
    tcase_add_test(annotations, status_annotations_record_mode_and_every_container);
    tcase_add_test(annotations,
                   missing_annotations_volumes_and_init_containers_are_each_created_by_one_add);
    tcase_add_test(annotations, existing_annotations_get_escaped_members);
    tcase_add_test(annotations, null_annotations_are_created);
    tcase_add_test(annotations, missing_metadata_is_created);
    tcase_add_test(annotations, custom_prefix_is_used_for_every_annotation);
    suite_add_tcase(s, annotations);

    TCase *ps = tcase_create("pod security");
    tcase_add_checked_fixture(ps, setup, teardown);
    tcase_add_test(ps, pod_security_enforced_namespace_gets_pod_security_action_with_a_warning);
    tcase_add_test(ps, pod_security_enforced_namespace_from_the_configuration);
    tcase_add_test(ps, cluster_wide_pod_security_default_enforces_every_namespace_not_exempt);
    tcase_add_test(ps, namespace_labelled_privileged_overrides_the_cluster_wide_default);
    tcase_add_test(ps, host_pid_static_go_gets_no_ptrace_and_a_warning);
    tcase_add_test(ps, host_pid_static_go_with_ptrace_with_host_pid_gets_ptrace);
    tcase_add_test(ps, host_pid_pod_without_static_go_is_unchanged_by_it);
    suite_add_tcase(s, ps);

    TCase *odd = tcase_create("odd pods and fail open");
    tcase_add_checked_fixture(odd, setup, teardown);
    tcase_add_test(odd, container_without_a_name_is_left_alone_with_a_warning);
    tcase_add_test(odd, container_with_a_string_command_is_left_alone_with_a_warning);
    tcase_add_test(odd, pod_without_containers_fails_open);
    tcase_add_test(odd, duplicate_mount_paths_in_the_pod_fail_open_after_the_check);
    tcase_add_test(odd, create_without_an_object_fails_open);
    tcase_add_test(odd, many_warnings_fit_the_answer_budget);
    suite_add_tcase(s, odd);

    TCase *again = tcase_create("idempotency and reinvocation");
    tcase_add_checked_fixture(again, setup, teardown);
    tcase_add_loop_test(again, applying_the_patch_and_reviewing_again_gives_no_patch, 0,
                        IDEMPOTENT_PODS * 2);
    tcase_add_test(again, reinvocation_patches_only_a_container_added_later);
    tcase_add_test(again, reinvocation_in_classic_mode_patches_only_the_new_container);
    tcase_add_test(again, a_pod_with_forty_containers);
    tcase_add_test(again, every_other_byte_of_the_pod_survives);
    suite_add_tcase(s, again);

    TCase *mutate_tc = tcase_create("admission_mutate");
    tcase_add_checked_fixture(mutate_tc, setup, teardown);
    tcase_add_test(mutate_tc, mutate_a_pod_gives_the_same_pod_as_the_review);
    tcase_add_test(mutate_tc, mutate_a_pod_reports_its_warnings);
    tcase_add_test(mutate_tc, mutate_a_list_of_pods_mutates_every_pod);
    tcase_add_test(mutate_tc, mutate_an_admission_review_gives_the_mutated_pod);
    tcase_add_test(mutate_tc, mutate_an_update_review_leaves_the_pod_alone_like_the_server);
    tcase_add_test(mutate_tc, mutate_an_invalid_admission_review_is_an_error);
    tcase_add_test(mutate_tc, mutate_something_else_is_an_error);
    suite_add_tcase(s, mutate_tc);

    TCase *workload_tc = tcase_create("workloads");
    tcase_add_checked_fixture(workload_tc, setup, teardown);
    tcase_add_loop_test(workload_tc, a_workload_gets_its_templates_warnings_without_a_patch, 0,
                        WORKLOADS * 2);
    tcase_add_loop_test(workload_tc,
                        a_workload_whose_pods_need_a_patch_gets_no_patch_and_no_warnings, 0,
                        WORKLOADS);
    tcase_add_loop_test(workload_tc, a_template_that_opted_out_gets_no_warnings, 0, WORKLOADS);
    tcase_add_loop_test(workload_tc, a_workload_in_an_excluded_namespace_gets_no_warnings, 0,
                        WORKLOADS);
    tcase_add_loop_test(workload_tc, a_workload_delete_or_subresource_gets_nothing, 0, WORKLOADS);
    tcase_add_loop_test(workload_tc, a_malformed_template_is_allowed_without_warnings, 0,
                        WORKLOADS);
    tcase_add_test(workload_tc, a_template_that_would_fail_open_says_so);
    tcase_add_loop_test(workload_tc, mutate_a_workload_gives_it_back_with_its_templates_warnings, 0,
                        WORKLOADS);
    suite_add_tcase(s, workload_tc);

    return s;
}

int main(void)
{
    arena_install(); /* as goinject's main() does: reviews use the arena */
    return run_suite(admission_suite());
}
