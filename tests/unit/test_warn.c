/* test_warn.c - bounded, sanitised admission warnings. */
#include <stdio.h>

#include "testutil.h"
#include "warn.h"

/* ---- helpers ----------------------------------------------------------- */

static void expect_printable(const char *s)
{
    for (const char *p = s; *p; p++)
        ck_assert_msg((unsigned char)*p >= 0x20 && (unsigned char)*p <= 0x7e,
                      "byte 0x%02x at %zu is not printable ASCII: %s", (unsigned char)*p,
                      (size_t)(p - s), s);
}

/* A distinct warning body of exactly n characters (before the prefix). */
static void add_sized(struct warnings *w, size_t n, unsigned id)
{
    char text[1024];
    ck_assert_uint_lt(n, sizeof(text));
    int head = snprintf(text, sizeof(text), "warning %u ", id);
    memset(text + head, 'x', n - (size_t)head);
    text[n] = '\0';
    warnings_addf(w, "%s", text);
}

static size_t total_bytes(const json_t *array)
{
    size_t bytes = 0, i;
    json_t *item;
    json_array_foreach(array, i, item) bytes += json_string_length(item);
    return bytes;
}

/* ---- tests ------------------------------------------------------------- */

START_TEST(every_warning_starts_with_the_prefix)
{
    struct warnings w = {NULL, 0};
    warnings_addf(&w, "container \"%s\": %d things", "app", 3);
    ck_assert_uint_eq(w.count, 1);
    ck_assert_str_eq(w.items[0], "goinject: container \"app\": 3 things");
    warnings_free(&w);
    ck_assert_uint_eq(w.count, 0);
    ck_assert_ptr_null(w.items);
}
END_TEST

START_TEST(empty_list_gives_an_empty_array)
{
    struct warnings w = {NULL, 0};
    json_t *json = warnings_to_json(&w);
    ck_assert_json_eq(json, "[]");
    json_decref(json);
}
END_TEST

START_TEST(warnings_keep_their_order)
{
    struct warnings w = {NULL, 0};
    warnings_addf(&w, "first");
    warnings_addf(&w, "second");
    warnings_addf(&w, "third");
    json_t *json = warnings_to_json(&w);
    ck_assert_json_eq(json, "[\"goinject: first\", \"goinject: second\", \"goinject: third\"]");
    json_decref(json);
    warnings_free(&w);
}
END_TEST

START_TEST(a_warning_that_fits_is_not_truncated)
{
    struct warnings w = {NULL, 0};
    add_sized(&w, WARNING_MAX_LEN - strlen("goinject: "), 1);
    ck_assert_uint_eq(strlen(w.items[0]), WARNING_MAX_LEN);
    ck_assert_ptr_null(strstr(w.items[0], "..."));
    ck_assert_int_eq(w.items[0][WARNING_MAX_LEN - 1], 'x');
    warnings_free(&w);
}
END_TEST

START_TEST(a_long_warning_is_truncated_to_256_with_dots)
{
    struct warnings w = {NULL, 0};
    add_sized(&w, WARNING_MAX_LEN - strlen("goinject: ") + 1, 1);
    add_sized(&w, 900, 2);
    ck_assert_uint_eq(w.count, 2);
    for (size_t i = 0; i < w.count; i++) {
        ck_assert_uint_eq(strlen(w.items[i]), WARNING_MAX_LEN);
        ck_assert_str_eq(w.items[i] + WARNING_MAX_LEN - 3, "...");
        ck_assert_int_eq(strncmp(w.items[i], "goinject: warning ", 18), 0);
    }
    warnings_free(&w);
}
END_TEST

START_TEST(non_printable_characters_are_escaped)
{
    struct warnings w = {NULL, 0};
    warnings_addf(&w, "a\nb\tc\rd\x7f"
                      "e\x01"
                      "f caf\xc3\xa9 \x1b[31mred");
    ck_assert_uint_eq(w.count, 1);
    ck_assert_str_eq(w.items[0],
                     "goinject: a\\x0ab\\x09c\\x0dd\\x7fe\\x01f caf\\xc3\\xa9 \\x1b[31mred");
    expect_printable(w.items[0]);
    warnings_free(&w);
}
END_TEST

START_TEST(truncation_and_replacement_together_stay_printable)
{
    struct warnings w = {NULL, 0};
    char text[600];
    for (size_t i = 0; i < sizeof(text) - 1; i++)
        text[i] = (char)(0x80 + i % 0x40);
    text[sizeof(text) - 1] = '\0';
    warnings_addf(&w, "%s", text);
    /* Each byte is four characters, \xNN, and is cut whole: 10 + 60 * 4 + 3 = 253. */
    ck_assert_uint_eq(strlen(w.items[0]), 253);
    ck_assert_str_eq(w.items[0] + 250, "...");
    expect_printable(w.items[0]);
    warnings_free(&w);
}
END_TEST

START_TEST(duplicates_are_dropped)
{
    struct warnings w = {NULL, 0};
    warnings_addf(&w, "container \"%s\": same", "app");
    warnings_addf(&w, "other");
    warnings_addf(&w, "container \"app\": same");
    warnings_addf(&w, "other");
    ck_assert_uint_eq(w.count, 2);
    ck_assert_str_eq(w.items[0], "goinject: container \"app\": same");
    ck_assert_str_eq(w.items[1], "goinject: other");
    warnings_free(&w);
}
END_TEST

START_TEST(duplicates_after_sanitising_are_dropped)
{
    struct warnings w = {NULL, 0};
    warnings_addf(&w, "a\nb");
    warnings_addf(&w, "a%cb", '\n');
    warnings_addf(&w, "a\tb"); /* \x09 is not \x0a: another warning */
    ck_assert_uint_eq(w.count, 2);
    /* Two long texts that differ only after the cut are the same warning. */
    char a[400], b[400];
    memset(a, 'y', sizeof(a) - 1);
    a[sizeof(a) - 1] = '\0';
    memcpy(b, a, sizeof(b));
    b[350] = 'z';
    warnings_addf(&w, "%s", a);
    warnings_addf(&w, "%s", b);
    ck_assert_uint_eq(w.count, 3);
    warnings_free(&w);
}
END_TEST

START_TEST(all_warnings_that_fit_the_budget_are_returned)
{
    struct warnings w = {NULL, 0};
    /* 14 warnings of 256 bytes: 3584 bytes, under the budget. */
    for (unsigned i = 0; i < 14; i++)
        add_sized(&w, 900, i);
    json_t *json = warnings_to_json(&w);
    ck_assert_uint_eq(json_array_size(json), 14);
    ck_assert_uint_le(total_bytes(json), 4096);
    json_decref(json);
    warnings_free(&w);
}
END_TEST

START_TEST(the_4k_budget_ends_with_a_left_out_line)
{
    struct warnings w = {NULL, 0};
    for (unsigned i = 0; i < 20; i++)
        add_sized(&w, 900, i);
    ck_assert_uint_eq(w.count, 20);
    json_t *json = warnings_to_json(&w);
    size_t n = json_array_size(json);
    ck_assert_uint_eq(n, 15);
    ck_assert_uint_le(total_bytes(json), 4096);
    ck_assert_str_eq(json_string_value(json_array_get(json, n - 1)),
                     "goinject: 6 more warnings left out; the webhook log lists them all");
    /* The first ones are kept in order. */
    ck_assert_str_eq(json_string_value(json_array_get(json, 0)), w.items[0]);
    ck_assert_str_eq(json_string_value(json_array_get(json, 13)), w.items[13]);
    json_decref(json);
    warnings_free(&w);
}
END_TEST

START_TEST(many_short_warnings_fit_the_budget)
{
    struct warnings w = {NULL, 0};
    for (unsigned i = 0; i < 300; i++)
        warnings_addf(&w, "w%u", i);
    json_t *json = warnings_to_json(&w);
    size_t n = json_array_size(json);
    ck_assert_uint_le(total_bytes(json), 4096);
    ck_assert_uint_lt(n, 300);
    char want[128];
    snprintf(want, sizeof(want),
             "goinject: %zu more warnings left out; the webhook log lists them all", 300 - (n - 1));
    ck_assert_str_eq(json_string_value(json_array_get(json, n - 1)), want);
    json_decref(json);
    warnings_free(&w);
}
END_TEST

START_TEST(the_list_keeps_at_most_the_maximum_count)
{
    struct warnings w = {NULL, 0};
    for (unsigned i = 0; i < WARNINGS_MAX_COUNT + 100; i++)
        warnings_addf(&w, "warning %u", i);
    ck_assert_uint_eq(w.count, WARNINGS_MAX_COUNT);
    json_t *json = warnings_to_json(&w);
    ck_assert_uint_le(total_bytes(json), 4096);
    json_decref(json);
    warnings_free(&w);
}
END_TEST

static Suite *warn_suite(void)
{
    Suite *s = suite_create("warn");

    TCase *text = tcase_create("text");
    tcase_add_test(text, every_warning_starts_with_the_prefix);
    tcase_add_test(text, empty_list_gives_an_empty_array);
    tcase_add_test(text, warnings_keep_their_order);
    tcase_add_test(text, a_warning_that_fits_is_not_truncated);
    tcase_add_test(text, a_long_warning_is_truncated_to_256_with_dots);
    tcase_add_test(text, non_printable_characters_are_escaped);
    tcase_add_test(text, truncation_and_replacement_together_stay_printable);
    tcase_add_test(text, duplicates_are_dropped);
    tcase_add_test(text, duplicates_after_sanitising_are_dropped);
    suite_add_tcase(s, text);

    TCase *budget = tcase_create("budget");
    tcase_add_test(budget, all_warnings_that_fit_the_budget_are_returned);
    tcase_add_test(budget, the_4k_budget_ends_with_a_left_out_line);
    tcase_add_test(budget, many_short_warnings_fit_the_budget);
    tcase_add_test(budget, the_list_keeps_at_most_the_maximum_count);
    suite_add_tcase(s, budget);

    return s;
}

int main(void)
{
    return run_suite(warn_suite());
}
