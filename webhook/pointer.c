/* pointer.c - RFC 6901 JSON Pointers; see pointer.h. */
#include "pointer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The escape sequence standing for c inside a token, or NULL if c is literal. */
static const char *escape_for(char c)
{
    if (c == '~')
        return "~0";
    if (c == '/')
        return "~1";
    return NULL;
}

int pointer_append_token(struct buf *b, const char *token, size_t len)
{
    size_t start_len = b->len;
    size_t run = 0; /* start of the bytes not yet appended, copied in bulk */
    int rc = buf_append_char(b, '/');
    for (size_t i = 0; rc == 0 && i < len; i++) {
        const char *escape = escape_for(token[i]);
        if (!escape)
            continue;
        rc = buf_append(b, token + run, i - run);
        if (rc == 0)
            rc = buf_append(b, escape, 2);
        run = i + 1;
    }
    if (rc == 0)
        rc = buf_append(b, token + run, len - run);
    /* Keep buf's promise: a failed append leaves the buffer as it was. */
    if (rc != 0)
        buf_truncate(b, start_len);
    return rc;
}

int pointer_append_index(struct buf *b, size_t index)
{
    char text[24];
    size_t n = sizeof(text);
    do {
        text[--n] = (char)('0' + index % 10);
        index /= 10;
    } while (index);
    text[--n] = '/';
    return buf_append(b, text + n, sizeof(text) - n);
}

bool pointer_is_wellformed(const char *ptr, size_t len)
{
    if (len == 0)
        return true;
    if (!ptr || ptr[0] != '/')
        return false;
    /* Separators cannot hide a bad escape, so one pass over the whole string will do. */
    for (size_t i = 0; i < len; i++) {
        if (ptr[i] != '~')
            continue;
        if (i + 1 == len || (ptr[i + 1] != '0' && ptr[i + 1] != '1'))
            return false;
        i++;
    }
    return true;
}

bool pointer_array_index(const char *token, size_t len, size_t *index)
{
    if (len == 0 || (len > 1 && token[0] == '0'))
        return false;
    size_t value = 0;
    for (size_t i = 0; i < len; i++) {
        if (token[i] < '0' || token[i] > '9')
            return false;
        size_t digit = (size_t)(token[i] - '0');
        if (value > (SIZE_MAX - digit) / 10)
            return false;
        value = value * 10 + digit;
    }
    *index = value;
    return true;
}

/*
 * Replaces out's contents with the unescaped token. "~1" must become "/" and
 * "~0" become "~" in a single left-to-right pass, so that "~01" yields "~1"
 * rather than "/". Returns -1 on a malformed escape or allocation failure.
 */
int pointer_unescape_token(const char *token, size_t len, struct buf *out)
{
    buf_truncate(out, 0);
    /* Reserve up front so the empty token still gets a "" to point at. */
    if (buf_reserve(out, len) != 0)
        return -1;
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        if (token[i] != '~')
            continue;
        if (i + 1 == len || (token[i + 1] != '0' && token[i + 1] != '1'))
            return -1;
        char literal = token[i + 1] == '0' ? '~' : '/';
        /* Cannot fail: the unescaped token is never longer than the escaped one. */
        buf_append(out, token + run, i - run);
        buf_append_char(out, literal);
        i++;
        run = i + 1;
    }
    buf_append(out, token + run, len - run);
    return 0;
}

/*
 * The child of container named by one escaped token: borrowed, or NULL when
 * there is none. scratch holds the unescaped key when the token has escapes.
 */
json_t *pointer_child(json_t *container, const char *token, size_t len, struct buf *scratch)
{
    if (json_is_object(container)) {
        /* Most keys have no "~", and then the escaped token is the key itself. */
        if (!memchr(token, '~', len))
            return json_object_getn(container, token, len);
        if (pointer_unescape_token(token, len, scratch) != 0)
            return NULL;
        return json_object_getn(container, scratch->data, scratch->len);
    }
    if (json_is_array(container)) {
        size_t index;
        if (!pointer_array_index(token, len, &index))
            return NULL; /* includes "-", which names no existing element */
        return json_array_get(container, index);
    }
    return NULL; /* scalars have no children */
}
