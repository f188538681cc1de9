/*
 * buf.h - a growable byte buffer, and the few text helpers every module uses.
 *
 * Owns one heap allocation (data). Every append keeps data NUL-terminated so
 * the buffer can be used as a C string; len never counts that NUL. A buffer
 * may have a ceiling, set when it is made (BUF_INIT_MAX, as curl's dynbuf):
 * it never holds more than max bytes, however much its input offers. Appends
 * return 0, or -1 with the buffer unchanged and errno EFBIG when the append
 * would pass the ceiling, ENOMEM when memory ran out.
 */
#ifndef GOINJECT_BUF_H
#define GOINJECT_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max; /* the ceiling: len never passes it; 0 for none */
};

#define BUF_INIT                                                                                   \
    {                                                                                              \
        NULL, 0, 0, 0                                                                              \
    }
/* A buffer that grows from input: at most max bytes (max > 0). */
#define BUF_INIT_MAX(max)                                                                          \
    {                                                                                              \
        NULL, 0, 0, (max)                                                                          \
    }

int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *data, size_t len);
int buf_append_str(struct buf *b, const char *s);
int buf_append_slow(struct buf *b, const void *data, size_t len);
/* Inline: the JSON writers append a character at a time. */
static inline int buf_append_char(struct buf *b, char c)
{
    if (b->len + 2 > b->cap)
        return buf_append_slow(b, &c, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
    return 0;
}
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
void buf_truncate(struct buf *b, size_t len);
/* Hands the heap string to the caller (never NULL: an empty buffer yields ""). Keeps the ceiling.
 */
char *buf_steal(struct buf *b);
void buf_free(struct buf *b);

/* Appends the base64 (RFC 4648, padded) of len bytes at data. */
int buf_append_base64(struct buf *b, const void *data, size_t len);

/*
 * Appends the file at path to b, which should have a
 * ceiling: a file that does not fit under it is an error that says so, as is
 * one that cannot be opened or read. Returns 0, or -1 with b as it was and a
 * one-line reason naming the file in err: "cannot open PATH: REASON",
 * "cannot read PATH: REASON" or "PATH is larger than MAX bytes". A regular
 * file's size is reserved at once, so its bytes are not copied again while
 * the buffer grows (nor left behind in freed memory, for a secret).
 */
int buf_read_file(struct buf *b, const char *path, char *err, size_t errlen);

/*
 * Makes untrusted bytes safe to show on one line of a message, a log or a
 * warning: copies s (len bytes, any bytes, NUL included) into out (outlen >= 4
 * bytes, NUL-terminated), printable ASCII (0x20 to 0x7e) as it is and every
 * other byte as \xNN. The text is then one line of plain ASCII, which is also
 * valid UTF-8 (as jansson wants its strings), whatever s holds. When it does
 * not fit in outlen - 1 bytes, it is cut before the first byte that does not
 * fit in outlen - 4, and "..." ends it. The text is for people: a backslash in
 * s is copied as it is. Returns out, to use as a printf argument.
 */
const char *str_safe(char *out, size_t outlen, const char *s, size_t len);

/*
 * Writes a one-line error into err (errlen bytes; err may be NULL when errlen is 0) and
 * returns -1, for `return errorf(err, errlen, ...)` in functions that report through a
 * caller's buffer.
 */
int errorf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Joins the NULL-terminated strings into dst (size cap > 0), cut to fit like snprintf.
 * For the annotation keys built several times per container: they are plain concatenations,
 * with nothing to format.
 */
void str_join(char *dst, size_t cap, ...) __attribute__((sentinel));

#endif
