/* test_pointer.c - RFC 6901 JSON Pointer escaping and resolution. */
#include <stdint.h>
#include <stdio.h>

#include "pointer.h"
#include "pointer_get.h"
#include "testutil.h"

/* ---- helpers ----------------------------------------------------------- */

/* Escapes token (len bytes) as one pointer token and asserts the exact bytes. */
static void expect_escaped(const char *token, size_t len, const char *want, size_t want_len)
{
    struct buf b = BUF_INIT;
    ck_assert_int_eq(pointer_append_token(&b, token, len), 0);
    ck_assert_uint_eq(b.len, want_len);
    ck_assert_msg(memcmp(b.data, want, want_len) == 0, "escaped to \"%s\", want \"%s\"", b.data,
                  want);
    buf_free(&b);
}

/*
 * Escapes token, then unescapes it again through pointer_parentn and resolves
 * it through pointer_getn against an object that has it as a key.
 */
static void expect_round_trip(const char *token, size_t len)
{
    struct buf ptr = BUF_INIT;
    ck_assert_int_eq(pointer_append_token(&ptr, token, len), 0);

    json_t *doc = json_object();
    ck_assert_int_eq(json_object_setn_new(doc, token, len, json_integer(7)), 0);

    json_t *parent = NULL;
    char *unescaped = NULL;
    size_t unescaped_len = 0;
    ck_assert_int_eq(pointer_parentn(doc, ptr.data, ptr.len, &parent, &unescaped, &unescaped_len),
                     0);
    ck_assert_ptr_eq(parent, doc);
    ck_assert_uint_eq(unescaped_len, len);
    ck_assert(memcmp(unescaped, token, len) == 0);
    ck_assert_int_eq(unescaped[len], '\0');

    json_t *found = pointer_getn(doc, ptr.data, ptr.len);
    ck_assert_ptr_nonnull(found);
    ck_assert_int_eq(json_integer_value(found), 7);

    free(unescaped);
    json_decref(doc);
    buf_free(&ptr);
}

/* Asserts that pointer_parent rejects ptr against an empty object (its parent). */
static void expect_parent_rejected(const char *ptr)
{
    json_t *doc = json_object();
    json_t *parent = NULL;
    char *token = NULL;
    size_t token_len = 0;
    ck_assert_int_eq(pointer_parent(doc, ptr, &parent, &token, &token_len), -1);
    ck_assert_ptr_null(token);
    json_decref(doc);
}

/* ---- escaping ---------------------------------------------------------- */

START_TEST(escape_tilde_becomes_tilde_zero)
{
    expect_escaped("~", 1, "/~0", 3);
}
END_TEST

START_TEST(escape_slash_becomes_tilde_one)
{
    expect_escaped("/", 1, "/~1", 3);
}
END_TEST

START_TEST(escape_literal_tilde_zero_one_escapes_only_the_tilde)
{
    expect_escaped("~01", 3, "/~001", 5);
}
END_TEST

START_TEST(escape_empty_token_is_a_bare_slash)
{
    expect_escaped("", 0, "/", 1);
}
END_TEST

START_TEST(escape_keeps_nul_bytes_verbatim)
{
    expect_escaped("a\0/b", 4, "/a\0~1b", 6);
}
END_TEST

START_TEST(escape_mixed_token)
{
    expect_escaped("a/b~c//~", 8, "/a~1b~0c~1~1~0", 14);
}
END_TEST

START_TEST(escape_appends_to_existing_pointer)
{
    struct buf b = BUF_INIT;
    ck_assert_int_eq(pointer_append_token(&b, "spec", 4), 0);
    ck_assert_int_eq(pointer_append_token(&b, "a/b", 3), 0);
    ck_assert_int_eq(pointer_append_index(&b, 12), 0);
    ck_assert_str_eq(b.data, "/spec/a~1b/12");
    buf_free(&b);
}
END_TEST

START_TEST(append_index_writes_decimal)
{
    struct buf b = BUF_INIT;
    char want[32];
    ck_assert_int_eq(pointer_append_index(&b, 0), 0);
    ck_assert_int_eq(pointer_append_index(&b, SIZE_MAX), 0);
    snprintf(want, sizeof want, "/0/%zu", (size_t)SIZE_MAX);
    ck_assert_str_eq(b.data, want);
    buf_free(&b);
}
END_TEST

/* ---- round trips and unescaping ---------------------------------------- */

START_TEST(round_trip_tilde)
{
    expect_round_trip("~", 1);
}
END_TEST

START_TEST(round_trip_slash)
{
    expect_round_trip("/", 1);
}
END_TEST

START_TEST(round_trip_tilde_zero_one)
{
    expect_round_trip("~01", 3);
}
END_TEST

START_TEST(round_trip_escape_lookalikes)
{
    expect_round_trip("~1/~0", 5);
}
END_TEST

START_TEST(round_trip_empty_token)
{
    expect_round_trip("", 0);
}
END_TEST

START_TEST(round_trip_nul_bytes)
{
    expect_round_trip("a\0b", 3);
    expect_round_trip("\0", 1);
}
END_TEST

START_TEST(unescape_tilde_zero_one_is_tilde_then_one_not_slash)
{
    json_t *doc = json_lit("{\"~1\": \"tilde-one\", \"/\": \"slash\"}");
    ck_assert_str_eq(json_string_value(pointer_get(doc, "/~01")), "tilde-one");
    ck_assert_str_eq(json_string_value(pointer_get(doc, "/~1")), "slash");
    json_decref(doc);
}
END_TEST

START_TEST(unescape_rejects_trailing_tilde)
{
    json_t *doc = json_lit("{\"a~\": 1}");
    ck_assert_ptr_null(pointer_get(doc, "/a~"));
    expect_parent_rejected("/a~");
    json_decref(doc);
}
END_TEST

START_TEST(unescape_rejects_tilde_before_other_character)
{
    json_t *doc = json_lit("{\"a~2\": 1}");
    ck_assert_ptr_null(pointer_get(doc, "/a~2"));
    expect_parent_rejected("/a~2");
    expect_parent_rejected("/~/x");
    json_decref(doc);
}
END_TEST

START_TEST(wellformed_accepts_empty_and_slash_prefixed)
{
    ck_assert(pointer_is_wellformed("", 0));
    ck_assert(pointer_is_wellformed("/", 1));
    ck_assert(pointer_is_wellformed("/a/~0/~1//", 10));
    ck_assert(pointer_is_wellformed("/a\0b", 4));
}
END_TEST

START_TEST(wellformed_rejects_missing_slash_and_bad_escapes)
{
    ck_assert(!pointer_is_wellformed("a", 1));
    ck_assert(!pointer_is_wellformed("#/a", 3));
    ck_assert(!pointer_is_wellformed("/~", 2));
    ck_assert(!pointer_is_wellformed("/~2", 3));
    ck_assert(!pointer_is_wellformed("/~~0", 4));
    ck_assert(!pointer_is_wellformed("/a\0~", 4));
}
END_TEST

START_TEST(get_rejects_pointer_without_leading_slash)
{
    json_t *doc = json_lit("{\"foo\": 1}");
    ck_assert_ptr_null(pointer_get(doc, "foo"));
    expect_parent_rejected("foo");
    json_decref(doc);
}
END_TEST

/* ---- RFC 6901 section 5 ------------------------------------------------ */

static const char RFC6901_DOC[] = "{"
                                  "\"foo\": [\"bar\", \"baz\"],"
                                  "\"\": 0,"
                                  "\"a/b\": 1,"
                                  "\"c%d\": 2,"
                                  "\"e^f\": 3,"
                                  "\"g|h\": 4,"
                                  "\"i\\\\j\": 5,"
                                  "\"k\\\"l\": 6,"
                                  "\" \": 7,"
                                  "\"m~n\": 8"
                                  "}";

/* Resolves ptr against the RFC 6901 example document and compares the result. */
static void expect_rfc6901(const char *ptr, const char *want)
{
    json_t *doc = json_lit(RFC6901_DOC);
    json_t *found = pointer_get(doc, ptr);
    ck_assert_msg(found != NULL, "pointer \"%s\" resolved to nothing", ptr);
    ck_assert_json_eq(found, want);
    json_decref(doc);
}

START_TEST(rfc6901_empty_pointer_is_whole_document)
{
    expect_rfc6901("", RFC6901_DOC);
}
END_TEST

START_TEST(rfc6901_foo)
{
    expect_rfc6901("/foo", "[\"bar\", \"baz\"]");
}
END_TEST

START_TEST(rfc6901_foo_0)
{
    expect_rfc6901("/foo/0", "\"bar\"");
}
END_TEST

START_TEST(rfc6901_slash_is_empty_key)
{
    expect_rfc6901("/", "0");
}
END_TEST

START_TEST(rfc6901_a_tilde1_b)
{
    expect_rfc6901("/a~1b", "1");
}
END_TEST

START_TEST(rfc6901_percent)
{
    expect_rfc6901("/c%d", "2");
}
END_TEST

START_TEST(rfc6901_caret)
{
    expect_rfc6901("/e^f", "3");
}
END_TEST

START_TEST(rfc6901_pipe)
{
    expect_rfc6901("/g|h", "4");
}
END_TEST

START_TEST(rfc6901_backslash)
{
    expect_rfc6901("/i\\j", "5");
}
END_TEST

START_TEST(rfc6901_double_quote)
{
    expect_rfc6901("/k\"l", "6");
}
END_TEST

START_TEST(rfc6901_space)
{
    expect_rfc6901("/ ", "7");
}
END_TEST

START_TEST(rfc6901_m_tilde0_n)
{
    expect_rfc6901("/m~0n", "8");
}
END_TEST

/* ---- resolution -------------------------------------------------------- */

START_TEST(get_missing_member_is_nothing)
{
    json_t *doc = json_lit("{\"a\": {\"b\": 1}}");
    ck_assert_ptr_null(pointer_get(doc, "/a/c"));
    ck_assert_ptr_null(pointer_get(doc, "/x/b"));
    json_decref(doc);
}
END_TEST

START_TEST(get_through_scalar_is_nothing)
{
    json_t *doc = json_lit("{\"a\": 1, \"s\": \"text\"}");
    ck_assert_ptr_null(pointer_get(doc, "/a/0"));
    ck_assert_ptr_null(pointer_get(doc, "/s/0"));
    json_decref(doc);
}
END_TEST

START_TEST(get_dash_names_nothing)
{
    json_t *doc = json_lit("{\"a\": [1, 2]}");
    ck_assert_ptr_null(pointer_get(doc, "/a/-"));
    json_decref(doc);
}
END_TEST

START_TEST(get_index_beyond_size_is_nothing)
{
    json_t *doc = json_lit("[10, 20]");
    ck_assert_int_eq(json_integer_value(pointer_get(doc, "/1")), 20);
    ck_assert_ptr_null(pointer_get(doc, "/2"));
    json_decref(doc);
}
END_TEST

START_TEST(get_leading_zero_index_is_nothing)
{
    json_t *doc = json_lit("[10, 20]");
    ck_assert_ptr_null(pointer_get(doc, "/01"));
    ck_assert_ptr_null(pointer_get(doc, "/00"));
    json_decref(doc);
}
END_TEST

START_TEST(get_digit_tokens_are_plain_keys_in_objects)
{
    json_t *doc = json_lit("{\"0\": \"zero\", \"01\": \"zero-one\", \"-\": \"dash\"}");
    ck_assert_str_eq(json_string_value(pointer_get(doc, "/0")), "zero");
    ck_assert_str_eq(json_string_value(pointer_get(doc, "/01")), "zero-one");
    ck_assert_str_eq(json_string_value(pointer_get(doc, "/-")), "dash");
    json_decref(doc);
}
END_TEST

START_TEST(get_key_with_nul_byte)
{
    /* jansson's parser refuses NUL in keys even with JSON_ALLOW_NUL; the API allows it. */
    json_t *doc = json_lit("{\"a\": 2}");
    ck_assert_int_eq(json_object_setn_new(doc, "a\0b", 3, json_lit("{\"c\": 1}")), 0);
    json_t *found = pointer_getn(doc, "/a\0b/c", 6);
    ck_assert_ptr_nonnull(found);
    ck_assert_int_eq(json_integer_value(found), 1);
    /* The C-string variant stops at the NUL and so names "/a". */
    ck_assert_int_eq(json_integer_value(pointer_get(doc, "/a\0b/c")), 2);
    json_decref(doc);
}
END_TEST

START_TEST(get_nested_arrays_and_objects)
{
    json_t *doc = json_lit("{\"spec\": {\"containers\": [{\"env\": [{\"name\": \"X\"}]}]}}");
    ck_assert_str_eq(json_string_value(pointer_get(doc, "/spec/containers/0/env/0/name")), "X");
    json_decref(doc);
}
END_TEST

START_TEST(get_null_arguments_are_nothing)
{
    json_t *doc = json_lit("{}");
    ck_assert_ptr_null(pointer_get(NULL, ""));
    ck_assert_ptr_null(pointer_get(doc, NULL));
    json_decref(doc);
}
END_TEST

/* ---- parent ------------------------------------------------------------ */

START_TEST(parent_of_empty_pointer_fails)
{
    expect_parent_rejected("");
}
END_TEST

START_TEST(parent_returns_container_and_unescaped_last_token)
{
    json_t *doc = json_lit("{\"a\": {\"b\": [1, 2]}}");
    json_t *parent = NULL;
    char *token = NULL;
    size_t token_len = 0;
    ck_assert_int_eq(pointer_parent(doc, "/a/new~1key~0", &parent, &token, &token_len), 0);
    ck_assert_ptr_eq(parent, json_object_get(doc, "a"));
    ck_assert_str_eq(token, "new/key~");
    ck_assert_uint_eq(token_len, 8);
    free(token);
    json_decref(doc);
}
END_TEST

START_TEST(parent_allows_dash_as_last_token)
{
    json_t *doc = json_lit("{\"a\": [1, 2]}");
    json_t *parent = NULL;
    char *token = NULL;
    size_t token_len = 0;
    ck_assert_int_eq(pointer_parent(doc, "/a/-", &parent, &token, &token_len), 0);
    ck_assert_ptr_eq(parent, json_object_get(doc, "a"));
    ck_assert_str_eq(token, "-");
    free(token);
    json_decref(doc);
}
END_TEST

START_TEST(parent_of_top_level_member_is_document)
{
    json_t *doc = json_lit("{}");
    json_t *parent = NULL;
    char *token = NULL;
    size_t token_len = 99;
    ck_assert_int_eq(pointer_parent(doc, "/", &parent, &token, &token_len), 0);
    ck_assert_ptr_eq(parent, doc);
    ck_assert_str_eq(token, "");
    ck_assert_uint_eq(token_len, 0);
    free(token);
    json_decref(doc);
}
END_TEST

START_TEST(parent_fails_when_parent_missing)
{
    json_t *doc = json_lit("{\"a\": [1]}");
    json_t *parent = NULL;
    char *token = NULL;
    size_t token_len = 0;
    ck_assert_int_eq(pointer_parent(doc, "/b/c", &parent, &token, &token_len), -1);
    ck_assert_int_eq(pointer_parent(doc, "/a/-/c", &parent, &token, &token_len), -1);
    ck_assert_ptr_null(token);
    json_decref(doc);
}
END_TEST

/* ---- array index tokens ------------------------------------------------ */

static bool parse_index(const char *token, size_t *index)
{
    return pointer_array_index(token, strlen(token), index);
}

START_TEST(index_zero_accepted)
{
    size_t index = 99;
    ck_assert(parse_index("0", &index));
    ck_assert_uint_eq(index, 0);
}
END_TEST

START_TEST(index_decimal_accepted)
{
    size_t index = 0;
    ck_assert(parse_index("1234", &index));
    ck_assert_uint_eq(index, 1234);
}
END_TEST

START_TEST(index_leading_zero_rejected)
{
    size_t index;
    ck_assert(!parse_index("01", &index));
    ck_assert(!parse_index("00", &index));
}
END_TEST

START_TEST(index_sign_rejected)
{
    size_t index;
    ck_assert(!parse_index("+1", &index));
    ck_assert(!parse_index("-1", &index));
}
END_TEST

START_TEST(index_dash_is_not_an_index)
{
    size_t index;
    ck_assert(!parse_index("-", &index));
}
END_TEST

START_TEST(index_non_digits_rejected)
{
    size_t index;
    ck_assert(!parse_index("", &index));
    ck_assert(!parse_index("1a", &index));
    ck_assert(!parse_index(" 1", &index));
    ck_assert(!parse_index("1e3", &index));
    ck_assert(!pointer_array_index("1\0", 2, &index));
}
END_TEST

START_TEST(index_size_max_accepted)
{
    char text[32];
    size_t index = 0;
    snprintf(text, sizeof text, "%zu", (size_t)SIZE_MAX);
    ck_assert(parse_index(text, &index));
    ck_assert_uint_eq(index, SIZE_MAX);
}
END_TEST

START_TEST(index_overflow_rejected)
{
    char text[32];
    size_t index;
    /* SIZE_MAX + 1: SIZE_MAX ends in 5 for 32- and 64-bit size_t, so no carry. */
    snprintf(text, sizeof text, "%zu", (size_t)SIZE_MAX);
    text[strlen(text) - 1]++;
    ck_assert(!parse_index(text, &index));
    ck_assert(!parse_index("99999999999999999999999999999999", &index));
}
END_TEST

static Suite *pointer_suite(void)
{
    Suite *s = suite_create("pointer");

    TCase *escaping = tcase_create("escaping");
    tcase_add_test(escaping, escape_tilde_becomes_tilde_zero);
    tcase_add_test(escaping, escape_slash_becomes_tilde_one);
    tcase_add_test(escaping, escape_literal_tilde_zero_one_escapes_only_the_tilde);
    tcase_add_test(escaping, escape_empty_token_is_a_bare_slash);
    tcase_add_test(escaping, escape_keeps_nul_bytes_verbatim);
    tcase_add_test(escaping, escape_mixed_token);
    tcase_add_test(escaping, escape_appends_to_existing_pointer);
    tcase_add_test(escaping, append_index_writes_decimal);
    suite_add_tcase(s, escaping);

    TCase *unescaping = tcase_create("unescaping");
    tcase_add_test(unescaping, round_trip_tilde);
    tcase_add_test(unescaping, round_trip_slash);
    tcase_add_test(unescaping, round_trip_tilde_zero_one);
    tcase_add_test(unescaping, round_trip_escape_lookalikes);
    tcase_add_test(unescaping, round_trip_empty_token);
    tcase_add_test(unescaping, round_trip_nul_bytes);
    tcase_add_test(unescaping, unescape_tilde_zero_one_is_tilde_then_one_not_slash);
    tcase_add_test(unescaping, unescape_rejects_trailing_tilde);
    tcase_add_test(unescaping, unescape_rejects_tilde_before_other_character);
    tcase_add_test(unescaping, wellformed_accepts_empty_and_slash_prefixed);
    tcase_add_test(unescaping, wellformed_rejects_missing_slash_and_bad_escapes);
    tcase_add_test(unescaping, get_rejects_pointer_without_leading_slash);
    suite_add_tcase(s, unescaping);

    TCase *rfc = tcase_create("rfc6901_section5");
    tcase_add_test(rfc, rfc6901_empty_pointer_is_whole_document);
    tcase_add_test(rfc, rfc6901_foo);
    tcase_add_test(rfc, rfc6901_foo_0);
    tcase_add_test(rfc, rfc6901_slash_is_empty_key);
    tcase_add_test(rfc, rfc6901_a_tilde1_b);
    tcase_add_test(rfc, rfc6901_percent);
    tcase_add_test(rfc, rfc6901_caret);
    tcase_add_test(rfc, rfc6901_pipe);
    tcase_add_test(rfc, rfc6901_backslash);
    tcase_add_test(rfc, rfc6901_double_quote);
    tcase_add_test(rfc, rfc6901_space);
    tcase_add_test(rfc, rfc6901_m_tilde0_n);
    suite_add_tcase(s, rfc);

    TCase *resolution = tcase_create("resolution");
    tcase_add_test(resolution, get_missing_member_is_nothing);
    tcase_add_test(resolution, get_through_scalar_is_nothing);
    tcase_add_test(resolution, get_dash_names_nothing);
    tcase_add_test(resolution, get_index_beyond_size_is_nothing);
    tcase_add_test(resolution, get_leading_zero_index_is_nothing);
    tcase_add_test(resolution, get_digit_tokens_are_plain_keys_in_objects);
    tcase_add_test(resolution, get_key_with_nul_byte);
    tcase_add_test(resolution, get_nested_arrays_and_objects);
    tcase_add_test(resolution, get_null_arguments_are_nothing);
    tcase_add_test(resolution, parent_of_empty_pointer_fails);
    tcase_add_test(resolution, parent_returns_container_and_unescaped_last_token);
    tcase_add_test(resolution, parent_allows_dash_as_last_token);
    tcase_add_test(resolution, parent_of_top_level_member_is_document);
    tcase_add_test(resolution, parent_fails_when_parent_missing);
    suite_add_tcase(s, resolution);

    TCase *index = tcase_create("array_index");
    tcase_add_test(index, index_zero_accepted);
    tcase_add_test(index, index_decimal_accepted);
    tcase_add_test(index, index_leading_zero_rejected);
    tcase_add_test(index, index_sign_rejected);
    tcase_add_test(index, index_dash_is_not_an_index);
    tcase_add_test(index, index_non_digits_rejected);
    tcase_add_test(index, index_size_max_accepted);
    tcase_add_test(index, index_overflow_rejected);
    suite_add_tcase(s, index);

    return s;
}

int main(void)
{
    return run_suite(pointer_suite());
}
