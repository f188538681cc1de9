/* test_jsonin.c - the fast body parser takes only what jansson takes, and builds the same. */
#include <dirent.h>
#include <stdio.h>

#include "jsonin.h"
#include "jsonplain.h"
#include "testutil.h"

/* Either both parsers accept text (fast must then, if want_fast) with equal values, or fast
 * declines. */
static void expect_agree(const char *text, size_t len, int want_fast)
{
    json_t *fast = jsonin_parse_shaped(text, len, NULL);
    json_error_t error;
    json_t *slow = json_loadb(text, len, JSON_ALLOW_NUL, &error);
    if (want_fast)
        ck_assert_msg(fast != NULL, "the fast parser declined: %.*s", (int)len, text);
    if (fast) {
        ck_assert_msg(slow != NULL, "jansson refuses what the fast parser took: %.*s (%s)",
                      (int)len, text, error.text);
        ck_assert(json_equal(fast, slow));
    }
    json_decref(fast);
    json_decref(slow);
}

START_TEST(accepts_plain_documents)
{
    static const char *const docs[] = {
        "{}",
        "[]",
        " \t\r\n{ \"a\" : [ 1 , -2 , 0 , -0 , true , false , null ] } \n",
        "{\"a\":\"x\",\"a\":\"y\"}", /* the last duplicate wins, in both */
        "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u20ac\\ud83d\\ude00\\u0000\"]",
        "[\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \x7f\"]",
        "{\"\":{\"\":[]}}",
        "[123456789012345678,-123456789012345678]",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
        expect_agree(docs[i], strlen(docs[i]), 1);
}
END_TEST

START_TEST(declines_what_jansson_must_judge)
{
    static const char *const docs[] = {
        "",
        " ",
        "1",
        "\"s\"",
        "true",
        "{",
        "[",
        "[1,]",
        "{\"a\"}",
        "{\"a\":}",
        "{,}",
        "[1 2]",
        "{} x",
        "[] []",
        "[01]",
        "[-]",
        "[+1]",
        "[1.5]",
        "[1e5]",
        "[1234567890123456789]",
        "[tru]",
        "[nul]",
        "[truex]",
        "[\"\\x\"]",
        "[\"\\u12\"]",
        "[\"\\ud800\"]",
        "[\"\\udc00\"]",
        "[\"\\ud800\\u0041\"]",
        "[\"\x01\"]",
        "[\"\xc0\xaf\"]",
        "[\"\xed\xa0\x80\"]",
        "[\"\xf4\x90\x80\x80\"]",
        "[\"\xe2\x82\"]",
        "[\"\x80\"]",
        "\xef\xbb\xbf{}",
        "[\"unterminated",
        "{\"a\\u0000b\":1}",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        json_t *fast = jsonin_parse_shaped(docs[i], strlen(docs[i]), NULL);
        ck_assert_msg(fast == NULL, "the fast parser took: %s", docs[i]);
        expect_agree(docs[i], strlen(docs[i]), 0);
    }
    /* A NUL byte outside a string. */
    expect_agree("[1,\0 2]", 7, 0);
    ck_assert_ptr_null(jsonin_parse_shaped("[1,\0 2]", 7, NULL));
}
END_TEST

START_TEST(nesting_up_to_jansson_limit)
{
    for (int depth = 2047; depth <= 2050; depth++) {
        char *text = malloc((size_t)depth * 2 + 1);
        memset(text, '[', (size_t)depth);
        memset(text + depth, ']', (size_t)depth);
        text[depth * 2] = '\0';
        expect_agree(text, (size_t)depth * 2, depth <= 2048);
        free(text);
    }
}
END_TEST

START_TEST(every_golden_review_takes_the_fast_path)
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
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        static char text[1 << 20];
        size_t len = fread(text, 1, sizeof(text), f);
        fclose(f);
        expect_agree(text, len, 1);
        seen++;
    }
    closedir(dir);
    ck_assert_int_gt(seen, 10);
}
END_TEST

/* ---- shapes ------------------------------------------------------------- */

static const struct jsonin_shape MOUNT[] = {{"name", NULL}, {"mountPath", NULL}, {NULL, NULL}};
static const struct jsonin_shape CONTAINER[] = {
    {"name", NULL}, {"volumeMounts", MOUNT}, {NULL, NULL}};
static const struct jsonin_shape SPEC[] = {{"containers", CONTAINER}, {NULL, NULL}};

static void expect_shaped(const char *text, const struct jsonin_shape *shape, const char *want)
{
    json_t *got = jsonin_parse_shaped(text, strlen(text), shape);
    ck_assert_msg(got != NULL, "declined: %s", text);
    json_t *expected = json_loads(want, 0, NULL);
    ck_assert_ptr_nonnull(expected);
    char *dump = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_msg(json_equal(got, expected), "built %s, want %s", dump, want);
    free(dump);
    json_decref(expected);
    json_decref(got);
}

START_TEST(shape_keeps_listed_members_and_skips_the_rest)
{
    expect_shaped("{\"containers\":[{\"name\":\"app\",\"env\":[{\"name\":\"A\",\"value\":\"1\"}],"
                  "\"volumeMounts\":[{\"name\":\"v\",\"mountPath\":\"/v\",\"readOnly\":true}],"
                  "\"resources\":{\"limits\":{\"cpu\":\"1\"}}}],\"volumes\":[{\"name\":\"v\"}]}",
                  SPEC,
                  "{\"containers\":[{\"name\":\"app\",\"volumeMounts\":[{\"name\":\"v\","
                  "\"mountPath\":\"/v\"}]}]}");
}
END_TEST

START_TEST(shape_member_without_members_is_built_whole)
{
    expect_shaped("{\"containers\":[{\"name\":{\"deep\":[1,{\"x\":null}]}}]}", SPEC,
                  "{\"containers\":[{\"name\":{\"deep\":[1,{\"x\":null}]}}]}");
}
END_TEST

START_TEST(shape_keeps_values_of_unexpected_types)
{
    /* A string where an array is expected, arrays in arrays, a null: built as they are. */
    expect_shaped("{\"containers\":\"oops\"}", SPEC, "{\"containers\":\"oops\"}");
    expect_shaped("{\"containers\":[[{\"name\":\"a\",\"x\":1}],null,3]}", SPEC,
                  "{\"containers\":[[{\"name\":\"a\"}],null,3]}");
}
END_TEST

START_TEST(shape_last_duplicate_wins_like_jansson)
{
    expect_shaped("{\"containers\":[],\"x\":1,\"containers\":[{\"name\":\"b\"}]}", SPEC,
                  "{\"containers\":[{\"name\":\"b\"}]}");
}
END_TEST

START_TEST(skipped_members_are_checked_as_strictly)
{
    /* What the full parse declines, the shaped one declines too, even where it builds nothing. */
    static const char *const bad[] = {
        "{\"skipped\":[1,]}",      "{\"skipped\":\"\\x\"}",
        "{\"skipped\":\"\xff\"}",  "{\"skipped\":{\"a\\u0000\":1}}",
        "{\"skipped\":1.5}",       "{\"skipped\":tru}",
        "{\"skipped\":{\"a\" 1}}", "{\"skipped\":123456789012345678901}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(jsonin_parse_shaped(bad[i], strlen(bad[i]), NULL) == NULL, "full took %s",
                      bad[i]);
        ck_assert_msg(jsonin_parse_shaped(bad[i], strlen(bad[i]), SPEC) == NULL, "shaped took %s",
                      bad[i]);
    }
    /* Depth counts inside skipped values as well: 2048 levels in all are fine, 2049 are not. */
    for (int depth = 2047; depth <= 2049; depth++) {
        size_t inner = (size_t)depth - 1;
        char *text = malloc(inner * 2 + 16);
        char *p = text + sprintf(text, "{\"s\":");
        memset(p, '[', inner);
        memset(p + inner, ']', inner);
        strcpy(p + inner * 2, "}");
        json_t *shaped = jsonin_parse_shaped(text, strlen(text), SPEC);
        json_t *full = jsonin_parse_shaped(text, strlen(text), NULL);
        ck_assert_int_eq(shaped != NULL, full != NULL);
        ck_assert_int_eq(shaped != NULL, depth <= 2048);
        json_decref(shaped);
        json_decref(full);
        free(text);
    }
}
END_TEST

/* ---- plain bytes -------------------------------------------------------- */

START_TEST(plain_len_finds_the_first_byte_needing_attention)
{
    unsigned char text[40];
    /* Every byte value at every position of a word, and past the words. */
    for (unsigned c = 0; c < 256; c++) {
        for (size_t at = 0; at < 24; at++) {
            memset(text, 'a', sizeof(text));
            text[at] = (unsigned char)c;
            size_t want = jsonplain_byte((unsigned char)c) ? 24 : at;
            ck_assert_uint_eq(jsonplain_len(text, 24), want);
        }
    }
    ck_assert_uint_eq(jsonplain_len((const unsigned char *)"", 0), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("jsonin");
    TCase *tc = tcase_create("agrees with jansson");
    tcase_add_test(tc, accepts_plain_documents);
    tcase_add_test(tc, declines_what_jansson_must_judge);
    tcase_add_test(tc, nesting_up_to_jansson_limit);
    tcase_add_test(tc, every_golden_review_takes_the_fast_path);
    suite_add_tcase(s, tc);
    TCase *shapes = tcase_create("shapes");
    tcase_add_test(shapes, shape_keeps_listed_members_and_skips_the_rest);
    tcase_add_test(shapes, shape_member_without_members_is_built_whole);
    tcase_add_test(shapes, shape_keeps_values_of_unexpected_types);
    tcase_add_test(shapes, shape_last_duplicate_wins_like_jansson);
    tcase_add_test(shapes, skipped_members_are_checked_as_strictly);
    suite_add_tcase(s, shapes);
    TCase *plain = tcase_create("plain bytes");
    tcase_add_test(plain, plain_len_finds_the_first_byte_needing_attention);
    suite_add_tcase(s, plain);
    return run_suite(s);
}
