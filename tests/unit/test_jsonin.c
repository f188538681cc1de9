/* test_jsonin.c - the fast body parser takes only what jansson takes, and builds the same. */
#include <dirent.h>
#include <stdio.h>

#include "jsonin.h"
#include "testutil.h"

/* Either both parsers accept text (fast must then, if want_fast) with equal values, or fast
 * declines. */
static void expect_agree(const char *text, size_t len, int want_fast)
{
    json_t *fast = json_parse_fast(text, len);
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
        json_t *fast = json_parse_fast(docs[i], strlen(docs[i]));
        ck_assert_msg(fast == NULL, "the fast parser took: %s", docs[i]);
        expect_agree(docs[i], strlen(docs[i]), 0);
    }
    /* A NUL byte outside a string. */
    expect_agree("[1,\0 2]", 7, 0);
    ck_assert_ptr_null(json_parse_fast("[1,\0 2]", 7));
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

int main(void)
{
    Suite *s = suite_create("jsonin");
    TCase *tc = tcase_create("agrees with jansson");
    tcase_add_test(tc, accepts_plain_documents);
    tcase_add_test(tc, declines_what_jansson_must_judge);
    tcase_add_test(tc, nesting_up_to_jansson_limit);
    tcase_add_test(tc, every_golden_review_takes_the_fast_path);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
