/* test_patch_build.c - explicit RFC 6902 operations, checked by applying them. */
#include "buf.h"
#include "jsonout.h"
#include "patch_apply.h"
#include "patch_build.h"
#include "patch_json.h"
#include "testutil.h"

/* The patch as its RFC 6902 JSON, kept until the next call (the tests compare it). */
static json_t *ops_of(const struct patch *p)
{
    static json_t *last;
    json_decref(last);
    last = patch_to_json(p);
    return last;
}

/* ---- fixture ----------------------------------------------------------- */

static struct patch patch;
static json_t *doc;

static void setup(void)
{
    ck_assert_int_eq(patch_init(&patch), 0);
    ck_assert_uint_eq(patch_count(&patch), 0);
    doc = NULL;
}

static void teardown(void)
{
    patch_free(&patch);
    json_decref(doc);
}

static void set_doc(const char *text)
{
    json_decref(doc);
    doc = json_lit(text);
}

/* Applies the patch built so far to doc and expects want. */
static void expect_applied(const char *want)
{
    char err[256] = "";
    json_t *result = patch_apply_built(doc, &patch, err, sizeof(err));
    ck_assert_msg(result != NULL, "patch does not apply: %s", err);
    ck_assert_json_eq(result, want);
    json_decref(result);
}

static const char *const security_keys[] = {"securityContext", "capabilities", "add"};

/* Appends SYS_PTRACE (and more) to /spec/containers/0/securityContext/capabilities/add. */
static int append_caps(json_t *values)
{
    json_t *container =
        json_array_get(json_object_get(json_object_get(doc, "spec"), "containers"), 0);
    return patch_append_nested(&patch, container, "/spec/containers/0", security_keys, 3, values);
}

/* ---- add and remove ---------------------------------------------------- */

START_TEST(patch_add_writes_one_add_operation)
{
    ck_assert_int_eq(patch_add(&patch, "/metadata/labels", json_pack("{s:s}", "a", "b")), 0);
    ck_assert_uint_eq(patch_count(&patch), 1);
    ck_assert_json_eq(
        ops_of(&patch),
        "[{\"op\": \"add\", \"path\": \"/metadata/labels\", \"value\": {\"a\": \"b\"}}]");
    set_doc("{\"metadata\": {}}");
    expect_applied("{\"metadata\": {\"labels\": {\"a\": \"b\"}}}");
}
END_TEST

START_TEST(patch_remove_writes_one_remove_operation)
{
    ck_assert_int_eq(patch_remove(&patch, "/spec/containers/0/args"), 0);
    ck_assert_json_eq(ops_of(&patch),
                      "[{\"op\": \"remove\", \"path\": \"/spec/containers/0/args\"}]");
    set_doc("{\"spec\": {\"containers\": [{\"name\": \"app\", \"args\": [\"x\"]}]}}");
    expect_applied("{\"spec\": {\"containers\": [{\"name\": \"app\"}]}}");
}
END_TEST

START_TEST(operations_keep_their_order)
{
    patch_add(&patch, "/a", json_integer(1));
    patch_remove(&patch, "/b");
    patch_add(&patch, "/c", json_null());
    ck_assert_uint_eq(patch_count(&patch), 3);
    ck_assert_json_eq(ops_of(&patch), "[{\"op\": \"add\", \"path\": \"/a\", \"value\": 1},"
                                      " {\"op\": \"remove\", \"path\": \"/b\"},"
                                      " {\"op\": \"add\", \"path\": \"/c\", \"value\": null}]");
    set_doc("{\"b\": true}");
    expect_applied("{\"a\": 1, \"c\": null}");
}
END_TEST

/* ---- patch_append_nested ----------------------------------------------- */

START_TEST(append_nested_security_context_missing)
{
    set_doc("{\"spec\": {\"containers\": [{\"name\": \"app\"}]}}");
    ck_assert_int_eq(append_caps(json_pack("[s]", "SYS_PTRACE")), 0);
    ck_assert_json_eq(ops_of(&patch),
                      "[{\"op\": \"add\", \"path\": \"/spec/containers/0/securityContext\","
                      " \"value\": {\"capabilities\": {\"add\": [\"SYS_PTRACE\"]}}}]");
    expect_applied("{\"spec\": {\"containers\": [{\"name\": \"app\", \"securityContext\":"
                   " {\"capabilities\": {\"add\": [\"SYS_PTRACE\"]}}}]}}");
}
END_TEST

START_TEST(append_nested_capabilities_missing)
{
    set_doc("{\"spec\": {\"containers\": [{\"name\": \"app\", \"securityContext\":"
            " {\"runAsUser\": 1000}}]}}");
    ck_assert_int_eq(append_caps(json_pack("[s]", "SYS_PTRACE")), 0);
    ck_assert_json_eq(
        ops_of(&patch),
        "[{\"op\": \"add\", \"path\": \"/spec/containers/0/securityContext/capabilities\","
        " \"value\": {\"add\": [\"SYS_PTRACE\"]}}]");
    expect_applied("{\"spec\": {\"containers\": [{\"name\": \"app\", \"securityContext\":"
                   " {\"runAsUser\": 1000, \"capabilities\": {\"add\": [\"SYS_PTRACE\"]}}}]}}");
}
END_TEST

START_TEST(append_nested_add_missing)
{
    set_doc("{\"spec\": {\"containers\": [{\"name\": \"app\", \"securityContext\":"
            " {\"capabilities\": {\"drop\": [\"NET_RAW\"]}}}]}}");
    ck_assert_int_eq(append_caps(json_pack("[s]", "SYS_PTRACE")), 0);
    ck_assert_json_eq(
        ops_of(&patch),
        "[{\"op\": \"add\", \"path\": \"/spec/containers/0/securityContext/capabilities/add\","
        " \"value\": [\"SYS_PTRACE\"]}]");
    expect_applied("{\"spec\": {\"containers\": [{\"name\": \"app\", \"securityContext\":"
                   " {\"capabilities\": {\"drop\": [\"NET_RAW\"], \"add\": [\"SYS_PTRACE\"]}}}]}}");
}
END_TEST

START_TEST(append_nested_add_exists_appends_with_dash)
{
    set_doc("{\"spec\": {\"containers\": [{\"name\": \"app\", \"securityContext\":"
            " {\"capabilities\": {\"add\": [\"NET_ADMIN\"]}}}]}}");
    ck_assert_int_eq(append_caps(json_pack("[s]", "SYS_PTRACE")), 0);
    ck_assert_json_eq(
        ops_of(&patch),
        "[{\"op\": \"add\", \"path\": \"/spec/containers/0/securityContext/capabilities/add/-\","
        " \"value\": \"SYS_PTRACE\"}]");
    expect_applied("{\"spec\": {\"containers\": [{\"name\": \"app\", \"securityContext\":"
                   " {\"capabilities\": {\"add\": [\"NET_ADMIN\", \"SYS_PTRACE\"]}}}]}}");
}
END_TEST

START_TEST(append_nested_empty_array_exists_appends_with_dash)
{
    set_doc("{\"spec\": {\"containers\": [{\"name\": \"app\", \"securityContext\":"
            " {\"capabilities\": {\"add\": []}}}]}}");
    ck_assert_int_eq(append_caps(json_pack("[s]", "SYS_PTRACE")), 0);
    ck_assert_uint_eq(patch_count(&patch), 1);
    expect_applied("{\"spec\": {\"containers\": [{\"name\": \"app\", \"securityContext\":"
                   " {\"capabilities\": {\"add\": [\"SYS_PTRACE\"]}}}]}}");
}
END_TEST

START_TEST(append_nested_null_security_context_is_treated_as_missing)
{
    set_doc("{\"spec\": {\"containers\": [{\"name\": \"app\", \"securityContext\": null}]}}");
    ck_assert_int_eq(append_caps(json_pack("[s]", "SYS_PTRACE")), 0);
    ck_assert_json_eq(ops_of(&patch),
                      "[{\"op\": \"add\", \"path\": \"/spec/containers/0/securityContext\","
                      " \"value\": {\"capabilities\": {\"add\": [\"SYS_PTRACE\"]}}}]");
    expect_applied("{\"spec\": {\"containers\": [{\"name\": \"app\", \"securityContext\":"
                   " {\"capabilities\": {\"add\": [\"SYS_PTRACE\"]}}}]}}");
}
END_TEST

START_TEST(append_nested_null_capabilities_is_treated_as_missing)
{
    set_doc("{\"spec\": {\"containers\": [{\"name\": \"app\", \"securityContext\":"
            " {\"capabilities\": null}}]}}");
    ck_assert_int_eq(append_caps(json_pack("[s]", "SYS_PTRACE")), 0);
    expect_applied("{\"spec\": {\"containers\": [{\"name\": \"app\", \"securityContext\":"
                   " {\"capabilities\": {\"add\": [\"SYS_PTRACE\"]}}}]}}");
}
END_TEST

START_TEST(append_nested_null_add_is_treated_as_missing)
{
    set_doc("{\"spec\": {\"containers\": [{\"name\": \"app\", \"securityContext\":"
            " {\"capabilities\": {\"add\": null}}}]}}");
    ck_assert_int_eq(append_caps(json_pack("[s]", "SYS_PTRACE")), 0);
    ck_assert_json_eq(
        ops_of(&patch),
        "[{\"op\": \"add\", \"path\": \"/spec/containers/0/securityContext/capabilities/add\","
        " \"value\": [\"SYS_PTRACE\"]}]");
    expect_applied("{\"spec\": {\"containers\": [{\"name\": \"app\", \"securityContext\":"
                   " {\"capabilities\": {\"add\": [\"SYS_PTRACE\"]}}}]}}");
}
END_TEST

START_TEST(append_nested_wrong_type_on_the_way_fails)
{
    static const char *const docs[] = {
        "{\"spec\": {\"containers\": [{\"securityContext\": \"privileged\"}]}}",
        "{\"spec\": {\"containers\": [{\"securityContext\": []}]}}",
        "{\"spec\": {\"containers\": [{\"securityContext\": {\"capabilities\": 7}}]}}",
        "{\"spec\": {\"containers\": [{\"securityContext\": {\"capabilities\": {\"add\": "
        "\"SYS_PTRACE\"}}}]}}",
        "{\"spec\": {\"containers\": [{\"securityContext\": {\"capabilities\": {\"add\": {}}}}]}}",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        set_doc(docs[i]);
        ck_assert_msg(append_caps(json_pack("[s]", "SYS_PTRACE")) == -1, "accepted %s", docs[i]);
    }
    ck_assert_uint_eq(patch_count(&patch), 0);
}
END_TEST

START_TEST(append_nested_many_values_to_a_missing_array_is_one_add)
{
    static const char *const keys[] = {"env"};
    set_doc("{\"spec\": {\"containers\": [{\"name\": \"app\"}]}}");
    json_t *container =
        json_array_get(json_object_get(json_object_get(doc, "spec"), "containers"), 0);
    json_t *values =
        json_lit("[{\"name\": \"A\", \"value\": \"1\"}, {\"name\": \"B\", \"value\": \"2\"},"
                 " {\"name\": \"C\", \"value\": \"3\"}]");
    ck_assert_int_eq(patch_append_nested(&patch, container, "/spec/containers/0", keys, 1, values),
                     0);
    ck_assert_uint_eq(patch_count(&patch), 1);
    ck_assert_json_eq(ops_of(&patch),
                      "[{\"op\": \"add\", \"path\": \"/spec/containers/0/env\", \"value\":"
                      " [{\"name\": \"A\", \"value\": \"1\"}, {\"name\": \"B\", \"value\": "
                      "\"2\"}, {\"name\": \"C\", \"value\": \"3\"}]}]");
    expect_applied("{\"spec\": {\"containers\": [{\"name\": \"app\", \"env\": [{\"name\": \"A\","
                   " \"value\": \"1\"}, {\"name\": \"B\", \"value\": \"2\"}, {\"name\": \"C\","
                   " \"value\": \"3\"}]}]}}");
}
END_TEST

START_TEST(append_nested_many_values_to_a_missing_nested_array_is_one_add)
{
    set_doc("{\"spec\": {\"containers\": [{\"name\": \"app\"}]}}");
    ck_assert_int_eq(append_caps(json_pack("[sss]", "SYS_PTRACE", "NET_ADMIN", "CHOWN")), 0);
    ck_assert_uint_eq(patch_count(&patch), 1);
    expect_applied(
        "{\"spec\": {\"containers\": [{\"name\": \"app\", \"securityContext\":"
        " {\"capabilities\": {\"add\": [\"SYS_PTRACE\", \"NET_ADMIN\", \"CHOWN\"]}}}]}}");
}
END_TEST

START_TEST(append_nested_many_values_to_an_existing_array_appends_each)
{
    static const char *const keys[] = {"volumes"};
    set_doc("{\"spec\": {\"volumes\": [{\"name\": \"data\", \"emptyDir\": {}}]}}");
    json_t *spec = json_object_get(doc, "spec");
    json_t *values = json_lit("[{\"name\": \"a\"}, {\"name\": \"b\"}]");
    ck_assert_int_eq(patch_append_nested(&patch, spec, "/spec", keys, 1, values), 0);
    ck_assert_json_eq(ops_of(&patch),
                      "[{\"op\": \"add\", \"path\": \"/spec/volumes/-\", \"value\": {\"name\": "
                      "\"a\"}}, {\"op\": \"add\", \"path\": \"/spec/volumes/-\", \"value\":"
                      " {\"name\": \"b\"}}]");
    expect_applied("{\"spec\": {\"volumes\": [{\"name\": \"data\", \"emptyDir\": {}},"
                   " {\"name\": \"a\"}, {\"name\": \"b\"}]}}");
}
END_TEST

START_TEST(append_nested_keys_are_escaped)
{
    static const char *const keys[] = {"a/b", "c~d"};
    set_doc("{\"x\": {}}");
    json_t *x = json_object_get(doc, "x");
    ck_assert_int_eq(patch_append_nested(&patch, x, "/x", keys, 2, json_pack("[i]", 1)), 0);
    ck_assert_json_eq(ops_of(&patch),
                      "[{\"op\": \"add\", \"path\": \"/x/a~1b\", \"value\": {\"c~d\": [1]}}]");
    expect_applied("{\"x\": {\"a/b\": {\"c~d\": [1]}}}");
    patch_free(&patch);
    patch_init(&patch);
    set_doc("{\"x\": {\"a/b\": {\"c~d\": [0]}}}");
    x = json_object_get(doc, "x");
    ck_assert_int_eq(patch_append_nested(&patch, x, "/x", keys, 2, json_pack("[i]", 1)), 0);
    ck_assert_json_eq(ops_of(&patch),
                      "[{\"op\": \"add\", \"path\": \"/x/a~1b/c~0d/-\", \"value\": 1}]");
    expect_applied("{\"x\": {\"a/b\": {\"c~d\": [0, 1]}}}");
}
END_TEST

START_TEST(append_nested_does_not_modify_the_document)
{
    set_doc("{\"spec\": {\"containers\": [{\"name\": \"app\"}]}}");
    char *before = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_int_eq(append_caps(json_pack("[s]", "SYS_PTRACE")), 0);
    char *after = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_str_eq(after, before);
    free(before);
    free(after);
}
END_TEST

/* ---- patch_set_members ------------------------------------------------- */

START_TEST(set_members_annotations_missing_creates_the_object)
{
    set_doc("{\"metadata\": {\"name\": \"p\"}}");
    json_t *metadata = json_object_get(doc, "metadata");
    json_t *members =
        json_pack("{s:s,s:s}", "goinject.io/status", "{}", "goinject.io/injected", "true");
    ck_assert_int_eq(patch_set_members(&patch, metadata, "/metadata", "annotations", members), 0);
    ck_assert_uint_eq(patch_count(&patch), 1);
    ck_assert_json_eq(ops_of(&patch),
                      "[{\"op\": \"add\", \"path\": \"/metadata/annotations\", \"value\":"
                      " {\"goinject.io/status\": \"{}\", \"goinject.io/injected\": \"true\"}}]");
    expect_applied("{\"metadata\": {\"name\": \"p\", \"annotations\": {\"goinject.io/status\":"
                   " \"{}\", \"goinject.io/injected\": \"true\"}}}");
}
END_TEST

START_TEST(set_members_annotations_null_creates_the_object)
{
    set_doc("{\"metadata\": {\"annotations\": null}}");
    json_t *metadata = json_object_get(doc, "metadata");
    ck_assert_int_eq(patch_set_members(&patch, metadata, "/metadata", "annotations",
                                       json_pack("{s:s}", "goinject.io/injected", "false")),
                     0);
    ck_assert_uint_eq(patch_count(&patch), 1);
    expect_applied("{\"metadata\": {\"annotations\": {\"goinject.io/injected\": \"false\"}}}");
}
END_TEST

START_TEST(set_members_annotations_existing_adds_each_member_escaped)
{
    set_doc("{\"metadata\": {\"annotations\": {\"team\": \"a\", \"goinject.io/injected\": "
            "\"false\"}}}");
    json_t *metadata = json_object_get(doc, "metadata");
    json_t *members =
        json_pack("{s:s,s:s}", "goinject.io/status", "{\"x\":1}", "goinject.io/injected", "true");
    ck_assert_int_eq(patch_set_members(&patch, metadata, "/metadata", "annotations", members), 0);
    ck_assert_json_eq(
        ops_of(&patch),
        "[{\"op\": \"add\", \"path\": \"/metadata/annotations/goinject.io~1status\","
        " \"value\": \"{\\\"x\\\":1}\"},"
        " {\"op\": \"add\", \"path\": \"/metadata/annotations/goinject.io~1injected\","
        " \"value\": \"true\"}]");
    expect_applied("{\"metadata\": {\"annotations\": {\"team\": \"a\", \"goinject.io/status\":"
                   " \"{\\\"x\\\":1}\", \"goinject.io/injected\": \"true\"}}}");
}
END_TEST

START_TEST(set_members_escapes_tilde_before_slash)
{
    set_doc("{\"metadata\": {\"annotations\": {}}}");
    json_t *metadata = json_object_get(doc, "metadata");
    json_t *members = json_pack("{s:s,s:s,s:s}", "a~b/c", "1", "~1", "2", "/~0", "3");
    ck_assert_int_eq(patch_set_members(&patch, metadata, "/metadata", "annotations", members), 0);
    ck_assert_json_eq(
        ops_of(&patch),
        "[{\"op\": \"add\", \"path\": \"/metadata/annotations/a~0b~1c\", \"value\": \"1\"},"
        " {\"op\": \"add\", \"path\": \"/metadata/annotations/~01\", \"value\": \"2\"},"
        " {\"op\": \"add\", \"path\": \"/metadata/annotations/~1~00\", \"value\": \"3\"}]");
    expect_applied("{\"metadata\": {\"annotations\": {\"a~b/c\": \"1\", \"~1\": \"2\", \"/~0\": "
                   "\"3\"}}}");
}
END_TEST

START_TEST(set_members_escapes_the_key_itself)
{
    set_doc("{\"metadata\": {}}");
    json_t *metadata = json_object_get(doc, "metadata");
    ck_assert_int_eq(
        patch_set_members(&patch, metadata, "/metadata", "a/b~c", json_pack("{s:i}", "x", 1)), 0);
    ck_assert_json_eq(
        ops_of(&patch),
        "[{\"op\": \"add\", \"path\": \"/metadata/a~1b~0c\", \"value\": {\"x\": 1}}]");
    expect_applied("{\"metadata\": {\"a/b~c\": {\"x\": 1}}}");
}
END_TEST

START_TEST(set_members_wrong_type_fails)
{
    set_doc("{\"metadata\": {\"annotations\": [\"a\"]}}");
    json_t *metadata = json_object_get(doc, "metadata");
    ck_assert_int_eq(patch_set_members(&patch, metadata, "/metadata", "annotations",
                                       json_pack("{s:s}", "k", "v")),
                     -1);
    set_doc("{\"metadata\": {\"annotations\": \"a=b\"}}");
    metadata = json_object_get(doc, "metadata");
    ck_assert_int_eq(patch_set_members(&patch, metadata, "/metadata", "annotations",
                                       json_pack("{s:s}", "k", "v")),
                     -1);
    ck_assert_uint_eq(patch_count(&patch), 0);
}
END_TEST

/* ---- a whole pod ------------------------------------------------------- */

START_TEST(every_builder_together_gives_the_expected_pod)
{
    static const char *const mounts[] = {"volumeMounts"};
    static const char *const inits[] = {"initContainers"};
    static const char *const volumes[] = {"volumes"};
    set_doc(
        "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"p\"},"
        " \"spec\": {\"containers\": [{\"name\": \"app\", \"command\": [\"/app\"],"
        " \"args\": [\"x\"], \"volumeMounts\": [{\"name\": \"data\", \"mountPath\": \"/data\"}]}],"
        " \"volumes\": null}}");
    json_t *spec = json_object_get(doc, "spec");
    json_t *container = json_array_get(json_object_get(spec, "containers"), 0);
    ck_assert_int_eq(
        patch_add(&patch, "/spec/containers/0/command", json_pack("[sss]", "/t", "--", "/app")), 0);
    ck_assert_int_eq(patch_remove(&patch, "/spec/containers/0/args"), 0);
    ck_assert_int_eq(append_caps(json_pack("[s]", "SYS_PTRACE")), 0);
    ck_assert_int_eq(
        patch_append_nested(&patch, container, "/spec/containers/0", mounts, 1,
                            json_pack("[{s:s,s:s}]", "name", "agent", "mountPath", "/a")),
        0);
    ck_assert_int_eq(
        patch_append_nested(&patch, spec, "/spec", inits, 1, json_pack("[{s:s}]", "name", "agent")),
        0);
    ck_assert_int_eq(patch_append_nested(&patch, spec, "/spec", volumes, 1,
                                         json_pack("[{s:s,s:{}}]", "name", "agent", "emptyDir")),
                     0);
    ck_assert_int_eq(patch_set_members(&patch, json_object_get(doc, "metadata"), "/metadata",
                                       "annotations",
                                       json_pack("{s:s}", "goinject.io/injected", "true")),
                     0);
    ck_assert_uint_eq(patch_count(&patch), 7);
    expect_applied("{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"p\","
                   " \"annotations\": {\"goinject.io/injected\": \"true\"}},"
                   " \"spec\": {\"containers\": [{\"name\": \"app\", \"command\": [\"/t\", \"--\", "
                   "\"/app\"],"
                   " \"volumeMounts\": [{\"name\": \"data\", \"mountPath\": \"/data\"},"
                   " {\"name\": \"agent\", \"mountPath\": \"/a\"}],"
                   " \"securityContext\": {\"capabilities\": {\"add\": [\"SYS_PTRACE\"]}}}],"
                   " \"initContainers\": [{\"name\": \"agent\"}],"
                   " \"volumes\": [{\"name\": \"agent\", \"emptyDir\": {}}]}}");
}
END_TEST

/* ---- the written document ---------------------------------------------- */

START_TEST(patch_write_is_what_jansson_writes_of_the_document)
{
    json_t *known_value = json_lit("{\"name\":\"known\",\"list\":[1,\"caf\\u00e9\"]}");
    ck_assert_int_eq(patch_add(&patch, "/a~1b/c~0d/-", json_lit("[\"x\", {\"q\": \"\\\"\"}]")), 0);
    ck_assert_int_eq(patch_remove(&patch, "/spec/containers/0/args"), 0);
    ck_assert_int_eq(patch_add(&patch, "/known", json_incref(known_value)), 0);
    ck_assert_int_eq(patch_add(&patch, "/null", json_null()), 0);
    char *want = json_dumps(ops_of(&patch), JSON_COMPACT);
    struct buf plain = BUF_INIT, with_known = BUF_INIT;
    ck_assert_int_eq(patch_write(&plain, &patch, NULL), 0);
    ck_assert_str_eq(plain.data, want);
    /*
     * A known value's text is copied as it was written, wherever the value appears:
     * changed afterwards (which the configuration never does), the answer shows the copy.
     */
    const json_t *values[] = {known_value};
    struct jsonout_known *known = jsonout_known_new(values, 1);
    ck_assert_ptr_nonnull(known);
    json_object_set_new(known_value, "name", json_string("changed"));
    ck_assert_int_eq(patch_write(&with_known, &patch, known), 0);
    ck_assert_ptr_nonnull(strstr(with_known.data, "{\"op\":\"add\",\"path\":\"/known\",\"value\":"
                                                  "{\"name\":\"known\","));
    jsonout_known_free(known);
    struct buf empty = BUF_INIT;
    struct patch none;
    patch_init(&none);
    ck_assert_int_eq(patch_write(&empty, &none, NULL), 0);
    ck_assert_str_eq(empty.data, "[]");
    buf_free(&empty);
    buf_free(&plain);
    buf_free(&with_known);
    free(want);
    json_decref(known_value);
}
END_TEST

static Suite *patch_build_suite(void)
{
    Suite *s = suite_create("patch_build");

    TCase *basic = tcase_create("add and remove");
    tcase_add_checked_fixture(basic, setup, teardown);
    tcase_add_test(basic, patch_add_writes_one_add_operation);
    tcase_add_test(basic, patch_remove_writes_one_remove_operation);
    tcase_add_test(basic, operations_keep_their_order);
    suite_add_tcase(s, basic);

    TCase *nested = tcase_create("append nested");
    tcase_add_checked_fixture(nested, setup, teardown);
    tcase_add_test(nested, append_nested_security_context_missing);
    tcase_add_test(nested, append_nested_capabilities_missing);
    tcase_add_test(nested, append_nested_add_missing);
    tcase_add_test(nested, append_nested_add_exists_appends_with_dash);
    tcase_add_test(nested, append_nested_empty_array_exists_appends_with_dash);
    tcase_add_test(nested, append_nested_null_security_context_is_treated_as_missing);
    tcase_add_test(nested, append_nested_null_capabilities_is_treated_as_missing);
    tcase_add_test(nested, append_nested_null_add_is_treated_as_missing);
    tcase_add_test(nested, append_nested_wrong_type_on_the_way_fails);
    tcase_add_test(nested, append_nested_many_values_to_a_missing_array_is_one_add);
    tcase_add_test(nested, append_nested_many_values_to_a_missing_nested_array_is_one_add);
    tcase_add_test(nested, append_nested_many_values_to_an_existing_array_appends_each);
    tcase_add_test(nested, append_nested_keys_are_escaped);
    tcase_add_test(nested, append_nested_does_not_modify_the_document);
    suite_add_tcase(s, nested);

    TCase *members = tcase_create("set members");
    tcase_add_checked_fixture(members, setup, teardown);
    tcase_add_test(members, set_members_annotations_missing_creates_the_object);
    tcase_add_test(members, set_members_annotations_null_creates_the_object);
    tcase_add_test(members, set_members_annotations_existing_adds_each_member_escaped);
    tcase_add_test(members, set_members_escapes_tilde_before_slash);
    tcase_add_test(members, set_members_escapes_the_key_itself);
    tcase_add_test(members, set_members_wrong_type_fails);
    suite_add_tcase(s, members);

    TCase *pod = tcase_create("pod");
    tcase_add_checked_fixture(pod, setup, teardown);
    tcase_add_test(pod, every_builder_together_gives_the_expected_pod);
    tcase_add_test(pod, patch_write_is_what_jansson_writes_of_the_document);
    suite_add_tcase(s, pod);

    return s;
}

int main(void)
{
    return run_suite(patch_build_suite());
}
