/* source.c - file and memory regions, plain and gzip readers; see source.h. */
#include "source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

int reader_open(struct reader *r, const struct source *src)
{
    uint8_t magic[2];
    memset(r, 0, sizeof(*r));
    r->src = *src;
    r->gzip = source_read_at(src, 0, magic, 2) == 0 && magic[0] == 0x1f && magic[1] == 0x8b;
    if (!r->gzip)
        return 0;
    if (!(r->in_buf = malloc(IN_BUF_SIZE)))
        return reader_fail(r, "out of memory");
    /* 15 + 16: a gzip wrapper around a deflate stream with the largest window. */
    if (inflateInit2(&r->z, 15 + 16) != Z_OK) {
        free(r->in_buf);
        r->in_buf = NULL;
        r->gzip = false;
        return reader_fail(r, "cannot start gzip decompression");
    }
    return 0;
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

ssize_t reader_read(struct reader *r, void *buf, size_t len)
{
    if (r->error[0])
        return -1;
    ssize_t n = r->gzip ? read_gzip(r, buf, len) : read_plain(r, buf, len);
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
    if (!r->gzip) {
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
    if (r->gzip)
        inflateEnd(&r->z);
    free(r->in_buf);
    r->in_buf = NULL;
}
