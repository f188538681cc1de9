/*
 * buf.h - a growable byte buffer.
 *
 * Owns one heap allocation (data). Every append keeps data NUL-terminated so
 * the buffer can be used as a C string; len never counts that NUL. Appends
 * return 0 or -1 on allocation failure, after which the buffer is unchanged.
 */
#ifndef GOINJECT_BUF_H
#define GOINJECT_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data;
    size_t len;
    size_t cap;
};

#define BUF_INIT                                                                                   \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
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
/* Appends s with control characters as \xNN: quoted input keeps a message on one line. */
int buf_append_one_line(struct buf *b, const char *s);
void buf_truncate(struct buf *b, size_t len);
/* Hands the heap string to the caller (never NULL: an empty buffer yields ""). */
char *buf_steal(struct buf *b);
void buf_free(struct buf *b);

/*
 * Writes a one-line error into err (errlen bytes; err may be NULL when errlen is 0) and
 * returns -1, for `return errorf(err, errlen, ...)` in functions that report through a
 * caller's buffer.
 */
int errorf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Joins the NULL-terminated strings into dst (size cap > 0), cut to fit like snprintf.
 * For the annotation keys built several times per container: snprintf costs ten times more.
 */
void str_join(char *dst, size_t cap, ...) __attribute__((sentinel));

#endif
