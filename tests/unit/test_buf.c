/* test_buf.c - the byte buffer, its ceiling, the file reader, base64 and str_safe. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "buf.h"
#include "testutil.h"

/* ---- the ceiling ------------------------------------------------------- */

START_TEST(appends_stop_at_the_ceiling_and_leave_the_buffer_as_it_was)
{
    struct buf b = BUF_INIT_MAX(8);
    ck_assert_int_eq(buf_append_str(&b, "12345678"), 0);
    ck_assert_uint_le(b.cap, 9); /* never more room than the ceiling needs */
    errno = 0;
    ck_assert_int_eq(buf_append_char(&b, 'x'), -1);
    ck_assert_int_eq(errno, EFBIG);
    ck_assert_int_eq(buf_printf(&b, "%d", 9), -1);
    ck_assert_int_eq(buf_append(&b, "", 0), 0); /* nothing more is still fine */
    ck_assert_str_eq(b.data, "12345678");
    ck_assert_uint_eq(b.len, 8);
    buf_free(&b);
    /* The ceiling outlives the data: a freed buffer refuses as much again. */
    ck_assert_int_eq(buf_append_str(&b, "123456789"), -1);
    ck_assert_int_eq(buf_append_str(&b, "1234"), 0);
    buf_free(&b);
}
END_TEST

START_TEST(a_buffer_without_a_ceiling_grows)
{
    struct buf b = BUF_INIT;
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(buf_append_str(&b, "0123456789"), 0);
    ck_assert_uint_eq(b.len, 10000);
    buf_free(&b);
}
END_TEST

/* ---- the file reader --------------------------------------------------- */

static char path[64];

static void write_file(size_t size)
{
    snprintf(path, sizeof(path), "/tmp/test_buf.XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    for (size_t i = 0; i < size; i++)
        ck_assert_int_eq(write(fd, "a", 1), 1);
    close(fd);
}

START_TEST(a_file_up_to_the_ceiling_is_read)
{
    char err[256];
    write_file(100);
    struct buf b = BUF_INIT_MAX(100);
    ck_assert_msg(buf_read_file(&b, path, err, sizeof(err)) == 0, "%s", err);
    ck_assert_uint_eq(b.len, 100);
    ck_assert_uint_eq(strspn(b.data, "a"), 100);
    buf_free(&b);
    unlink(path);
}
END_TEST

START_TEST(an_empty_file_is_an_empty_string)
{
    char err[256];
    write_file(0);
    struct buf b = BUF_INIT_MAX(100);
    ck_assert_msg(buf_read_file(&b, path, err, sizeof(err)) == 0, "%s", err);
    ck_assert_uint_eq(b.len, 0);
    char *text = buf_steal(&b);
    ck_assert_str_eq(text, "");
    free(text);
    unlink(path);
}
END_TEST

START_TEST(a_file_past_the_ceiling_is_an_error_that_says_so)
{
    char err[256];
    write_file(101);
    struct buf b = BUF_INIT_MAX(100);
    buf_append_str(&b, "kept");
    ck_assert_int_eq(buf_read_file(&b, path, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "is larger than 100 bytes") && strstr(err, path), "%s", err);
    ck_assert_str_eq(b.data, "kept"); /* as it was */
    buf_free(&b);
    unlink(path);
}
END_TEST

START_TEST(a_file_of_unknown_size_is_bounded_too)
{
    /* /proc files say they are empty: the size is found by reading. */
    char err[256];
    struct buf b = BUF_INIT_MAX(16);
    ck_assert_int_eq(buf_read_file(&b, "/proc/self/maps", err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "is larger than 16 bytes"), "%s", err);
    buf_free(&b);
    struct buf all = BUF_INIT_MAX(1024 * 1024);
    ck_assert_msg(buf_read_file(&all, "/proc/self/maps", err, sizeof(err)) == 0, "%s", err);
    ck_assert_uint_gt(all.len, 16);
    buf_free(&all);
}
END_TEST

START_TEST(a_missing_file_is_named)
{
    char err[256];
    struct buf b = BUF_INIT_MAX(16);
    ck_assert_int_eq(buf_read_file(&b, "/nonexistent/x", err, sizeof(err)), -1);
    ck_assert_str_eq(err, "cannot open /nonexistent/x: No such file or directory");
    ck_assert_int_eq(buf_read_file(&b, "/", err, sizeof(err)), -1);
    ck_assert_str_eq(err, "cannot read /: Is a directory");
    buf_free(&b);
}
END_TEST

/* ---- str_safe ------------------------------------------------------------ */

START_TEST(printable_ascii_is_copied_and_every_other_byte_escaped)
{
    char out[64];
    ck_assert_str_eq(str_safe(out, sizeof(out), "plain \"text\" \\", 14), "plain \"text\" \\");
    ck_assert_str_eq(str_safe(out, sizeof(out), "a\nb\0c\x7f\xc3\xa9", 8),
                     "a\\x0ab\\x00c\\x7f\\xc3\\xa9");
    ck_assert_str_eq(str_safe(out, sizeof(out), "", 0), "");
}
END_TEST

START_TEST(what_does_not_fit_is_cut_whole_and_ends_in_dots)
{
    char out[8];
    ck_assert_str_eq(str_safe(out, sizeof(out), "1234567", 7), "1234567"); /* fits exactly */
    ck_assert_str_eq(str_safe(out, sizeof(out), "12345678", 8), "1234...");
    ck_assert_str_eq(str_safe(out, sizeof(out), "12\n45678", 8), "12..."); /* \x0a: no room */
    ck_assert_str_eq(str_safe(out, sizeof(out), "\n\n", 2), "\\x0a...");
    char tiny[3] = "xx";
    ck_assert_str_eq(str_safe(tiny, sizeof(tiny), "abc", 3), ""); /* too small to say anything */
}
END_TEST

/* ---- base64 --------------------------------------------------------------- */

START_TEST(base64_matches_the_rfc_4648_vectors)
{
    static const char *const vectors[][2] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        struct buf b = BUF_INIT;
        ck_assert_int_eq(buf_append_base64(&b, vectors[i][0], strlen(vectors[i][0])), 0);
        ck_assert_str_eq(b.data ? b.data : "", vectors[i][1]);
        buf_free(&b);
    }
    /* Every byte value, through the two-character table and the tail. */
    unsigned char all[256];
    for (size_t i = 0; i < sizeof(all); i++)
        all[i] = (unsigned char)i;
    struct buf b = BUF_INIT;
    ck_assert_int_eq(buf_append_base64(&b, all, sizeof(all)), 0);
    ck_assert_uint_eq(b.len, 344);
    ck_assert_int_eq(strncmp(b.data, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g", 44), 0);
    ck_assert_str_eq(b.data + 340, "/w==");
    buf_free(&b);
}
END_TEST

static Suite *buf_suite(void)
{
    Suite *s = suite_create("buf");
    TCase *ceiling = tcase_create("ceiling");
    tcase_add_test(ceiling, appends_stop_at_the_ceiling_and_leave_the_buffer_as_it_was);
    tcase_add_test(ceiling, a_buffer_without_a_ceiling_grows);
    suite_add_tcase(s, ceiling);

    TCase *file = tcase_create("file");
    tcase_add_test(file, a_file_up_to_the_ceiling_is_read);
    tcase_add_test(file, an_empty_file_is_an_empty_string);
    tcase_add_test(file, a_file_past_the_ceiling_is_an_error_that_says_so);
    tcase_add_test(file, a_file_of_unknown_size_is_bounded_too);
    tcase_add_test(file, a_missing_file_is_named);
    suite_add_tcase(s, file);

    TCase *base64 = tcase_create("base64");
    tcase_add_test(base64, base64_matches_the_rfc_4648_vectors);
    suite_add_tcase(s, base64);

    TCase *safe = tcase_create("str_safe");
    tcase_add_test(safe, printable_ascii_is_copied_and_every_other_byte_escaped);
    tcase_add_test(safe, what_does_not_fit_is_cut_whole_and_ends_in_dots);
    suite_add_tcase(s, safe);
    return s;
}

int main(void)
{
    return run_suite(buf_suite());
}
