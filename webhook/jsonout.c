/* jsonout.c - compact JSON output; see jsonout.h. */
#include "jsonout.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "jsonplain.h"

/* jansson refuses to dump deeper than this; so do we. */
#define MAX_DEPTH 2048

/* Bytes that need an escape: the quote, the backslash and the control characters. */
static bool needs_escape(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\';
}

int json_write_string(struct buf *out, const char *s, size_t len)
{
    /* Worst case \u00XX for every byte, plus the quotes: reserve for the common case only. */
    if (buf_reserve(out, len + 2) != 0 || buf_append_char(out, '"') != 0)
        return -1;
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        i += json_plain_len((const unsigned char *)s + i, len - i);
        if (i == len)
            break;
        unsigned char c = (unsigned char)s[i];
        if (!needs_escape(c))
            continue;
        if (buf_append(out, s + run, i - run) != 0)
            return -1;
        char escaped[8];
        switch (c) {
        case '"':
            memcpy(escaped, "\\\"", 3);
            break;
        case '\\':
            memcpy(escaped, "\\\\", 3);
            break;
        case '\b':
            memcpy(escaped, "\\b", 3);
            break;
        case '\f':
            memcpy(escaped, "\\f", 3);
            break;
        case '\n':
            memcpy(escaped, "\\n", 3);
            break;
        case '\r':
            memcpy(escaped, "\\r", 3);
            break;
        case '\t':
            memcpy(escaped, "\\t", 3);
            break;
        default:
            snprintf(escaped, sizeof(escaped), "\\u%04X", c);
            break;
        }
        if (buf_append_str(out, escaped) != 0)
            return -1;
        run = i + 1;
    }
    if (buf_append(out, s + run, len - run) != 0)
        return -1;
    return buf_append_char(out, '"');
}

/* Reals: exactly what jansson writes, from jansson. */
static int write_real(struct buf *out, const json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text)
        return -1;
    int rc = buf_append_str(out, text);
    json_text_free(text);
    return rc;
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

static int write_value(struct buf *out, const json_t *v, int depth)
{
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
                json_write_string(out, key, key_len) != 0 || buf_append_char(out, ':') != 0 ||
                write_value(out, member, depth + 1) != 0)
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
                write_value(out, json_array_get(v, i), depth + 1) != 0)
                return -1;
        }
        return buf_append_char(out, ']');
    }
    case JSON_STRING:
        return json_write_string(out, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return write_integer(out, json_integer_value(v));
    case JSON_REAL:
        return write_real(out, v);
    case JSON_TRUE:
        return buf_append(out, "true", 4);
    case JSON_FALSE:
        return buf_append(out, "false", 5);
    case JSON_NULL:
        return buf_append(out, "null", 4);
    }
    return -1;
}

int json_write_compact(struct buf *out, const json_t *v)
{
    size_t start = out->len;
    if (!v || write_value(out, v, 0) != 0) {
        if (out->data)
            buf_truncate(out, start);
        return -1;
    }
    return 0;
}
