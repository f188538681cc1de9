/*
 * test_source.c - the byte readers: plain, gzip and zstd give the same bytes,
 * zstd frames (skippable ones too) concatenate, skipping works in every
 * codec, and truncated, corrupt or oversized zstd is an error, never a
 * crash or an unbounded allocation.
 */
#include "source.h"
#include "testtar.h"
#include "testutil.h"

#define DATA_LEN 300000

static uint8_t data[DATA_LEN];

/* Text that compresses, with some variety so that every codec has real work to do. */
static void setup(void)
{
    uint32_t x = 12345;
    for (size_t i = 0; i < DATA_LEN; i++) {
        x = x * 1103515245 + 12345;
        data[i] = (i % 1000 < 700) ? (uint8_t)('a' + i % 26) : (uint8_t)(x >> 24);
    }
}

/* Reads everything from an encoded buffer in chunks of chunk bytes. 0, or -1 with err set. */
static int read_all(const void *enc, size_t len, size_t chunk, struct buf *out, char *err,
                    size_t errlen)
{
    struct source src;
    struct reader r;
    char tmp[70000];
    ssize_t n = 0;
    source_from_memory(&src, enc, len);
    if (reader_open(&r, &src) != 0) {
        snprintf(err, errlen, "%s", r.error);
        return -1;
    }
    while ((n = reader_read(&r, tmp, chunk)) > 0)
        buf_append(out, tmp, (size_t)n);
    snprintf(err, errlen, "%s", r.error);
    reader_close(&r);
    return n < 0 ? -1 : 0;
}

/* data[0..len) through read_all must come back whole. */
static void expect_data(const void *enc, size_t enc_len, size_t len, size_t chunk)
{
    struct buf out = BUF_INIT;
    char err[128] = "";
    ck_assert_msg(read_all(enc, enc_len, chunk, &out, err, sizeof(err)) == 0, "%s", err);
    ck_assert_uint_eq(out.len, len);
    ck_assert_int_eq(memcmp(out.data, data, len), 0);
    buf_free(&out);
}

/* read_all must fail with an error that contains want. */
static void expect_error(const void *enc, size_t enc_len, const char *want)
{
    struct buf out = BUF_INIT;
    char err[128] = "";
    ck_assert_int_eq(read_all(enc, enc_len, 4096, &out, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, want) != NULL, "error \"%s\" does not say \"%s\"", err, want);
    buf_free(&out);
}

/* One zstd frame through a CCtx: a given window (0: the level's), checksum, and, when
 * streamed, no content size in the header, so the window is the one asked for. */
static uint8_t *zstd_frame(const void *src, size_t len, int window_log, bool checksum,
                           bool streamed, size_t *out_len)
{
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    size_t cap = ZSTD_compressBound(len) + 64;
    uint8_t *out = malloc(cap);
    ck_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 3)));
    ck_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, window_log)));
    ck_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, checksum)));
    if (!streamed) {
        *out_len = ZSTD_compress2(cctx, out, cap, src, len);
    } else {
        ZSTD_outBuffer o = {out, cap, 0};
        ZSTD_inBuffer in = {src, len, 0};
        ck_assert(!ZSTD_isError(ZSTD_compressStream2(cctx, &o, &in, ZSTD_e_continue)));
        size_t left;
        do
            left = ZSTD_compressStream2(cctx, &o, &in, ZSTD_e_end);
        while (left != 0 && !ZSTD_isError(left));
        ck_assert(!ZSTD_isError(left));
        *out_len = o.pos;
    }
    ck_assert(!ZSTD_isError(*out_len));
    ZSTD_freeCCtx(cctx);
    return out;
}

/* A skippable frame (magic 0x184D2A5?, little-endian size, payload). */
static void add_skippable(struct buf *b, uint8_t nibble, size_t size)
{
    uint8_t head[8] = {(uint8_t)(0x50 | nibble), 0x2a, 0x4d, 0x18, (uint8_t)size,
                       (uint8_t)(size >> 8),     0,    0};
    buf_append(b, head, sizeof(head));
    for (size_t i = 0; i < size; i++)
        buf_append_char(b, (char)i);
}

START_TEST(plain_gzip_and_zstd_give_the_same_bytes)
{
    size_t glen, zlen;
    uint8_t *g = tt_gzip(data, DATA_LEN, &glen);
    uint8_t *z = tt_zstd(data, DATA_LEN, &zlen);
    struct source src;
    struct reader r;
    const struct {
        const void *enc;
        size_t len;
        enum reader_codec codec;
    } forms[] = {{data, DATA_LEN, READER_PLAIN}, {g, glen, READER_GZIP}, {z, zlen, READER_ZSTD}};
    for (size_t i = 0; i < 3; i++) {
        source_from_memory(&src, forms[i].enc, forms[i].len);
        ck_assert_int_eq(reader_open(&r, &src), 0);
        ck_assert_int_eq(r.codec, forms[i].codec);
        reader_close(&r);
        expect_data(forms[i].enc, forms[i].len, DATA_LEN, 1);
        expect_data(forms[i].enc, forms[i].len, DATA_LEN, 4093);
        expect_data(forms[i].enc, forms[i].len, DATA_LEN, 65536);
    }
    free(g);
    free(z);
}
END_TEST

START_TEST(zstd_frames_and_skippable_frames_read_as_one_stream)
{
    struct buf b = BUF_INIT;
    size_t cuts[] = {0, 1, 100000, 100001, 250000, DATA_LEN};
    add_skippable(&b, 0x0, 16);
    for (size_t i = 0; i + 1 < sizeof(cuts) / sizeof(cuts[0]); i++) {
        size_t zlen;
        uint8_t *z = tt_zstd(data + cuts[i], cuts[i + 1] - cuts[i], &zlen);
        buf_append(&b, z, zlen);
        free(z);
        add_skippable(&b, (uint8_t)i, i * 300); /* an empty one too */
    }
    expect_data(b.data, b.len, DATA_LEN, 3000);
    expect_data(b.data, b.len, DATA_LEN, 65536);
    buf_free(&b);
}
END_TEST

START_TEST(skipping_works_in_every_codec)
{
    size_t glen, zlen;
    uint8_t *g = tt_gzip(data, DATA_LEN, &glen);
    uint8_t *z = tt_zstd(data, DATA_LEN, &zlen);
    const void *enc[] = {data, g, z};
    size_t len[] = {DATA_LEN, glen, zlen};
    for (size_t i = 0; i < 3; i++) {
        struct source src;
        struct reader r;
        uint8_t got[100];
        source_from_memory(&src, enc[i], len[i]);
        ck_assert_int_eq(reader_open(&r, &src), 0);
        ck_assert_int_eq(reader_skip(&r, 12345), 0);
        ck_assert_int_eq(reader_read_full(&r, got, sizeof(got)), 0);
        ck_assert_int_eq(memcmp(got, data + 12345, sizeof(got)), 0);
        ck_assert_int_eq(reader_skip(&r, 200000), 0);
        ck_assert_uint_eq(r.out_pos, 12345 + sizeof(got) + 200000);
        ck_assert_int_eq(reader_read_full(&r, got, sizeof(got)), 0);
        ck_assert_int_eq(memcmp(got, data + 212445, sizeof(got)), 0);
        ck_assert_int_eq(reader_skip(&r, DATA_LEN), -1); /* past the end */
        ck_assert_ptr_nonnull(strstr(r.error, "unexpected end"));
        reader_close(&r);
    }
    free(g);
    free(z);
}
END_TEST

START_TEST(truncated_zstd_is_an_error)
{
    size_t zlen;
    uint8_t *z = zstd_frame(data, 20000, 0, true, false, &zlen);
    expect_data(z, zlen, 20000, 4096);
    for (size_t cut = 4; cut < zlen; cut += (cut < 64 || zlen - cut < 64) ? 1 : 37) {
        struct buf out = BUF_INIT;
        char err[128] = "";
        ck_assert_msg(read_all(z, cut, 4096, &out, err, sizeof(err)) == -1, "cut at %zu read", cut);
        ck_assert_msg(strstr(err, "zstd stream is truncated") != NULL, "cut at %zu: %s", cut, err);
        buf_free(&out);
    }
    free(z);
}
END_TEST

START_TEST(corrupt_zstd_is_an_error)
{
    size_t zlen;
    uint8_t *z = zstd_frame(data, 20000, 0, true, false, &zlen);
    size_t errors = 0;
    /* Every byte changed: with the frame's checksum, a wrong result is always caught. */
    for (size_t pos = 4; pos < zlen; pos++) {
        struct buf out = BUF_INIT;
        char err[128] = "";
        z[pos] ^= 0x5a;
        if (read_all(z, zlen, 4096, &out, err, sizeof(err)) != 0) {
            ck_assert_msg(strncmp(err, "zstd ", 5) == 0, "byte %zu: %s", pos, err);
            errors++;
        } else {
            ck_assert_msg(out.len == 20000 && memcmp(out.data, data, 20000) == 0,
                          "byte %zu changed the data without an error", pos);
        }
        z[pos] ^= 0x5a;
        buf_free(&out);
    }
    ck_assert_uint_gt(errors, (zlen - 4) * 9 / 10);
    z[zlen - 1] ^= 1; /* the checksum itself */
    expect_error(z, zlen, "checksum");
    z[zlen - 1] ^= 1;
    free(z);
}
END_TEST

START_TEST(bytes_after_the_last_zstd_frame_are_an_error)
{
    size_t zlen;
    uint8_t *z = tt_zstd(data, 1000, &zlen);
    struct buf b = BUF_INIT;
    buf_append(&b, z, zlen);
    buf_append(&b, "\0\0\0\0\0\0\0\0", 8);
    expect_error(b.data, b.len, "zstd stream is corrupt");
    buf_free(&b);
    free(z);
}
END_TEST

START_TEST(zstd_windows_over_the_limit_are_refused)
{
    /* A frame header that asks for a 2 GiB window (exponent 21: 2^(10+21)), then an empty
     * last raw block: refused before anything of that size is allocated. */
    const uint8_t bomb[] = {0x28, 0xb5, 0x2f, 0xfd, 0x00, 21 << 3, 0x01, 0x00, 0x00};
    expect_error(bomb, sizeof(bomb), "zstd window is larger than the 32 MiB goinject allows");
    /* A real encoder asked for one step over the limit, then exactly the limit. */
    size_t zlen;
    uint8_t *z = zstd_frame(data, DATA_LEN, SOURCE_ZSTD_WINDOW_LOG_MAX + 1, false, true, &zlen);
    expect_error(z, zlen, "zstd window is larger than");
    free(z);
    z = zstd_frame(data, DATA_LEN, SOURCE_ZSTD_WINDOW_LOG_MAX, false, true, &zlen);
    expect_data(z, zlen, DATA_LEN, 65536);
    free(z);
}
END_TEST

static Suite *source_suite(void)
{
    Suite *s = suite_create("source");
    TCase *tc = tcase_create("readers");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, plain_gzip_and_zstd_give_the_same_bytes);
    tcase_add_test(tc, zstd_frames_and_skippable_frames_read_as_one_stream);
    tcase_add_test(tc, skipping_works_in_every_codec);
    tcase_add_test(tc, truncated_zstd_is_an_error);
    tcase_add_test(tc, corrupt_zstd_is_an_error);
    tcase_add_test(tc, bytes_after_the_last_zstd_frame_are_an_error);
    tcase_add_test(tc, zstd_windows_over_the_limit_are_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(source_suite());
}
