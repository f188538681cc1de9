/* test_jsonout.c - the compact writer writes exactly what json_dumps(JSON_COMPACT) writes. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>

#include "buf.h"
#include "jsonout.h"
#include "testutil.h"

static void expect_same_as_jansson(const json_t *v)
{
    char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    ck_assert_ptr_nonnull(want);
    struct buf got = BUF_INIT;
    ck_assert_int_eq(jsonout_write_compact(&got, v), 0);
    ck_assert_str_eq(got.data, want);
    free(want);
    buf_free(&got);
    /* And the log's spelling. */
    want =
        json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(9));
    ck_assert_ptr_nonnull(want);
    ck_assert_int_eq(jsonout_write_log(&got, v), 0);
    ck_assert_str_eq(got.data, want);
    free(want);
    buf_free(&got);
}

START_TEST(scalars_and_containers)
{
    static const char *const docs[] = {
        "null",
        "true",
        "false",
        "0",
        "-9223372036854775808",
        "9223372036854775807",
        "1.5",
        "1e300",
        "-0.0",
        "0.1",
        "123456789.123456789",
        "\"\"",
        "{}",
        "[]",
        "[{}, [], [[]]]",
        "{\"a\": {\"b\": [1, 2.5, \"x\", null, true]}, \"\": \"empty key\"}",
        "\"quote \\\" backslash \\\\ slash / tab \\t nl \\n cr \\r bs \\b ff \\f\"",
        "\"\\u0000 nul \\u0001 \\u001f \\u007f del\"",
        "\"caf\\u00e9 \\u2028 \\ud83d\\ude00\"",
        "{\"caf\\u00e9\": [\"\\u00ff\\u0100\\u07ff\\u0800\\uffff\\ud800\\udc00\\udbff\\udfff\"], "
        "\"ms\": 0.123456789012}",
        "[0.1, 1e-7, 123456789.5, -2.5e300, 100.0]",
        "{\"k\\\"ey\\n\": \"v\"}",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        json_t *v = json_lit(docs[i]);
        expect_same_as_jansson(v);
        json_decref(v);
    }
}
END_TEST

START_TEST(every_byte_value_in_a_string)
{
    char text[128];
    for (int i = 0; i < 127; i++)
        text[i] = (char)(i + 1);
    json_t *v = json_stringn(text, 127);
    ck_assert_ptr_nonnull(v);
    expect_same_as_jansson(v);
    json_decref(v);
}
END_TEST

START_TEST(reals_of_every_magnitude)
{
    /* Integers and fractions, tiny and huge, both signs: jansson's %.17g and %.9g rules. */
    double seeds[] = {0.0,      -0.0,   1.0,     0.5,      1.0 / 3, 2.0 / 3,
                      123.456,  1e-300, 5e-324,  1e21,     1e22,    123456789012345680.0,
                      0.000123, 1e-5,   99999.5, 1234567.0};
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
        for (int scale = -12; scale <= 12; scale++) {
            double x = seeds[i] * pow(10, scale);
            for (int sign = 0; sign < 2; sign++) {
                json_t *v = json_real(sign ? -x : x);
                expect_same_as_jansson(v);
                json_decref(v);
            }
        }
    }
    json_t *ms = json_real(round(0.0001234567 * 1e6) / 1e3); /* a log line's durationMs */
    expect_same_as_jansson(ms);
    json_decref(ms);
}
END_TEST

/* Member order is insertion order, as in jansson without JSON_SORT_KEYS. */
START_TEST(insertion_order_is_kept)
{
    json_t *v = json_object();
    json_object_set_new(v, "z", json_integer(1));
    json_object_set_new(v, "a", json_integer(2));
    json_object_set_new(v, "m", json_string("3"));
    expect_same_as_jansson(v);
    json_decref(v);
}
END_TEST

START_TEST(every_golden_review)
{
    const char *dir_path = TEST_DATA_DIR "/golden/cases";
    DIR *dir = opendir(dir_path);
    ck_assert_ptr_nonnull(dir);
    struct dirent *entry;
    int seen = 0;
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s/review.json", dir_path, entry->d_name);
        json_t *v = json_load_file(path, 0, NULL);
        if (!v)
            continue;
        expect_same_as_jansson(v);
        json_decref(v);
        seen++;
    }
    closedir(dir);
    ck_assert_int_gt(seen, 10);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("jsonout");
    TCase *tc = tcase_create("same as jansson");
    tcase_add_test(tc, scalars_and_containers);
    tcase_add_test(tc, reals_of_every_magnitude);
    tcase_add_test(tc, every_byte_value_in_a_string);
    tcase_add_test(tc, insertion_order_is_kept);
    tcase_add_test(tc, every_golden_review);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
