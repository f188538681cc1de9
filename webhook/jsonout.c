/* jsonout.c - compact JSON output; see jsonout.h. */
#include "jsonout.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonplain.h"

/* jansson refuses to dump deeper than this; so do we. */
#define MAX_DEPTH 2048

/* Bytes that need an escape: the quote, the backslash and the control characters. */
static bool needs_escape(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\';
}

/* The code point of the UTF-8 sequence at s (valid: jansson's strings are), and its length. */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
    size_t n = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : 2;
    if (n > len)
        n = len;
    uint32_t v = s[0] & (n == 4 ? 0x07 : n == 3 ? 0x0F : 0x1F);
    for (size_t i = 1; i < n; i++)
        v = (v << 6) | (s[i] & 0x3F);
    *cp = v;
    return n;
}

/* \uXXXX for a code point, as a UTF-16 surrogate pair beyond the BMP (jansson's spelling). */
static int append_unicode_escape(struct buf *out, uint32_t cp)
{
    static const char hex[] = "0123456789ABCDEF";
    char seq[12];
    size_t n = 0;
    uint32_t units[2] = {cp, 0};
    size_t count = 1;
    if (cp >= 0x10000) {
        cp -= 0x10000;
        units[0] = 0xD800 | (cp >> 10);
        units[1] = 0xDC00 | (cp & 0x3FF);
        count = 2;
    }
    for (size_t u = 0; u < count; u++) {
        seq[n++] = '\\';
        seq[n++] = 'u';
        for (int shift = 12; shift >= 0; shift -= 4)
            seq[n++] = hex[(units[u] >> shift) & 0xF];
    }
    return buf_append(out, seq, n);
}

static int append_escape(struct buf *out, unsigned char c)
{
    switch (c) {
    case '"':
        return buf_append(out, "\\\"", 2);
    case '\\':
        return buf_append(out, "\\\\", 2);
    case '\b':
        return buf_append(out, "\\b", 2);
    case '\f':
        return buf_append(out, "\\f", 2);
    case '\n':
        return buf_append(out, "\\n", 2);
    case '\r':
        return buf_append(out, "\\r", 2);
    case '\t':
        return buf_append(out, "\\t", 2);
    default:
        return append_unicode_escape(out, c);
    }
}

/* A string literal; with ascii, every code point above 0x7F escaped (JSON_ENSURE_ASCII). */
static int write_string(struct buf *out, const char *s, size_t len, bool ascii)
{
    /* Worst case \u00XX for every byte, plus the quotes: reserve for the common case only. */
    if (buf_reserve(out, len + 2) != 0 || buf_append_char(out, '"') != 0)
        return -1;
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0;
    for (size_t i = 0; i < len;) {
        i += jsonplain_len(u + i, len - i);
        if (i == len)
            break;
        if (!needs_escape(u[i]) && !(ascii && u[i] >= 0x80)) {
            i++;
            continue;
        }
        if (buf_append(out, s + run, i - run) != 0)
            return -1;
        if (u[i] >= 0x80) {
            uint32_t cp;
            i += utf8_decode(u + i, len - i, &cp);
            if (append_unicode_escape(out, cp) != 0)
                return -1;
        } else if (append_escape(out, u[i++]) != 0) {
            return -1;
        }
        run = i;
    }
    if (buf_append(out, s + run, len - run) != 0)
        return -1;
    return buf_append_char(out, '"');
}

int jsonout_write_string(struct buf *out, const char *s, size_t len)
{
    return write_string(out, s, len, false);
}

int jsonout_write_string_ascii(struct buf *out, const char *s, size_t len)
{
    return write_string(out, s, len, true);
}

/*
 * Reals as jansson writes them (its jsonp_dtostr): "%.*g" (17 digits unless the flags ask
 * for fewer), ".0" added when that reads like an integer, and the exponent written without
 * "+" or leading zeros. goinject never changes the locale, so the decimal point is ".".
 * Infinities and NaN are refused, as jansson refuses them.
 */
static int write_real(struct buf *out, double value, size_t flags)
{
    if (!isfinite(value))
        return -1;
    int precision = (int)((flags >> 11) & 0x1F);
    char text[64];
    int n = snprintf(text, sizeof(text), "%.*g", precision ? precision : 17, value);
    if (n < 0 || (size_t)n + 3 > sizeof(text))
        return -1;
    size_t length = (size_t)n;
    if (!strchr(text, '.') && !strchr(text, 'e')) {
        memcpy(text + length, ".0", 3);
        length += 2;
    }
    char *start = strchr(text, 'e');
    if (start) {
        start++;
        char *end = start + 1;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, length - (size_t)(end - text));
            length -= (size_t)(end - start);
        }
    }
    return buf_append(out, text, length);
}

/* What "%" JSON_INTEGER_FORMAT prints, without printf's cost. */
static int write_integer(struct buf *out, json_int_t value)
{
    char digits[24];
    size_t n = sizeof(digits);
    /* Negated digit by digit, so the most negative value needs no special case. */
    bool negative = value < 0;
    do {
        int digit = (int)(value % 10);
        digits[--n] = (char)('0' + (negative ? -digit : digit));
        value /= 10;
    } while (value != 0);
    if (negative)
        digits[--n] = '-';
    return buf_append(out, digits + n, sizeof(digits) - n);
}

struct jsonout_known {
    size_t count;
    struct {
        const json_t *value; /* borrowed */
        char *text;          /* owned */
        size_t len;
    } items[];
};

struct writer {
    size_t flags; /* 0, or JSON_ENSURE_ASCII | JSON_REAL_PRECISION(9) for the log */
    const struct jsonout_known *known; /* NULL: none */
};

static int write_value(struct buf *out, const json_t *v, int depth, const struct writer *w)
{
    size_t flags = w->flags;
    bool ascii = flags & JSON_ENSURE_ASCII;
    for (size_t i = 0; w->known && i < w->known->count; i++)
        if (w->known->items[i].value == v)
            return buf_append(out, w->known->items[i].text, w->known->items[i].len);
    if (depth > MAX_DEPTH)
        return -1;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        size_t key_len;
        json_t *member;
        bool first = true;
        if (buf_append_char(out, '{') != 0)
            return -1;
        json_object_keylen_foreach((json_t *)v, key, key_len, member)
        {
            if ((!first && buf_append_char(out, ',') != 0) ||
                write_string(out, key, key_len, ascii) != 0 || buf_append_char(out, ':') != 0 ||
                write_value(out, member, depth + 1, w) != 0)
                return -1;
            first = false;
        }
        return buf_append_char(out, '}');
    }
    case JSON_ARRAY: {
        if (buf_append_char(out, '[') != 0)
            return -1;
        for (size_t i = 0; i < json_array_size(v); i++) {
            if ((i > 0 && buf_append_char(out, ',') != 0) ||
                write_value(out, json_array_get(v, i), depth + 1, w) != 0)
                return -1;
        }
        return buf_append_char(out, ']');
    }
    case JSON_STRING:
        return write_string(out, json_string_value(v), json_string_length(v), ascii);
    case JSON_INTEGER:
        return write_integer(out, json_integer_value(v));
    case JSON_REAL:
        return write_real(out, json_real_value(v), flags);
    case JSON_TRUE:
        return buf_append(out, "true", 4);
    case JSON_FALSE:
        return buf_append(out, "false", 5);
    case JSON_NULL:
        return buf_append(out, "null", 4);
    }
    return -1;
}

static int write_top(struct buf *out, const json_t *v, const struct writer *w)
{
    size_t start = out->len;
    if (!v || write_value(out, v, 0, w) != 0) {
        if (out->data)
            buf_truncate(out, start);
        return -1;
    }
    return 0;
}

int jsonout_write_compact(struct buf *out, const json_t *v)
{
    const struct writer w = {0, NULL};
    return write_top(out, v, &w);
}

struct jsonout_known *jsonout_known_new(const json_t *const *values, size_t count)
{
    struct jsonout_known *known = calloc(1, sizeof(*known) + count * sizeof(known->items[0]));
    if (!known)
        return NULL;
    for (; known->count < count; known->count++) {
        struct buf text = BUF_INIT;
        if (!values[known->count] || jsonout_write_compact(&text, values[known->count]) != 0) {
            buf_free(&text);
            jsonout_known_free(known);
            return NULL;
        }
        known->items[known->count].value = values[known->count];
        known->items[known->count].len = text.len;
        known->items[known->count].text = buf_steal(&text);
    }
    return known;
}

void jsonout_known_free(struct jsonout_known *known)
{
    for (size_t i = 0; known && i < known->count; i++)
        free(known->items[i].text);
    free(known);
}

int jsonout_write_compact_known(struct buf *out, const json_t *v, const struct jsonout_known *known)
{
    const struct writer w = {0, known};
    return write_top(out, v, &w);
}

int jsonout_write_log(struct buf *out, const json_t *v)
{
    const struct writer w = {JSON_ENSURE_ASCII | JSON_REAL_PRECISION(9), NULL};
    return write_top(out, v, &w);
}
