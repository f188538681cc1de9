/*
 * testtar.h - builds tar archives (and gzips or zstds them) in memory for the tests.
 *
 * Header-only, like testutil.h. Entries are ustar headers; a name longer
 * than 100 bytes gets a GNU long-name record first. tt_gzip and tt_zstd
 * compress a buffer with zlib or libzstd into a fresh one.
 */
#ifndef GOINJECT_TESTTAR_H
#define GOINJECT_TESTTAR_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "buf.h"

static inline void tt_header(struct buf *b, const char *name, char type, const char *link,
                             size_t size, unsigned mode)
{
    char h[512];
    memset(h, 0, sizeof(h));
    memcpy(h, name, strlen(name) < 100 ? strlen(name) : 100); /* no NUL needed at 100 */
    snprintf(h + 100, 8, "%07o", mode);
    snprintf(h + 108, 8, "%07o", 0);
    snprintf(h + 116, 8, "%07o", 0);
    snprintf(h + 124, 12, "%011o", (unsigned)(size & 0x3fffffff)); /* test archives are small */
    snprintf(h + 136, 12, "%011o", 0);
    h[156] = type;
    if (link)
        memcpy(h + 157, link, strlen(link) < 100 ? strlen(link) : 100);
    memcpy(h + 257,
           "ustar\0"
           "00",
           8);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < 512; i++)
        sum += (unsigned char)h[i];
    snprintf(h + 148, 8, "%06o", sum);
    buf_append(b, h, 512);
}

static inline void tt_data(struct buf *b, const void *data, size_t len)
{
    buf_append(b, data, len);
    while (b->len % 512)
        buf_append_char(b, 0);
}

/* Adds one entry: type '0' file, '2' symlink, '1' hard link, '5' directory. */
static inline void tt_add(struct buf *b, const char *name, char type, const char *link,
                          const void *data, size_t len, unsigned mode)
{
    if (strlen(name) > 100) {
        tt_header(b, "././@LongLink", 'L', NULL, strlen(name) + 1, 0644);
        tt_data(b, name, strlen(name) + 1);
    }
    tt_header(b, name, type, link, data ? len : 0, mode);
    if (data)
        tt_data(b, data, len);
}

static inline void tt_file(struct buf *b, const char *name, const char *text)
{
    tt_add(b, name, '0', NULL, text, strlen(text), 0644);
}

static inline void tt_end(struct buf *b)
{
    char zero[1024];
    memset(zero, 0, sizeof(zero));
    buf_append(b, zero, sizeof(zero));
}

/* gzip of data[0..len) (owned by the caller). */
static inline uint8_t *tt_gzip(const void *data, size_t len, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    size_t cap = deflateBound(&z, len) + 64;
    uint8_t *out = malloc(cap);
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    deflate(&z, Z_FINISH);
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

/* One zstd frame of data[0..len) at level 3 (owned by the caller). */
static inline uint8_t *tt_zstd(const void *data, size_t len, size_t *out_len)
{
    size_t cap = ZSTD_compressBound(len);
    uint8_t *out = malloc(cap);
    *out_len = ZSTD_compress(out, cap, data, len, 3);
    if (ZSTD_isError(*out_len)) {
        fprintf(stderr, "tt_zstd: %s\n", ZSTD_getErrorName(*out_len));
        abort();
    }
    return out;
}

#endif
