/* source.c - file and memory regions, plain, gzip and zstd readers; see source.h. */
#include "source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd_errors.h>

#define IN_BUF_SIZE (64 * 1024)

void source_from_fd(struct source *s, int fd, uint64_t size)
{
    *s = (struct source){fd, NULL, 0, size};
}

void source_from_memory(struct source *s, const uint8_t *data, size_t len)
{
    *s = (struct source){-1, data, 0, len};
}

int source_window(const struct source *s, uint64_t off, uint64_t size, struct source *out)
{
    if (off > s->size || size > s->size - off)
        return -1;
    *out = *s;
    out->base = s->base + off;
    out->size = size;
    return 0;
}

int source_read_at(const struct source *s, uint64_t off, void *buf, size_t len)
{
    if (off > s->size || len > s->size - off)
        return -1;
    if (s->fd < 0) {
        memcpy(buf, s->mem + s->base + off, len);
        return 0;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(s->fd, (char *)buf + done, len - done, (off_t)(s->base + off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1; /* the file shrank under us, or an I/O error */
        done += (size_t)n;
    }
    return 0;
}

/* ---- readers -------------------------------------------------------------- */

static int reader_fail(struct reader *r, const char *why)
{
    snprintf(r->error, sizeof(r->error), "%s", why);
    return -1;
}

/*
 * What the first bytes of src say it is. A zstd stream starts with a frame
 * (28 b5 2f fd) or a skippable frame (5X 2a 4d 18, X any nibble).
 */
static enum reader_codec sniff(const struct source *src)
{
    uint8_t magic[4];
    if (source_read_at(src, 0, magic, 2) == 0 && magic[0] == 0x1f && magic[1] == 0x8b)
        return READER_GZIP;
    if (source_read_at(src, 0, magic, 4) != 0)
        return READER_PLAIN;
    if (memcmp(magic, "\x28\xb5\x2f\xfd", 4) == 0 ||
        ((magic[0] & 0xf0) == 0x50 && memcmp(magic + 1, "\x2a\x4d\x18", 3) == 0))
        return READER_ZSTD;
    return READER_PLAIN;
}

/* 15 + 16: a gzip wrapper around a deflate stream with the largest window. */
static int open_gzip(struct reader *r)
{
    if (inflateInit2(&r->z, 15 + 16) != Z_OK)
        return reader_fail(r, "cannot start gzip decompression");
    return 0;
}

/* A DStream whose frames may not ask for more than SOURCE_ZSTD_WINDOW_LOG_MAX. */
static int open_zstd(struct reader *r)
{
    if (!(r->zs = ZSTD_createDStream()))
        return reader_fail(r, "out of memory");
    if (ZSTD_isError(
            ZSTD_DCtx_setParameter(r->zs, ZSTD_d_windowLogMax, SOURCE_ZSTD_WINDOW_LOG_MAX)))
        return reader_fail(r, "cannot start zstd decompression");
    return 0;
}

int reader_open(struct reader *r, const struct source *src)
{
    memset(r, 0, sizeof(*r));
    r->src = *src;
    r->codec = sniff(src);
    if (r->codec == READER_PLAIN)
        return 0;
    int rc;
    if (!(r->in_buf = malloc(IN_BUF_SIZE)))
        rc = reader_fail(r, "out of memory");
    else
        rc = r->codec == READER_GZIP ? open_gzip(r) : open_zstd(r);
    if (rc != 0) {
        r->codec = READER_PLAIN; /* nothing of zlib to end; the DStream and buffer are freed */
        reader_close(r);         /* r->error stays */
    }
    return rc;
}

static ssize_t read_plain(struct reader *r, void *buf, size_t len)
{
    uint64_t left = r->src.size - r->in_pos;
    if (len > left)
        len = (size_t)left;
    if (len == 0)
        return 0;
    if (source_read_at(&r->src, r->in_pos, buf, len) != 0)
        return reader_fail(r, "read error");
    r->in_pos += len;
    return (ssize_t)len;
}

/* Refills the input buffer; false at the end of the source. */
static bool refill(struct reader *r)
{
    uint64_t left = r->src.size - r->in_pos;
    size_t n = left < IN_BUF_SIZE ? (size_t)left : IN_BUF_SIZE;
    if (n == 0 || source_read_at(&r->src, r->in_pos, r->in_buf, n) != 0)
        return false;
    r->in_pos += n;
    r->in_len = n;
    r->in_used = 0;
    return true;
}

/* After one gzip member ends, another may follow (concatenated members form one stream). */
static bool next_member(struct reader *r)
{
    if (r->in_used == r->in_len && !refill(r))
        return false;
    if (r->in_buf[r->in_used] != 0x1f)
        return false; /* trailing padding, as some tools write: the stream is over */
    return inflateReset(&r->z) == Z_OK;
}

static ssize_t read_gzip(struct reader *r, void *buf, size_t len)
{
    r->z.next_out = buf;
    r->z.avail_out = (uInt)(len > (1u << 30) ? (1u << 30) : len);
    uInt want = r->z.avail_out;
    while (r->z.avail_out == want && !r->eof) {
        if (r->in_used == r->in_len && !refill(r))
            return reader_fail(r, "gzip stream is truncated");
        r->z.next_in = r->in_buf + r->in_used;
        r->z.avail_in = (uInt)(r->in_len - r->in_used);
        int rc = inflate(&r->z, Z_NO_FLUSH);
        r->in_used = r->in_len - r->z.avail_in;
        if (rc == Z_STREAM_END)
            r->eof = !next_member(r);
        else if (rc != Z_OK && !(rc == Z_BUF_ERROR && r->z.avail_in == 0))
            return reader_fail(r, "gzip stream is corrupt");
    }
    return (ssize_t)(want - r->z.avail_out);
}

/* One zstd error as the reader's: a window over the limit says so. */
static ssize_t zstd_fail(struct reader *r, size_t rc)
{
    char why[sizeof(r->error)];
    if (ZSTD_getErrorCode(rc) == ZSTD_error_frameParameter_windowTooLarge)
        snprintf(why, sizeof(why), "zstd window is larger than the %u MiB goinject allows",
                 1u << (SOURCE_ZSTD_WINDOW_LOG_MAX - 20));
    else if (ZSTD_getErrorCode(rc) == ZSTD_error_memory_allocation)
        snprintf(why, sizeof(why), "out of memory");
    else
        snprintf(why, sizeof(why), "zstd stream is corrupt (%s)", ZSTD_getErrorName(rc));
    return reader_fail(r, why);
}

/*
 * Frames follow each other until the source ends; the stream may only end
 * where a frame does. Skippable frames give no bytes, so the loop runs
 * until some arrive or the stream is over.
 */
static ssize_t read_zstd(struct reader *r, void *buf, size_t len)
{
    ZSTD_outBuffer out = {buf, len, 0};
    while (out.pos == 0 && len > 0 && !r->eof) {
        if (r->in_used == r->in_len && !refill(r)) {
            if (!r->frame_done)
                return reader_fail(r, "zstd stream is truncated");
            r->eof = true;
            break;
        }
        ZSTD_inBuffer in = {r->in_buf, r->in_len, r->in_used};
        size_t rc = ZSTD_decompressStream(r->zs, &out, &in);
        r->in_used = in.pos;
        if (ZSTD_isError(rc))
            return zstd_fail(r, rc);
        r->frame_done = rc == 0;
    }
    return (ssize_t)out.pos;
}

ssize_t reader_read(struct reader *r, void *buf, size_t len)
{
    if (r->error[0])
        return -1;
    ssize_t n;
    switch (r->codec) {
    case READER_GZIP:
        n = read_gzip(r, buf, len);
        break;
    case READER_ZSTD:
        n = read_zstd(r, buf, len);
        break;
    default:
        n = read_plain(r, buf, len);
        break;
    }
    if (n > 0) {
        r->out_pos += (uint64_t)n;
        if (r->out_pos > SOURCE_MAX_INFLATED)
            return reader_fail(r, "layer is larger than 64 GiB decompressed");
    }
    return n;
}

int reader_read_full(struct reader *r, void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = reader_read(r, (char *)buf + done, len - done);
        if (n <= 0)
            return n < 0 ? -1 : reader_fail(r, "unexpected end of data");
        done += (size_t)n;
    }
    return 0;
}

int reader_skip(struct reader *r, uint64_t n)
{
    if (r->codec == READER_PLAIN) {
        if (n > r->src.size - r->in_pos)
            return reader_fail(r, "unexpected end of data");
        r->in_pos += n;
        r->out_pos += n;
        return 0;
    }
    uint8_t scratch[16384];
    while (n > 0) {
        size_t chunk = n < sizeof(scratch) ? (size_t)n : sizeof(scratch);
        if (reader_read_full(r, scratch, chunk) != 0)
            return -1;
        n -= chunk;
    }
    return 0;
}

void reader_close(struct reader *r)
{
    if (r->codec == READER_GZIP)
        inflateEnd(&r->z);
    ZSTD_freeDStream(r->zs); /* accepts NULL */
    r->zs = NULL;
    free(r->in_buf);
    r->in_buf = NULL;
}
