/* test_tar.c - the tar reader and the plain and gzip byte readers, on crafted and hostile input. */
#include "source.h"
#include "tar.h"
#include "tar_read.h"
#include "testtar.h"
#include "testutil.h"

static char err[256];

/* Reads every entry of an archive in memory; returns the count, or -1 on error (err set). */
static int walk(const uint8_t *data, size_t len, struct tar_entry *last)
{
    struct source src;
    struct reader r;
    struct tar_reader t;
    int count = 0, rc;
    source_from_memory(&src, data, len);
    ck_assert_int_eq(reader_open(&r, &src), 0);
    tar_init(&t, &r);
    while ((rc = tar_next(&t, err, sizeof(err))) == 1) {
        count++;
        if (last)
            *last = t.entry;
    }
    reader_close(&r);
    return rc < 0 ? -1 : count;
}

START_TEST(reads_files_links_and_directories)
{
    struct buf b = BUF_INIT;
    tt_add(&b, "./etc/", '5', NULL, NULL, 0, 0755);
    tt_file(&b, "./etc/os-release", "ID=test\n");
    tt_add(&b, "bin/sh", '2', "dash", NULL, 0, 0777);
    tt_add(&b, "bin/hard", '1', "bin/dash", NULL, 0, 0755);
    tt_end(&b);
    struct source src;
    struct reader r;
    struct tar_reader t;
    source_from_memory(&src, (uint8_t *)b.data, b.len);
    ck_assert_int_eq(reader_open(&r, &src), 0);
    ck_assert_int_eq(r.codec, READER_PLAIN);
    tar_init(&t, &r);
    ck_assert_int_eq(tar_next(&t, err, sizeof(err)), 1);
    ck_assert_str_eq(t.entry.name, "./etc/");
    ck_assert_int_eq(t.entry.type, TAR_DIR);
    ck_assert_int_eq(tar_next(&t, err, sizeof(err)), 1);
    ck_assert_int_eq(t.entry.type, TAR_FILE);
    ck_assert_uint_eq(t.entry.size, 8);
    ck_assert_uint_eq(t.entry.offset, 1024);
    char text[16] = "";
    ck_assert_int_eq(tar_read(&t, text, 3), 3);
    ck_assert_int_eq(memcmp(text, "ID=", 3), 0);
    ck_assert_int_eq(tar_next(&t, err, sizeof(err)), 1); /* skips the rest of the data */
    ck_assert_int_eq(t.entry.type, TAR_SYMLINK);
    ck_assert_str_eq(t.entry.link, "dash");
    ck_assert_uint_eq(t.entry.mode, 0777);
    ck_assert_int_eq(tar_next(&t, err, sizeof(err)), 1);
    ck_assert_int_eq(t.entry.type, TAR_HARDLINK);
    ck_assert_int_eq(tar_next(&t, err, sizeof(err)), 0);
    reader_close(&r);
    buf_free(&b);
}
END_TEST

START_TEST(long_names_gnu_and_pax)
{
    char name[300];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    struct buf b = BUF_INIT;
    tt_add(&b, name, '0', NULL, "x", 1, 0644);
    /* PAX: path and size override the header's. */
    const char pax[] = "28 path=pax/overridden/name\n10 size=3\n";
    tt_header(&b, "PaxHeader", 'x', NULL, sizeof(pax) - 1, 0644);
    tt_data(&b, pax, sizeof(pax) - 1);
    tt_header(&b, "short", '0', NULL, 0, 0644);
    tt_data(&b, "abc", 3);
    tt_end(&b);
    struct source src;
    struct reader r;
    struct tar_reader t;
    source_from_memory(&src, (uint8_t *)b.data, b.len);
    reader_open(&r, &src);
    tar_init(&t, &r);
    ck_assert_int_eq(tar_next(&t, err, sizeof(err)), 1);
    ck_assert_str_eq(t.entry.name, name);
    ck_assert_int_eq(tar_next(&t, err, sizeof(err)), 1);
    ck_assert_str_eq(t.entry.name, "pax/overridden/name");
    ck_assert_uint_eq(t.entry.size, 3);
    ck_assert_int_eq(tar_next(&t, err, sizeof(err)), 0);
    reader_close(&r);
    buf_free(&b);
}
END_TEST

START_TEST(corrupt_headers_are_errors_with_the_offset)
{
    struct buf b = BUF_INIT;
    tt_file(&b, "a", "hello");
    tt_end(&b);
    b.data[10] ^= 1; /* the checksum no longer matches */
    ck_assert_int_eq(walk((uint8_t *)b.data, b.len, NULL), -1);
    ck_assert_ptr_nonnull(strstr(err, "checksum"));
    ck_assert_ptr_nonnull(strstr(err, "at byte"));
    buf_free(&b);
}
END_TEST

START_TEST(truncated_archives_are_errors)
{
    struct buf b = BUF_INIT;
    tt_file(&b, "a", "hello, world, a longer text than one would think");
    tt_file(&b, "b", "second");
    tt_end(&b);
    for (size_t cut = 1; cut < 2048; cut++) {
        if (cut % 512 == 0)
            continue; /* a clean cut at a header boundary is a (short) archive */
        uint8_t *copy = malloc(cut);
        memcpy(copy, b.data, cut);
        ck_assert_msg(walk(copy, cut, NULL) == -1, "cut at %zu accepted", cut);
        free(copy);
    }
    buf_free(&b);
}
END_TEST

/* Writes a raw header whose size field is given as 12 bytes. */
static void header_with_size(struct buf *b, const char size[12])
{
    tt_header(b, "big", '0', NULL, 0, 0644);
    char *h = b->data + b->len - 512;
    memcpy(h + 124, size, 12);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < 512; i++)
        sum += (unsigned char)h[i];
    snprintf(h + 148, 8, "%06o", sum);
}

START_TEST(absurd_sizes_are_refused)
{
    struct buf b = BUF_INIT;
    header_with_size(&b, "77777777777"); /* 8 GiB: larger than the archive */
    tt_end(&b);
    ck_assert_int_eq(walk((uint8_t *)b.data, b.len, NULL), -1);
    struct source src;
    struct reader r;
    struct tar_reader t;
    source_from_memory(&src, (uint8_t *)b.data, b.len);
    reader_open(&r, &src);
    tar_init(&t, &r);
    ck_assert_int_eq(tar_next(&t, err, sizeof(err)), 1);
    ck_assert_int_eq(tar_next(&t, err, sizeof(err)), -1); /* cannot skip past the end */
    reader_close(&r);
    buf_free(&b);
    /* base-256: 2^63 and a negative number. */
    struct buf huge = BUF_INIT;
    header_with_size(&huge, "\x80\0\0\0\x80\0\0\0\0\0\0\0");
    ck_assert_int_eq(walk((uint8_t *)huge.data, huge.len, NULL), -1);
    buf_free(&huge);
    struct buf negative = BUF_INIT;
    header_with_size(&negative, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff");
    ck_assert_int_eq(walk((uint8_t *)negative.data, negative.len, NULL), -1);
    buf_free(&negative);
    struct buf garbage = BUF_INIT;
    header_with_size(&garbage, "12x45678901");
    ck_assert_int_eq(walk((uint8_t *)garbage.data, garbage.len, NULL), -1);
    buf_free(&garbage);
}
END_TEST

START_TEST(hostile_pax_records)
{
    static const char *const bad[] = {"99999999 path=x\n", "5 path=x\n", "x path=y\n",
                                      "11 size=-1\n", "17 path_no_equal\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct buf b = BUF_INIT;
        tt_header(&b, "PaxHeader", 'x', NULL, strlen(bad[i]), 0644);
        tt_data(&b, bad[i], strlen(bad[i]));
        tt_file(&b, "f", "data");
        tt_end(&b);
        ck_assert_msg(walk((uint8_t *)b.data, b.len, NULL) == -1, "accepted %s", bad[i]);
        buf_free(&b);
    }
    /* A path longer than TAR_PATH_MAX is refused, not cut. */
    size_t n = TAR_PATH_MAX + 10;
    char *record = malloc(n + 32);
    int head = snprintf(record, 32, "%zu path=", n + 7 + 4); /* 4 digits, " path=", "\n" */
    memset(record + head, 'p', n);
    record[head + n] = '\n';
    struct buf b = BUF_INIT;
    tt_header(&b, "PaxHeader", 'x', NULL, (size_t)head + n + 1, 0644);
    tt_data(&b, record, (size_t)head + n + 1);
    tt_file(&b, "f", "data");
    tt_end(&b);
    ck_assert_int_eq(walk((uint8_t *)b.data, b.len, NULL), -1);
    free(record);
    buf_free(&b);
}
END_TEST

START_TEST(names_are_returned_raw_for_the_caller_to_clean)
{
    struct buf b = BUF_INIT;
    tt_file(&b, "../../etc/passwd", "x");
    tt_file(&b, "/abs/path", "y");
    tt_end(&b);
    struct tar_entry last;
    ck_assert_int_eq(walk((uint8_t *)b.data, b.len, &last), 2);
    ck_assert_str_eq(last.name, "/abs/path");
    buf_free(&b);
}
END_TEST

START_TEST(gzip_streams_and_skips)
{
    struct buf b = BUF_INIT;
    char big[100000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)('a' + i % 26);
    tt_add(&b, "big", '0', NULL, big, sizeof(big), 0644);
    tt_file(&b, "after", "tail");
    tt_end(&b);
    size_t zlen;
    uint8_t *z = tt_gzip(b.data, b.len, &zlen);
    struct source src;
    struct reader r;
    struct tar_reader t;
    source_from_memory(&src, z, zlen);
    ck_assert_int_eq(reader_open(&r, &src), 0);
    ck_assert_int_eq(r.codec, READER_GZIP);
    tar_init(&t, &r);
    ck_assert_int_eq(tar_next(&t, err, sizeof(err)), 1);
    ck_assert_int_eq(tar_next(&t, err, sizeof(err)), 1);
    ck_assert_str_eq(t.entry.name, "after");
    char tail[8] = "";
    ck_assert_int_eq(tar_read(&t, tail, sizeof(tail)), 4);
    ck_assert_int_eq(memcmp(tail, "tail", 4), 0);
    ck_assert_int_eq(tar_next(&t, err, sizeof(err)), 0);
    reader_close(&r);
    /* A truncated gzip stream is an error, never a hang or a crash. */
    for (size_t cut = 10; cut < zlen / 2; cut += 97) {
        source_from_memory(&src, z, cut);
        ck_assert_int_eq(reader_open(&r, &src), 0);
        tar_init(&t, &r);
        int rc;
        while ((rc = tar_next(&t, err, sizeof(err))) == 1)
            ;
        ck_assert_int_eq(rc, -1);
        reader_close(&r);
    }
    /* Corrupt deflate data. */
    z[zlen / 2] ^= 0x55;
    z[zlen / 2 + 1] ^= 0xaa;
    source_from_memory(&src, z, zlen);
    reader_open(&r, &src);
    tar_init(&t, &r);
    int rc;
    while ((rc = tar_next(&t, err, sizeof(err))) == 1)
        ;
    ck_assert_int_eq(rc, -1);
    reader_close(&r);
    free(z);
    buf_free(&b);
}
END_TEST

START_TEST(source_windows_are_bounded)
{
    const uint8_t data[] = "0123456789";
    struct source s, w;
    char out[4];
    source_from_memory(&s, data, 10);
    ck_assert_int_eq(source_window(&s, 2, 5, &w), 0);
    ck_assert_int_eq(source_read_at(&w, 1, out, 4), 0);
    ck_assert_int_eq(memcmp(out, "3456", 4), 0);
    ck_assert_int_eq(source_read_at(&w, 2, out, 4), -1);
    ck_assert_int_eq(source_window(&s, 8, 5, &w), -1);
    ck_assert_int_eq(source_window(&s, UINT64_MAX, 2, &w), -1);
    ck_assert_int_eq(source_read_at(&s, UINT64_MAX - 1, out, 4), -1);
}
END_TEST

static Suite *tar_suite(void)
{
    Suite *s = suite_create("tar");
    TCase *tc = tcase_create("tar");
    tcase_add_test(tc, reads_files_links_and_directories);
    tcase_add_test(tc, long_names_gnu_and_pax);
    tcase_add_test(tc, corrupt_headers_are_errors_with_the_offset);
    tcase_add_test(tc, truncated_archives_are_errors);
    tcase_add_test(tc, absurd_sizes_are_refused);
    tcase_add_test(tc, hostile_pax_records);
    tcase_add_test(tc, names_are_returned_raw_for_the_caller_to_clean);
    tcase_add_test(tc, gzip_streams_and_skips);
    tcase_add_test(tc, source_windows_are_bounded);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(tar_suite());
}
