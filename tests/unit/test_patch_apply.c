/* test_patch_apply.c - RFC 6902 JSON Patch application. */
#include "buf.h"
#include "patch_json.h"
#include "pointer_get.h"
#include "testutil.h"

/* ---- helpers ----------------------------------------------------------- */

/* Serialises a value so a test can check it was not modified. */
static char *snapshot(const json_t *value)
{
    char *text = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    ck_assert_ptr_nonnull(text);
    return text;
}

/* Applies patch to doc and expects want; also checks that doc and patch are untouched. */
static void expect_patch(const char *doc_text, const char *patch_text, const char *want_text)
{
    json_t *doc = json_lit(doc_text);
    json_t *patch = json_lit(patch_text);
    char *doc_before = snapshot(doc);
    char *patch_before = snapshot(patch);
    char err[256] = "unset";

    json_t *result = patch_apply(doc, patch, err, sizeof err);
    ck_assert_msg(result != NULL, "patch failed: %s", err);
    ck_assert_str_eq(err, "");
    ck_assert_json_eq(result, want_text);

    char *doc_after = snapshot(doc);
    char *patch_after = snapshot(patch);
    ck_assert_str_eq(doc_after, doc_before);
    ck_assert_str_eq(patch_after, patch_before);

    free(doc_before);
    free(doc_after);
    free(patch_before);
    free(patch_after);
    json_decref(result);
    json_decref(patch);
    json_decref(doc);
}

/*
 * Applies patch to doc and expects failure with an error that starts with
 * want_prefix; the input document must come out untouched.
 */
static void expect_patch_error(const char *doc_text, const char *patch_text,
                               const char *want_prefix)
{
    json_t *doc = json_lit(doc_text);
    json_t *patch = json_lit(patch_text);
    char *doc_before = snapshot(doc);
    char err[256] = "";

    json_t *result = patch_apply(doc, patch, err, sizeof err);
    ck_assert_msg(result == NULL, "patch unexpectedly succeeded");
    ck_assert_msg(strncmp(err, want_prefix, strlen(want_prefix)) == 0,
                  "error \"%s\" does not start with \"%s\"", err, want_prefix);
    ck_assert_msg(strchr(err, '\n') == NULL, "error is not one line: %s", err);

    char *doc_after = snapshot(doc);
    ck_assert_str_eq(doc_after, doc_before);

    free(doc_before);
    free(doc_after);
    json_decref(patch);
    json_decref(doc);
}

/* ---- RFC 6902 Appendix A ----------------------------------------------- */

START_TEST(a01_adding_an_object_member)
{
    expect_patch("{\"foo\": \"bar\"}",
                 "[{\"op\": \"add\", \"path\": \"/baz\", \"value\": \"qux\"}]",
                 "{\"baz\": \"qux\", \"foo\": \"bar\"}");
}
END_TEST

START_TEST(a02_adding_an_array_element)
{
    expect_patch("{\"foo\": [\"bar\", \"baz\"]}",
                 "[{\"op\": \"add\", \"path\": \"/foo/1\", \"value\": \"qux\"}]",
                 "{\"foo\": [\"bar\", \"qux\", \"baz\"]}");
}
END_TEST

START_TEST(a03_removing_an_object_member)
{
    expect_patch("{\"baz\": \"qux\", \"foo\": \"bar\"}",
                 "[{\"op\": \"remove\", \"path\": \"/baz\"}]", "{\"foo\": \"bar\"}");
}
END_TEST

START_TEST(a04_removing_an_array_element)
{
    expect_patch("{\"foo\": [\"bar\", \"qux\", \"baz\"]}",
                 "[{\"op\": \"remove\", \"path\": \"/foo/1\"}]", "{\"foo\": [\"bar\", \"baz\"]}");
}
END_TEST

START_TEST(a05_replacing_a_value)
{
    expect_patch("{\"baz\": \"qux\", \"foo\": \"bar\"}",
                 "[{\"op\": \"replace\", \"path\": \"/baz\", \"value\": \"boo\"}]",
                 "{\"baz\": \"boo\", \"foo\": \"bar\"}");
}
END_TEST

START_TEST(a06_moving_a_value)
{
    expect_patch(
        "{\"foo\": {\"bar\": \"baz\", \"waldo\": \"fred\"}, \"qux\": {\"corge\": \"grault\"}}",
        "[{\"op\": \"move\", \"from\": \"/foo/waldo\", \"path\": \"/qux/thud\"}]",
        "{\"foo\": {\"bar\": \"baz\"}, "
        "\"qux\": {\"corge\": \"grault\", \"thud\": \"fred\"}}");
}
END_TEST

START_TEST(a07_moving_an_array_element)
{
    expect_patch("{\"foo\": [\"all\", \"grass\", \"cows\", \"eat\"]}",
                 "[{\"op\": \"move\", \"from\": \"/foo/1\", \"path\": \"/foo/3\"}]",
                 "{\"foo\": [\"all\", \"cows\", \"eat\", \"grass\"]}");
}
END_TEST

START_TEST(a08_testing_a_value_success)
{
    expect_patch("{\"baz\": \"qux\", \"foo\": [\"a\", 2, \"c\"]}",
                 "[{\"op\": \"test\", \"path\": \"/baz\", \"value\": \"qux\"},"
                 " {\"op\": \"test\", \"path\": \"/foo/1\", \"value\": 2}]",
                 "{\"baz\": \"qux\", \"foo\": [\"a\", 2, \"c\"]}");
}
END_TEST

START_TEST(a09_testing_a_value_error)
{
    expect_patch_error("{\"baz\": \"qux\"}",
                       "[{\"op\": \"test\", \"path\": \"/baz\", \"value\": \"bar\"}]",
                       "operation 0 (test): path \"/baz\": value differs");
}
END_TEST

START_TEST(a10_adding_a_nested_member_object)
{
    expect_patch("{\"foo\": \"bar\"}",
                 "[{\"op\": \"add\", \"path\": \"/child\", \"value\": {\"grandchild\": {}}}]",
                 "{\"foo\": \"bar\", \"child\": {\"grandchild\": {}}}");
}
END_TEST

START_TEST(a11_ignoring_unrecognized_elements)
{
    expect_patch("{\"foo\": \"bar\"}",
                 "[{\"op\": \"add\", \"path\": \"/baz\", \"value\": \"qux\", \"xyz\": 123}]",
                 "{\"foo\": \"bar\", \"baz\": \"qux\"}");
}
END_TEST

START_TEST(a12_adding_to_a_nonexistent_target)
{
    expect_patch_error("{\"foo\": \"bar\"}",
                       "[{\"op\": \"add\", \"path\": \"/baz/bat\", \"value\": \"qux\"}]",
                       "operation 0 (add): path \"/baz/bat\": parent does not exist");
}
END_TEST

START_TEST(a13_invalid_json_patch_is_rejected_by_the_parser)
{
    /* Duplicate "op" members make this invalid JSON for a patch. */
    const char *text =
        "[{\"op\": \"add\", \"path\": \"/baz\", \"value\": \"qux\", \"op\": \"remove\"}]";
    json_error_t error;
    json_t *rejected = json_loads(text, JSON_REJECT_DUPLICATES, &error);
    ck_assert_ptr_null(rejected);
    /* Without the flag jansson keeps the last "op": whoever loads patches must pass it. */
    json_t *lenient = json_loads(text, 0, &error);
    ck_assert_ptr_nonnull(lenient);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(lenient, 0), "op")),
                     "remove");
    json_decref(lenient);
}
END_TEST

START_TEST(a14_tilde_escape_ordering)
{
    expect_patch("{\"/\": 9, \"~1\": 10}",
                 "[{\"op\": \"test\", \"path\": \"/~01\", \"value\": 10}]",
                 "{\"/\": 9, \"~1\": 10}");
}
END_TEST

START_TEST(a15_comparing_strings_and_numbers)
{
    expect_patch_error("{\"/\": 9, \"~1\": 10}",
                       "[{\"op\": \"test\", \"path\": \"/~01\", \"value\": \"10\"}]",
                       "operation 0 (test): path \"/~01\": value differs");
}
END_TEST

START_TEST(a16_adding_an_array_value)
{
    expect_patch("{\"foo\": [\"bar\"]}",
                 "[{\"op\": \"add\", \"path\": \"/foo/-\", \"value\": [\"abc\", \"def\"]}]",
                 "{\"foo\": [\"bar\", [\"abc\", \"def\"]]}");
}
END_TEST

/* ---- add --------------------------------------------------------------- */

START_TEST(add_replaces_existing_member)
{
    expect_patch("{\"a\": 1}", "[{\"op\": \"add\", \"path\": \"/a\", \"value\": 2}]", "{\"a\": 2}");
}
END_TEST

START_TEST(add_at_index_equal_to_size_appends)
{
    expect_patch("[1, 2]", "[{\"op\": \"add\", \"path\": \"/2\", \"value\": 3}]", "[1, 2, 3]");
}
END_TEST

START_TEST(add_at_dash_of_nested_array)
{
    expect_patch(
        "{\"spec\": {\"containers\": [{\"name\": \"app\"}]}}",
        "[{\"op\": \"add\", \"path\": \"/spec/containers/-\", \"value\": {\"name\": \"s\"}}]",
        "{\"spec\": {\"containers\": [{\"name\": \"app\"}, {\"name\": \"s\"}]}}");
}
END_TEST

START_TEST(add_at_dash_of_empty_array)
{
    expect_patch("{\"a\": []}", "[{\"op\": \"add\", \"path\": \"/a/-\", \"value\": 1}]",
                 "{\"a\": [1]}");
}
END_TEST

START_TEST(add_member_with_slash_and_tilde_via_escaped_pointer)
{
    expect_patch("{\"metadata\": {\"annotations\": {}}}",
                 "[{\"op\": \"add\", \"path\": \"/metadata/annotations/goinject.io~1x~0y\","
                 " \"value\": \"on\"}]",
                 "{\"metadata\": {\"annotations\": {\"goinject.io/x~y\": \"on\"}}}");
}
END_TEST

START_TEST(add_member_with_empty_name)
{
    expect_patch("{}", "[{\"op\": \"add\", \"path\": \"/\", \"value\": 1}]", "{\"\": 1}");
}
END_TEST

START_TEST(add_member_with_nul_byte_in_name)
{
    json_t *doc = json_lit("{}");
    json_t *patch = json_lit("[{\"op\": \"add\", \"path\": \"/a\\u0000b\", \"value\": 1}]");
    char err[256];
    json_t *result = patch_apply(doc, patch, err, sizeof err);
    ck_assert_msg(result != NULL, "patch failed: %s", err);
    ck_assert_uint_eq(json_object_size(result), 1);
    ck_assert_int_eq(json_integer_value(json_object_getn(result, "a\0b", 3)), 1);
    ck_assert_ptr_null(json_object_get(result, "a"));
    json_decref(result);
    json_decref(patch);
    json_decref(doc);
}
END_TEST

START_TEST(add_with_empty_path_replaces_document)
{
    expect_patch("{\"a\": 1}", "[{\"op\": \"add\", \"path\": \"\", \"value\": [true]}]", "[true]");
}
END_TEST

START_TEST(add_null_value_is_a_value)
{
    expect_patch("{}", "[{\"op\": \"add\", \"path\": \"/a\", \"value\": null}]", "{\"a\": null}");
}
END_TEST

START_TEST(add_leading_zero_index_rejected)
{
    expect_patch_error("{\"foo\": [1, 2]}",
                       "[{\"op\": \"add\", \"path\": \"/foo/01\", \"value\": 0}]",
                       "operation 0 (add): path \"/foo/01\": not a valid array index");
}
END_TEST

START_TEST(add_index_beyond_size_rejected)
{
    expect_patch_error("{\"foo\": [1]}", "[{\"op\": \"add\", \"path\": \"/foo/2\", \"value\": 0}]",
                       "operation 0 (add): path \"/foo/2\": array index out of range");
}
END_TEST

START_TEST(add_into_scalar_rejected)
{
    expect_patch_error(
        "{\"a\": 1}", "[{\"op\": \"add\", \"path\": \"/a/b\", \"value\": 0}]",
        "operation 0 (add): path \"/a/b\": parent is neither an object nor an array");
}
END_TEST

START_TEST(add_value_is_shared_and_copied_on_write)
{
    json_t *doc = json_lit("{}");
    json_t *patch = json_lit("[{\"op\": \"add\", \"path\": \"/a\", \"value\": {\"k\": 1}},"
                             " {\"op\": \"add\", \"path\": \"/a/k\", \"value\": 2}]");
    json_t *value = json_object_get(json_array_get(patch, 0), "value");
    char err[256];
    json_t *result = patch_apply(doc, patch, err, sizeof err);
    ck_assert_msg(result != NULL, "patch failed: %s", err);
    /* The second operation edited a copy: the patch's value is as it was. */
    ck_assert_ptr_ne(json_object_get(result, "a"), value);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(result, "a"), "k")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(value, "k")), 1);
    json_decref(result);
    /* One operation: the value is held by reference, not copied. */
    json_t *one = json_lit("[{\"op\": \"add\", \"path\": \"/a\", \"value\": {\"k\": 1}}]");
    result = patch_apply(doc, one, err, sizeof err);
    ck_assert_ptr_eq(json_object_get(result, "a"),
                     json_object_get(json_array_get(one, 0), "value"));
    json_decref(result);
    json_decref(one);
    json_decref(patch);
    json_decref(doc);
}
END_TEST

/* ---- remove ------------------------------------------------------------ */

START_TEST(remove_array_element_shifts_the_rest)
{
    expect_patch("[0, 1, 2, 3]",
                 "[{\"op\": \"remove\", \"path\": \"/1\"}, {\"op\": \"remove\", "
                 "\"path\": \"/1\"}]",
                 "[0, 3]");
}
END_TEST

START_TEST(remove_missing_member_rejected)
{
    expect_patch_error("{\"a\": 1}", "[{\"op\": \"remove\", \"path\": \"/b\"}]",
                       "operation 0 (remove): path \"/b\": does not exist");
}
END_TEST

START_TEST(remove_dash_rejected)
{
    expect_patch_error("[1]", "[{\"op\": \"remove\", \"path\": \"/-\"}]",
                       "operation 0 (remove): path \"/-\": does not exist");
}
END_TEST

START_TEST(remove_index_beyond_end_rejected)
{
    expect_patch_error("[1]", "[{\"op\": \"remove\", \"path\": \"/1\"}]",
                       "operation 0 (remove): path \"/1\": does not exist");
}
END_TEST

START_TEST(remove_of_whole_document_rejected)
{
    expect_patch_error("{\"a\": 1}", "[{\"op\": \"remove\", \"path\": \"\"}]",
                       "operation 0 (remove): cannot remove the whole document");
}
END_TEST

/* ---- replace ----------------------------------------------------------- */

START_TEST(replace_array_element)
{
    expect_patch("[1, 2, 3]", "[{\"op\": \"replace\", \"path\": \"/1\", \"value\": \"two\"}]",
                 "[1, \"two\", 3]");
}
END_TEST

START_TEST(replace_whole_document)
{
    expect_patch("{\"a\": 1}", "[{\"op\": \"replace\", \"path\": \"\", \"value\": 42}]", "42");
}
END_TEST

START_TEST(replace_missing_member_rejected)
{
    expect_patch_error("{\"a\": 1}", "[{\"op\": \"replace\", \"path\": \"/b\", \"value\": 2}]",
                       "operation 0 (replace): path \"/b\": does not exist");
}
END_TEST

START_TEST(replace_at_dash_rejected)
{
    expect_patch_error("[1]", "[{\"op\": \"replace\", \"path\": \"/-\", \"value\": 2}]",
                       "operation 0 (replace): path \"/-\": does not exist");
}
END_TEST

/* ---- move -------------------------------------------------------------- */

START_TEST(move_into_own_child_rejected)
{
    expect_patch_error("{\"a\": {\"b\": {}}}",
                       "[{\"op\": \"move\", \"from\": \"/a\", \"path\": \"/a/b/c\"}]",
                       "operation 0 (move): from \"/a\": cannot move a value into one of its "
                       "own children");
}
END_TEST

START_TEST(move_document_into_member_rejected)
{
    expect_patch_error("{\"a\": 1}", "[{\"op\": \"move\", \"from\": \"\", \"path\": \"/b\"}]",
                       "operation 0 (move): from \"\": cannot move a value into one of its "
                       "own children");
}
END_TEST

START_TEST(move_to_sibling_sharing_a_name_prefix_allowed)
{
    /* "/a" is a string prefix of "/ab" but not an ancestor of it. */
    expect_patch("{\"a\": 1}", "[{\"op\": \"move\", \"from\": \"/a\", \"path\": \"/ab\"}]",
                 "{\"ab\": 1}");
}
END_TEST

START_TEST(move_to_same_location_is_a_no_op)
{
    expect_patch("{\"a\": [1, 2]}", "[{\"op\": \"move\", \"from\": \"/a/1\", \"path\": \"/a/1\"}]",
                 "{\"a\": [1, 2]}");
}
END_TEST

START_TEST(move_to_ancestor_replaces_it)
{
    expect_patch("{\"a\": {\"b\": {\"c\": 1}}}",
                 "[{\"op\": \"move\", \"from\": \"/a/b\", \"path\": \"/a\"}]",
                 "{\"a\": {\"c\": 1}}");
}
END_TEST

START_TEST(move_member_to_document_root)
{
    expect_patch("{\"a\": {\"b\": 1}}", "[{\"op\": \"move\", \"from\": \"/a\", \"path\": \"\"}]",
                 "{\"b\": 1}");
}
END_TEST

START_TEST(move_from_missing_location_rejected)
{
    expect_patch_error("{\"a\": 1}", "[{\"op\": \"move\", \"from\": \"/x\", \"path\": \"/y\"}]",
                       "operation 0 (move): from \"/x\": does not exist");
}
END_TEST

START_TEST(move_to_invalid_target_rejected)
{
    expect_patch_error("{\"a\": 1}", "[{\"op\": \"move\", \"from\": \"/a\", \"path\": \"/x/y\"}]",
                       "operation 0 (move): path \"/x/y\": parent does not exist");
}
END_TEST

/* ---- copy -------------------------------------------------------------- */

START_TEST(copy_makes_an_independent_deep_copy)
{
    expect_patch("{\"a\": {\"list\": [1]}}",
                 "[{\"op\": \"copy\", \"from\": \"/a\", \"path\": \"/b\"},"
                 " {\"op\": \"add\", \"path\": \"/b/list/-\", \"value\": 2}]",
                 "{\"a\": {\"list\": [1]}, \"b\": {\"list\": [1, 2]}}");
}
END_TEST

START_TEST(copy_document_into_its_own_member)
{
    expect_patch("{\"a\": 1}", "[{\"op\": \"copy\", \"from\": \"\", \"path\": \"/self\"}]",
                 "{\"a\": 1, \"self\": {\"a\": 1}}");
}
END_TEST

START_TEST(copy_from_missing_location_rejected)
{
    expect_patch_error("{}", "[{\"op\": \"copy\", \"from\": \"/x\", \"path\": \"/y\"}]",
                       "operation 0 (copy): from \"/x\": does not exist");
}
END_TEST

/* ---- test -------------------------------------------------------------- */

START_TEST(test_integer_equals_equal_real)
{
    expect_patch("{\"n\": 1}", "[{\"op\": \"test\", \"path\": \"/n\", \"value\": 1.0}]",
                 "{\"n\": 1}");
    expect_patch("{\"n\": 1.0}", "[{\"op\": \"test\", \"path\": \"/n\", \"value\": 1}]",
                 "{\"n\": 1.0}");
}
END_TEST

START_TEST(test_nested_integer_equals_equal_real)
{
    expect_patch("{\"a\": [{\"n\": 10}]}",
                 "[{\"op\": \"test\", \"path\": \"/a\", \"value\": [{\"n\": 1e1}]}]",
                 "{\"a\": [{\"n\": 10}]}");
}
END_TEST

START_TEST(test_integer_differs_from_fractional_real)
{
    expect_patch_error("{\"n\": 1}", "[{\"op\": \"test\", \"path\": \"/n\", \"value\": 1.5}]",
                       "operation 0 (test): path \"/n\": value differs");
}
END_TEST

START_TEST(test_large_integer_not_rounded_to_real)
{
    /* 2^53 + 1 has no exact double; the nearest one is 2^53. */
    expect_patch_error("{\"n\": 9007199254740993}",
                       "[{\"op\": \"test\", \"path\": \"/n\", \"value\": 9007199254740992.0}]",
                       "operation 0 (test): path \"/n\": value differs");
}
END_TEST

START_TEST(test_objects_compare_unordered)
{
    expect_patch("{\"o\": {\"a\": 1, \"b\": [2]}}",
                 "[{\"op\": \"test\", \"path\": \"/o\", \"value\": {\"b\": [2], \"a\": 1}}]",
                 "{\"o\": {\"a\": 1, \"b\": [2]}}");
}
END_TEST

START_TEST(test_objects_with_different_members_differ)
{
    expect_patch_error("{\"o\": {\"a\": 1}}",
                       "[{\"op\": \"test\", \"path\": \"/o\", \"value\": {\"b\": 1}}]",
                       "operation 0 (test): path \"/o\": value differs");
    expect_patch_error("{\"o\": {\"a\": 1}}",
                       "[{\"op\": \"test\", \"path\": \"/o\", \"value\": {\"a\": 1, \"b\": 1}}]",
                       "operation 0 (test): path \"/o\": value differs");
}
END_TEST

START_TEST(test_arrays_compare_ordered)
{
    expect_patch_error("{\"a\": [1, 2]}",
                       "[{\"op\": \"test\", \"path\": \"/a\", \"value\": [2, 1]}]",
                       "operation 0 (test): path \"/a\": value differs");
}
END_TEST

START_TEST(test_literals_compare_by_type)
{
    expect_patch("[null, true, false]",
                 "[{\"op\": \"test\", \"path\": \"\", \"value\": "
                 "[null, true, false]}]",
                 "[null, true, false]");
    expect_patch_error("[null]", "[{\"op\": \"test\", \"path\": \"/0\", \"value\": false}]",
                       "operation 0 (test): path \"/0\": value differs");
}
END_TEST

/* Builds [[...[leaf]...]] nested depth deep: close to jansson's parser limit of 2048. */
static char *nested_arrays(size_t depth, const char *leaf)
{
    size_t leaf_len = strlen(leaf);
    char *text = malloc(2 * depth + leaf_len + 1);
    ck_assert_ptr_nonnull(text);
    memset(text, '[', depth);
    memcpy(text + depth, leaf, leaf_len);
    memset(text + depth + leaf_len, ']', depth);
    text[2 * depth + leaf_len] = '\0';
    return text;
}

START_TEST(test_deeply_nested_values_compare)
{
    char *doc = nested_arrays(2000, "1");
    char *same = nested_arrays(2000, "1.0");
    char *other = nested_arrays(2000, "2");
    struct buf patch = BUF_INIT;
    buf_printf(&patch, "[{\"op\": \"test\", \"path\": \"\", \"value\": %s}]", same);
    expect_patch(doc, patch.data, doc);
    buf_truncate(&patch, 0);
    buf_printf(&patch, "[{\"op\": \"test\", \"path\": \"\", \"value\": %s}]", other);
    expect_patch_error(doc, patch.data, "operation 0 (test): path \"\": value differs");
    buf_free(&patch);
    free(doc);
    free(same);
    free(other);
}
END_TEST

START_TEST(test_missing_path_rejected)
{
    expect_patch_error("{}", "[{\"op\": \"test\", \"path\": \"/a\", \"value\": null}]",
                       "operation 0 (test): path \"/a\": does not exist");
}
END_TEST

/* ---- validation of operation objects ----------------------------------- */

START_TEST(patch_that_is_not_an_array_rejected)
{
    expect_patch_error("{}", "{\"op\": \"add\", \"path\": \"/a\", \"value\": 1}",
                       "patch is not a JSON array");
}
END_TEST

START_TEST(operation_that_is_not_an_object_rejected)
{
    expect_patch_error("{}", "[\"add\"]", "operation 0: not a JSON object");
}
END_TEST

START_TEST(op_missing_rejected)
{
    expect_patch_error("{}", "[{\"path\": \"/a\", \"value\": 1}]",
                       "operation 0: \"op\" is missing or not a string");
}
END_TEST

START_TEST(op_not_a_string_rejected)
{
    expect_patch_error("{}", "[{\"op\": 1, \"path\": \"/a\"}]",
                       "operation 0: \"op\" is missing or not a string");
}
END_TEST

START_TEST(op_unknown_rejected)
{
    expect_patch_error("{}", "[{\"op\": \"Add\", \"path\": \"/a\", \"value\": 1}]",
                       "operation 0 (\"Add\"): unknown op");
}
END_TEST

START_TEST(op_missing_value_rejected)
{
    expect_patch_error("{}", "[{\"op\": \"add\", \"path\": \"/a\"}]",
                       "operation 0 (add): \"value\" is missing");
    expect_patch_error("{\"a\": 1}", "[{\"op\": \"replace\", \"path\": \"/a\"}]",
                       "operation 0 (replace): \"value\" is missing");
    expect_patch_error("{\"a\": 1}", "[{\"op\": \"test\", \"path\": \"/a\"}]",
                       "operation 0 (test): \"value\" is missing");
}
END_TEST

START_TEST(op_missing_path_rejected)
{
    expect_patch_error("{}", "[{\"op\": \"remove\"}]",
                       "operation 0 (remove): \"path\" is missing or not a string");
}
END_TEST

START_TEST(op_path_not_a_string_rejected)
{
    expect_patch_error("{}", "[{\"op\": \"add\", \"path\": 1, \"value\": 1}]",
                       "operation 0 (add): \"path\" is missing or not a string");
}
END_TEST

START_TEST(op_malformed_path_rejected)
{
    expect_patch_error("{\"a\": 1}", "[{\"op\": \"remove\", \"path\": \"a\"}]",
                       "operation 0 (remove): path \"a\": not a valid JSON pointer");
    expect_patch_error("{\"a~2\": 1}", "[{\"op\": \"remove\", \"path\": \"/a~2\"}]",
                       "operation 0 (remove): path \"/a~2\": not a valid JSON pointer");
}
END_TEST

START_TEST(op_missing_from_rejected)
{
    expect_patch_error("{\"a\": 1}", "[{\"op\": \"move\", \"path\": \"/b\"}]",
                       "operation 0 (move): \"from\" is missing or not a string");
    expect_patch_error("{\"a\": 1}", "[{\"op\": \"copy\", \"path\": \"/b\", \"from\": null}]",
                       "operation 0 (copy): \"from\" is missing or not a string");
}
END_TEST

START_TEST(error_names_the_failing_operation_index)
{
    expect_patch_error("{\"a\": 1}",
                       "[{\"op\": \"test\", \"path\": \"/a\", \"value\": 1},"
                       " {\"op\": \"add\", \"path\": \"/b\", \"value\": 2},"
                       " {\"op\": \"remove\", \"path\": \"/c\"}]",
                       "operation 2 (remove): path \"/c\": does not exist");
}
END_TEST

START_TEST(error_stays_one_line_with_control_characters)
{
    expect_patch_error("{}", "[{\"op\": \"remove\", \"path\": \"/a\\nb\\u0000c\"}]",
                       "operation 0 (remove): path \"/a\\x0ab\\x00c\": does not exist");
    expect_patch_error("{}", "[{\"op\": \"x\\ny\"}]", "operation 0 (\"x\\x0ay\"): unknown op");
}
END_TEST

START_TEST(error_is_truncated_to_buffer)
{
    json_t *doc = json_lit("{}");
    json_t *patch = json_lit("[{\"op\": \"remove\", \"path\": \"/missing\"}]");
    char err[12];
    ck_assert_ptr_null(patch_apply(doc, patch, err, sizeof err));
    ck_assert_str_eq(err, "operation 0");
    ck_assert_ptr_null(patch_apply(doc, patch, NULL, 0)); /* no error buffer is fine */
    json_decref(patch);
    json_decref(doc);
}
END_TEST

/* ---- atomicity and ownership ------------------------------------------- */

START_TEST(failed_second_operation_leaves_input_untouched)
{
    json_t *doc = json_lit("{\"a\": {\"list\": [1, 2]}, \"b\": 1}");
    json_t *patch = json_lit("[{\"op\": \"remove\", \"path\": \"/a/list/0\"},"
                             " {\"op\": \"test\", \"path\": \"/b\", \"value\": 2}]");
    json_t *list = json_object_get(json_object_get(doc, "a"), "list");
    char *before = snapshot(doc);
    char err[256];

    ck_assert_ptr_null(patch_apply(doc, patch, err, sizeof err));
    ck_assert_str_eq(err, "operation 1 (test): path \"/b\": value differs");
    char *after = snapshot(doc);
    ck_assert_str_eq(after, before);
    ck_assert_uint_eq(json_array_size(list), 2);

    free(before);
    free(after);
    json_decref(patch);
    json_decref(doc);
}
END_TEST

START_TEST(empty_patch_returns_an_equal_new_document)
{
    json_t *doc = json_lit("{\"a\": [1]}");
    json_t *patch = json_lit("[]");
    char err[64];
    json_t *result = patch_apply(doc, patch, err, sizeof err);
    ck_assert_ptr_nonnull(result);
    ck_assert_ptr_ne(result, doc);
    ck_assert(json_same(result, doc));
    json_decref(result);
    json_decref(patch);
    json_decref(doc);
}
END_TEST

/* Copy on write: untouched subtrees are shared, touched ones are private copies. */
START_TEST(untouched_subtrees_are_shared_and_the_original_is_kept)
{
    json_t *doc = json_lit("{\"metadata\": {\"labels\": {\"a\": \"1\"}},"
                           " \"spec\": {\"containers\": [{\"name\": \"x\", \"env\": [1]},"
                           " {\"name\": \"y\", \"env\": [2]}]}}");
    json_t *patch =
        json_lit("[{\"op\": \"add\", \"path\": \"/spec/containers/1/env/-\", \"value\": 3},"
                 " {\"op\": \"remove\", \"path\": \"/spec/containers/0/env/0\"},"
                 " {\"op\": \"move\", \"from\": \"/metadata/labels\", \"path\": \"/l\"},"
                 " {\"op\": \"add\", \"path\": \"/l/b\", \"value\": \"2\"}]");
    char *before = snapshot(doc);
    char err[128];
    json_t *result = patch_apply(doc, patch, err, sizeof err);
    ck_assert_msg(result != NULL, "%s", err);
    char *after = snapshot(doc);
    ck_assert_str_eq(after, before);
    ck_assert_json_eq(result, "{\"metadata\": {}, \"l\": {\"a\": \"1\", \"b\": \"2\"},"
                              " \"spec\": {\"containers\": [{\"name\": \"x\", \"env\": []},"
                              " {\"name\": \"y\", \"env\": [2, 3]}]}}");
    /* The names were not touched: the same json_t in both documents. */
    const json_t *c0 = pointer_get(doc, "/spec/containers/0/name");
    ck_assert_ptr_eq(pointer_get(result, "/spec/containers/0/name"), c0);
    ck_assert_ptr_ne(pointer_get(result, "/spec/containers/0"),
                     pointer_get(doc, "/spec/containers/0"));
    free(before);
    free(after);
    json_decref(result);
    json_decref(patch);
    json_decref(doc);
}
END_TEST

START_TEST(many_operations_on_one_document)
{
    expect_patch(
        "{\"spec\": {\"containers\": [{\"name\": \"app\", \"env\": []}]}}",
        "["
        "{\"op\": \"test\", \"path\": \"/spec/containers/0/name\", \"value\": \"app\"},"
        "{\"op\": \"add\", \"path\": \"/spec/containers/0/env/-\","
        " \"value\": {\"name\": \"A\", \"value\": \"1\"}},"
        "{\"op\": \"copy\", \"from\": \"/spec/containers/0\", \"path\": \"/spec/containers/-\"},"
        "{\"op\": \"replace\", \"path\": \"/spec/containers/1/name\", \"value\": \"side\"},"
        "{\"op\": \"move\", \"from\": \"/spec/containers/1\", \"path\": \"/spec/containers/0\"},"
        "{\"op\": \"remove\", \"path\": \"/spec/containers/1/env/0\"}"
        "]",
        "{\"spec\": {\"containers\": ["
        "{\"name\": \"side\", \"env\": [{\"name\": \"A\", \"value\": \"1\"}]},"
        "{\"name\": \"app\", \"env\": []}]}}");
}
END_TEST

static Suite *patch_apply_suite(void)
{
    Suite *s = suite_create("patch_apply");

    TCase *rfc = tcase_create("rfc6902_appendix_a");
    tcase_add_test(rfc, a01_adding_an_object_member);
    tcase_add_test(rfc, a02_adding_an_array_element);
    tcase_add_test(rfc, a03_removing_an_object_member);
    tcase_add_test(rfc, a04_removing_an_array_element);
    tcase_add_test(rfc, a05_replacing_a_value);
    tcase_add_test(rfc, a06_moving_a_value);
    tcase_add_test(rfc, a07_moving_an_array_element);
    tcase_add_test(rfc, a08_testing_a_value_success);
    tcase_add_test(rfc, a09_testing_a_value_error);
    tcase_add_test(rfc, a10_adding_a_nested_member_object);
    tcase_add_test(rfc, a11_ignoring_unrecognized_elements);
    tcase_add_test(rfc, a12_adding_to_a_nonexistent_target);
    tcase_add_test(rfc, a13_invalid_json_patch_is_rejected_by_the_parser);
    tcase_add_test(rfc, a14_tilde_escape_ordering);
    tcase_add_test(rfc, a15_comparing_strings_and_numbers);
    tcase_add_test(rfc, a16_adding_an_array_value);
    suite_add_tcase(s, rfc);

    TCase *add = tcase_create("add");
    tcase_add_test(add, add_replaces_existing_member);
    tcase_add_test(add, add_at_index_equal_to_size_appends);
    tcase_add_test(add, add_at_dash_of_nested_array);
    tcase_add_test(add, add_at_dash_of_empty_array);
    tcase_add_test(add, add_member_with_slash_and_tilde_via_escaped_pointer);
    tcase_add_test(add, add_member_with_empty_name);
    tcase_add_test(add, add_member_with_nul_byte_in_name);
    tcase_add_test(add, add_with_empty_path_replaces_document);
    tcase_add_test(add, add_null_value_is_a_value);
    tcase_add_test(add, add_leading_zero_index_rejected);
    tcase_add_test(add, add_index_beyond_size_rejected);
    tcase_add_test(add, add_into_scalar_rejected);
    tcase_add_test(add, add_value_is_shared_and_copied_on_write);
    suite_add_tcase(s, add);

    TCase *remove = tcase_create("remove");
    tcase_add_test(remove, remove_array_element_shifts_the_rest);
    tcase_add_test(remove, remove_missing_member_rejected);
    tcase_add_test(remove, remove_dash_rejected);
    tcase_add_test(remove, remove_index_beyond_end_rejected);
    tcase_add_test(remove, remove_of_whole_document_rejected);
    suite_add_tcase(s, remove);

    TCase *replace = tcase_create("replace");
    tcase_add_test(replace, replace_array_element);
    tcase_add_test(replace, replace_whole_document);
    tcase_add_test(replace, replace_missing_member_rejected);
    tcase_add_test(replace, replace_at_dash_rejected);
    suite_add_tcase(s, replace);

    TCase *move = tcase_create("move");
    tcase_add_test(move, move_into_own_child_rejected);
    tcase_add_test(move, move_document_into_member_rejected);
    tcase_add_test(move, move_to_sibling_sharing_a_name_prefix_allowed);
    tcase_add_test(move, move_to_same_location_is_a_no_op);
    tcase_add_test(move, move_to_ancestor_replaces_it);
    tcase_add_test(move, move_member_to_document_root);
    tcase_add_test(move, move_from_missing_location_rejected);
    tcase_add_test(move, move_to_invalid_target_rejected);
    suite_add_tcase(s, move);

    TCase *copy = tcase_create("copy");
    tcase_add_test(copy, copy_makes_an_independent_deep_copy);
    tcase_add_test(copy, copy_document_into_its_own_member);
    tcase_add_test(copy, copy_from_missing_location_rejected);
    suite_add_tcase(s, copy);

    TCase *test = tcase_create("test");
    tcase_add_test(test, test_integer_equals_equal_real);
    tcase_add_test(test, test_nested_integer_equals_equal_real);
    tcase_add_test(test, test_integer_differs_from_fractional_real);
    tcase_add_test(test, test_large_integer_not_rounded_to_real);
    tcase_add_test(test, test_objects_compare_unordered);
    tcase_add_test(test, test_objects_with_different_members_differ);
    tcase_add_test(test, test_arrays_compare_ordered);
    tcase_add_test(test, test_literals_compare_by_type);
    tcase_add_test(test, test_deeply_nested_values_compare);
    tcase_add_test(test, test_missing_path_rejected);
    suite_add_tcase(s, test);

    TCase *validation = tcase_create("validation");
    tcase_add_test(validation, patch_that_is_not_an_array_rejected);
    tcase_add_test(validation, operation_that_is_not_an_object_rejected);
    tcase_add_test(validation, op_missing_rejected);
    tcase_add_test(validation, op_not_a_string_rejected);
    tcase_add_test(validation, op_unknown_rejected);
    tcase_add_test(validation, op_missing_value_rejected);
    tcase_add_test(validation, op_missing_path_rejected);
    tcase_add_test(validation, op_path_not_a_string_rejected);
    tcase_add_test(validation, op_malformed_path_rejected);
    tcase_add_test(validation, op_missing_from_rejected);
    tcase_add_test(validation, error_names_the_failing_operation_index);
    tcase_add_test(validation, error_stays_one_line_with_control_characters);
    tcase_add_test(validation, error_is_truncated_to_buffer);
    suite_add_tcase(s, validation);

    TCase *atomic = tcase_create("atomicity");
    tcase_add_test(atomic, failed_second_operation_leaves_input_untouched);
    tcase_add_test(atomic, empty_patch_returns_an_equal_new_document);
    tcase_add_test(atomic, untouched_subtrees_are_shared_and_the_original_is_kept);
    tcase_add_test(atomic, many_operations_on_one_document);
    suite_add_tcase(s, atomic);

    return s;
}

int main(void)
{
    return run_suite(patch_apply_suite());
}
