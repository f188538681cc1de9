/*
 * testutil.h - small helpers shared by the Check unit tests.
 *
 * Header-only so that every test file stays a standalone runner.
 */
#ifndef GOINJECT_TESTUTIL_H
#define GOINJECT_TESTUTIL_H

#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Parses a JSON literal written in a test; fails the test on bad JSON. */
static inline json_t *json_lit(const char *text)
{
    json_error_t error;
    json_t *value = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);
    ck_assert_msg(value != NULL, "bad JSON in test: %s: %s", error.text, text);
    return value;
}

/* True when a and b are equal JSON values (jansson's deep comparison). */
static inline int json_same(const json_t *a, const json_t *b)
{
    return json_equal((json_t *)a, (json_t *)b);
}

/* Asserts that actual equals the JSON literal expected, printing both. */
#define ck_assert_json_eq(actual, expected_text)                                                   \
    do {                                                                                           \
        json_t *expected__ = json_lit(expected_text);                                              \
        char *got__ = json_dumps((actual), JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);       \
        char *want__ = json_dumps(expected__, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);    \
        ck_assert_msg(json_same((actual), expected__), "JSON differs:\n got: %s\nwant: %s", got__, \
                      want__);                                                                     \
        free(got__);                                                                               \
        free(want__);                                                                              \
        json_decref(expected__);                                                                   \
    } while (0)

/* Runs one suite and returns the process exit status. */
static inline int run_suite(Suite *suite)
{
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
