/* buf.c - growable byte buffer; see buf.h. */
#include "buf.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What a read of a file asks for at a time, when its size is not known. */
#define READ_CHUNK (64 * 1024)

int buf_reserve(struct buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return 0;
    if (b->max && extra > b->max - b->len) {
        errno = EFBIG;
        return -1;
    }
    if (extra > SIZE_MAX / 4 - b->len) {
        errno = ENOMEM;
        return -1;
    }
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    if (b->max && cap > b->max + 1)
        cap = b->max + 1; /* so the inline appends, which look only at cap, stop there too */
    char *data = realloc(b->data, cap);
    if (!data)
        return -1; /* errno is ENOMEM */
    b->data = data;
    b->cap = cap;
    return 0;
}

int buf_append(struct buf *b, const void *data, size_t len)
{
    if (buf_reserve(b, len) != 0)
        return -1;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int buf_append_str(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_append_slow(struct buf *b, const void *data, size_t len)
{
    return buf_append(b, data, len);
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int need = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (need < 0 || buf_reserve(b, (size_t)need) != 0)
        return -1;
    vsnprintf(b->data + b->len, (size_t)need + 1, fmt, ap);
    b->len += (size_t)need;
    return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void buf_truncate(struct buf *b, size_t len)
{
    if (len < b->len) {
        b->len = len;
        b->data[len] = '\0';
    }
}

char *buf_steal(struct buf *b)
{
    char *s = b->data;
    if (!s)
        s = calloc(1, 1);
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

void buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* Reads fd to its end into b, within b's ceiling; name is the file's for the errors. */
static int read_all(struct buf *b, int fd, const char *name, char *err, size_t errlen)
{
    for (;;) {
        size_t room = b->cap > b->len + 1 ? b->cap - b->len - 1 : 0;
        if (room == 0) {
            size_t want = READ_CHUNK;
            if (b->max && b->max - b->len < want)
                want = b->max - b->len;
            if (want == 0) {
                /* At the ceiling: the file must end here. */
                char probe;
                ssize_t n = read(fd, &probe, 1);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n == 0)
                    return 0;
                if (n > 0)
                    return errorf(err, errlen, "%.200s is larger than %zu bytes", name, b->max);
                return errorf(err, errlen, "cannot read %.200s: %s", name, strerror(errno));
            }
            if (buf_reserve(b, want) != 0)
                return errorf(err, errlen, "cannot read %.200s: out of memory", name);
            room = b->cap - b->len - 1;
        }
        ssize_t n = read(fd, b->data + b->len, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errorf(err, errlen, "cannot read %.200s: %s", name, strerror(errno));
        if (n == 0)
            return 0;
        b->len += (size_t)n;
        b->data[b->len] = '\0';
    }
}

int buf_read_file(struct buf *b, const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errorf(err, errlen, "cannot open %.200s: %s", path, strerror(errno));
    size_t start = b->len;
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        uint64_t size = (uint64_t)st.st_size;
        if (b->max && size > b->max - b->len)
            rc = errorf(err, errlen, "%.200s is larger than %zu bytes", path, b->max);
        else if (size + 1 < SIZE_MAX / 4 && (!b->max || size < b->max - b->len))
            buf_reserve(b, (size_t)size + 1); /* + 1: the read that finds the end needs room */
        else if (size > 0)
            buf_reserve(b, (size_t)size);
    }
    if (rc == 0)
        rc = read_all(b, fd, path, err, errlen);
    close(fd);
    if (rc != 0 && b->data)
        buf_truncate(b, start);
    else if (b->data)
        b->data[b->len] = '\0'; /* an empty file appended nothing, on room reserved for it */
    return rc;
}

const char *str_safe(char *out, size_t outlen, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    if (outlen < 4) {
        if (outlen > 0)
            out[0] = '\0';
        return out;
    }
    /* One pass; cut is the end of the last whole piece that leaves room for "...". */
    size_t o = 0, cut = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool plain = c >= 0x20 && c < 0x7f;
        if (o + (plain ? 1 : 4) > outlen - 1) {
            memcpy(out + cut, "...", 4); /* the whole text does not fit */
            return out;
        }
        if (plain) {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
        if (o <= outlen - 4)
            cut = o;
    }
    out[o] = '\0';
    return out;
}

/*
 * Base64 (RFC 4648): every 12 bits of input as its two output characters, a table
 * computed by the compiler, so each lookup writes two characters instead of one.
 */
/* clang-format off */
#define B64_CHAR(x)                                                                                \
    ((x) < 26 ? 'A' + (x) : (x) < 52 ? 'a' + (x)-26 : (x) < 62 ? '0' + (x)-52 : (x) == 62 ? '+' : '/')
#define B64_PAIR(v) {(char)B64_CHAR((v) >> 6), (char)B64_CHAR((v)&63)}
#define B64_4(v) B64_PAIR(v), B64_PAIR((v) + 1), B64_PAIR((v) + 2), B64_PAIR((v) + 3)
#define B64_16(v) B64_4(v), B64_4((v) + 4), B64_4((v) + 8), B64_4((v) + 12)
#define B64_64(v) B64_16(v), B64_16((v) + 16), B64_16((v) + 32), B64_16((v) + 48)
#define B64_256(v) B64_64(v), B64_64((v) + 64), B64_64((v) + 128), B64_64((v) + 192)
#define B64_1024(v) B64_256(v), B64_256((v) + 256), B64_256((v) + 512), B64_256((v) + 768)
static const char base64_pairs[4096][2] = {B64_1024(0), B64_1024(1024), B64_1024(2048),
                                           B64_1024(3072)};
/* clang-format on */

int buf_append_base64(struct buf *out, const void *data, size_t len)
{
    const unsigned char *in = data;
    size_t encoded = 4 * ((len + 2) / 3);
    if (buf_reserve(out, encoded) != 0)
        return -1;
    char *o = out->data + out->len;
    size_t i = 0;
    for (; len - i >= 3; i += 3, o += 4) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        memcpy(o, base64_pairs[v >> 12], 2);
        memcpy(o + 2, base64_pairs[v & 4095], 2);
    }
    if (len - i > 0) {
        uint32_t v = (uint32_t)in[i] << 16 | (len - i > 1 ? (uint32_t)in[i + 1] << 8 : 0);
        o[0] = (char)B64_CHAR(v >> 18);
        o[1] = (char)B64_CHAR((v >> 12) & 63);
        o[2] = len - i > 1 ? (char)B64_CHAR((v >> 6) & 63) : '=';
        o[3] = '=';
    }
    out->len += encoded;
    out->data[out->len] = '\0';
    return 0;
}

void str_join(char *dst, size_t cap, ...)
{
    va_list ap;
    size_t len = 0;
    va_start(ap, cap);
    for (const char *part = va_arg(ap, const char *); part; part = va_arg(ap, const char *)) {
        size_t n = strlen(part);
        if (n > cap - 1 - len)
            n = cap - 1 - len;
        memcpy(dst + len, part, n);
        len += n;
    }
    va_end(ap);
    dst[len] = '\0';
}

int errorf(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}
