/* jsonin.c - a fast JSON parser with jansson's semantics; see jsonin.h. */
#include "jsonin.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonplain.h"

/* jansson's JSON_PARSER_MAX_DEPTH: deeper documents are errors there. */
#define MAX_DEPTH 2048

struct parser {
    const unsigned char *p, *end;
    struct buf scratch; /* strings with escapes are unescaped here */
};

static inline void skip_space(struct parser *ps)
{
    /* Compact JSON has none: one comparison decides the common case. */
    while (ps->p < ps->end && *ps->p <= ' ' &&
           (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t'))
        ps->p++;
}

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), or 0 when invalid. */
static size_t utf8_sequence(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0];
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

static int hex4(const unsigned char *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static int append_utf8(struct buf *b, uint32_t cp)
{
    char s[4];
    size_t n;
    if (cp < 0x80) {
        s[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        s[0] = (char)(0xC0 | (cp >> 6));
        s[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        s[0] = (char)(0xE0 | (cp >> 12));
        s[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        s[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        s[0] = (char)(0xF0 | (cp >> 18));
        s[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        s[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        s[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return buf_append(b, s, n);
}

/*
 * Reads a string literal (ps->p at the opening quote). On success *s and
 * *len name the text: inside the input when it has no escapes, else in
 * ps->scratch. Returns -1 for anything jansson would refuse.
 */
static int read_string_slow(struct parser *ps, const char **s, size_t *len)
{
    const unsigned char *p = ps->p + 1, *run = p;
    bool escaped = false;
    for (;;) {
        p += jsonplain_len(p, (size_t)(ps->end - p));
        if (p >= ps->end)
            return -1;
        unsigned char c = *p;
        if (c == '"')
            break;
        if (c < 0x20)
            return -1;
        if (c >= 0x80) {
            size_t n = utf8_sequence(p, ps->end);
            if (n == 0)
                return -1;
            p += n;
            continue;
        }
        /* A backslash: from here on the string is unescaped into scratch. */
        if (!escaped) {
            buf_truncate(&ps->scratch, 0);
            escaped = true;
        }
        if (buf_append(&ps->scratch, run, (size_t)(p - run)) != 0 || ps->end - p < 2)
            return -1;
        char simple = 0;
        switch (p[1]) {
        case '"':
            simple = '"';
            break;
        case '\\':
            simple = '\\';
            break;
        case '/':
            simple = '/';
            break;
        case 'b':
            simple = '\b';
            break;
        case 'f':
            simple = '\f';
            break;
        case 'n':
            simple = '\n';
            break;
        case 'r':
            simple = '\r';
            break;
        case 't':
            simple = '\t';
            break;
        case 'u':
            break;
        default:
            return -1;
        }
        if (simple) {
            if (buf_append_char(&ps->scratch, simple) != 0)
                return -1;
            p += 2;
        } else {
            uint32_t cp, low;
            if (ps->end - p < 6 || hex4(p + 2, &cp) != 0)
                return -1;
            p += 6;
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return -1; /* a lone low surrogate */
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (ps->end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &low) != 0 ||
                    low < 0xDC00 || low > 0xDFFF)
                    return -1;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                p += 6;
            }
            if (append_utf8(&ps->scratch, cp) != 0)
                return -1;
        }
        run = p;
    }
    if (escaped) {
        if (buf_append(&ps->scratch, run, (size_t)(p - run)) != 0)
            return -1;
        *s = ps->scratch.data;
        *len = ps->scratch.len;
    } else {
        *s = (const char *)(ps->p + 1);
        *len = (size_t)(p - (ps->p + 1));
    }
    ps->p = p + 1;
    return 0;
}

/* Most strings are plain text up to their closing quote: that case costs one scan. */
static inline int read_string(struct parser *ps, const char **s, size_t *len)
{
    const unsigned char *text = ps->p + 1;
    size_t n = jsonplain_len(text, (size_t)(ps->end - text));
    if (text + n < ps->end && text[n] == '"') {
        *s = (const char *)text;
        *len = n;
        ps->p = text + n + 1;
        return 0;
    }
    return read_string_slow(ps, s, len);
}

/* Integers of at most 18 digits; anything else is for jansson. Advances past it. */
static bool scan_integer(struct parser *ps, json_int_t *out)
{
    const unsigned char *p = ps->p;
    bool negative = p < ps->end && *p == '-';
    if (negative)
        p++;
    const unsigned char *digits = p;
    while (p < ps->end && *p >= '0' && *p <= '9')
        p++;
    size_t n = (size_t)(p - digits);
    if (n == 0 || n > 18 || (n > 1 && digits[0] == '0'))
        return false;
    if (p < ps->end && (*p == '.' || *p == 'e' || *p == 'E'))
        return false; /* a real: jansson converts it */
    json_int_t value = 0;
    for (const unsigned char *d = digits; d < p; d++)
        value = value * 10 + (*d - '0');
    ps->p = p;
    *out = negative ? -value : value;
    return true;
}

static json_t *read_number(struct parser *ps)
{
    json_int_t value;
    return scan_integer(ps, &value) ? json_integer(value) : NULL;
}

static bool literal(struct parser *ps, const char *word, size_t len)
{
    if ((size_t)(ps->end - ps->p) < len || memcmp(ps->p, word, len) != 0)
        return false;
    ps->p += len;
    return true;
}

static json_t *read_value(struct parser *ps, int depth, const struct jsonin_shape *shape);
static bool skip_value(struct parser *ps, int depth);

/* The shape for member key, or NULL when the shape leaves it out. */
static const struct jsonin_shape *member_shape(const struct jsonin_shape *shape, const char *key,
                                               size_t key_len)
{
    for (; shape->member; shape++)
        if (shape->member[0] == key[0] && strncmp(shape->member, key, key_len) == 0 &&
            shape->member[key_len] == '\0')
            return shape;
    return NULL;
}

/*
 * Reads the key and colon of a member (ps->p at the key's quote), checked as
 * jansson checks keys. *key points into the input, or, for a key with escapes,
 * into scratch, which the member's value may overwrite.
 */
static inline bool read_raw_key(struct parser *ps, const char **key, size_t *key_len)
{
    skip_space(ps);
    if (ps->p >= ps->end || *ps->p != '"' || read_string(ps, key, key_len) != 0)
        return false;
    /* Only an escape can put a NUL in a key, and jansson refuses one; so must we. */
    if (*key == ps->scratch.data && memchr(*key, '\0', *key_len))
        return false;
    skip_space(ps);
    if (ps->p >= ps->end || *ps->p != ':')
        return false;
    ps->p++;
    return true;
}

/*
 * read_raw_key for a member that is kept: a key in scratch is copied to small
 * or to the heap (*owned, to free) before the value is read. Returns -1 for
 * what jansson would refuse.
 */
static int read_key(struct parser *ps, char *small, size_t small_size, const char **key,
                    size_t *key_len, char **owned)
{
    *owned = NULL;
    if (!read_raw_key(ps, key, key_len))
        return -1;
    if (*key != ps->scratch.data)
        return 0;
    char *copy = *key_len < small_size ? small : malloc(*key_len + 1);
    if (!copy)
        return -1;
    memcpy(copy, *key, *key_len);
    copy[*key_len] = '\0';
    *key = copy;
    if (copy != small)
        *owned = copy;
    return 0;
}

/* After a member or element: 1 at the closing byte (consumed), 0 after a comma, -1 else. */
static int next_item(struct parser *ps, char close)
{
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == ',') {
        ps->p++;
        return 0;
    }
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return 1;
    }
    return -1;
}

/* An empty object or array: the closing byte is consumed. */
static bool at_empty_end(struct parser *ps, char close)
{
    ps->p++; /* the opening byte */
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return true;
    }
    return false;
}

static json_t *read_object(struct parser *ps, int depth, const struct jsonin_shape *shape)
{
    json_t *object = json_object();
    if (!object)
        return NULL;
    if (at_empty_end(ps, '}'))
        return object;
    for (;;) {
        char small[128], *owned;
        const char *key;
        size_t key_len;
        if (read_key(ps, small, sizeof(small), &key, &key_len, &owned) != 0)
            goto fail;
        const struct jsonin_shape *kept = shape ? member_shape(shape, key, key_len) : NULL;
        int rc = -1;
        if (shape && !kept) {
            rc = skip_value(ps, depth + 1) ? 0 : -1;
        } else {
            json_t *value = read_value(ps, depth + 1, kept ? kept->members : NULL);
            rc = value ? json_object_setn_new_nocheck(object, key, key_len, value) : -1;
        }
        free(owned);
        int next = rc == 0 ? next_item(ps, '}') : -1;
        if (next < 0)
            goto fail;
        if (next > 0)
            return object;
    }
fail:
    json_decref(object);
    return NULL;
}

static json_t *read_array(struct parser *ps, int depth, const struct jsonin_shape *shape)
{
    json_t *array = json_array();
    if (!array)
        return NULL;
    if (at_empty_end(ps, ']'))
        return array;
    for (;;) {
        json_t *value = read_value(ps, depth + 1, shape);
        if (!value || json_array_append_new(array, value) != 0)
            break;
        int next = next_item(ps, ']');
        if (next < 0)
            break;
        if (next > 0)
            return array;
    }
    json_decref(array);
    return NULL;
}

static json_t *read_value(struct parser *ps, int depth, const struct jsonin_shape *shape)
{
    if (depth > MAX_DEPTH)
        return NULL;
    skip_space(ps);
    if (ps->p >= ps->end)
        return NULL;
    switch (*ps->p) {
    case '{':
        return read_object(ps, depth, shape);
    case '[':
        return read_array(ps, depth, shape);
    case '"': {
        const char *s;
        size_t len;
        if (read_string(ps, &s, &len) != 0)
            return NULL;
        return json_stringn_nocheck(s, len);
    }
    case 't':
        return literal(ps, "true", 4) ? json_true() : NULL;
    case 'f':
        return literal(ps, "false", 5) ? json_false() : NULL;
    case 'n':
        return literal(ps, "null", 4) ? json_null() : NULL;
    default:
        return read_number(ps);
    }
}

/* Checks a value as read_value would and builds nothing. */
static bool skip_value(struct parser *ps, int depth)
{
    if (depth > MAX_DEPTH)
        return false;
    skip_space(ps);
    if (ps->p >= ps->end)
        return false;
    const char *s;
    size_t len;
    json_int_t number;
    switch (*ps->p) {
    case '{':
        if (at_empty_end(ps, '}'))
            return true;
        for (;;) {
            const char *key;
            size_t key_len;
            int next = read_raw_key(ps, &key, &key_len) && skip_value(ps, depth + 1)
                           ? next_item(ps, '}')
                           : -1;
            if (next != 0)
                return next > 0;
        }
    case '[':
        if (at_empty_end(ps, ']'))
            return true;
        for (;;) {
            int next = skip_value(ps, depth + 1) ? next_item(ps, ']') : -1;
            if (next != 0)
                return next > 0;
        }
    case '"':
        return read_string(ps, &s, &len) == 0;
    case 't':
        return literal(ps, "true", 4);
    case 'f':
        return literal(ps, "false", 5);
    case 'n':
        return literal(ps, "null", 4);
    default:
        return scan_integer(ps, &number);
    }
}

json_t *jsonin_parse_shaped(const char *data, size_t len, const struct jsonin_shape *shape)
{
    struct parser ps = {(const unsigned char *)data, (const unsigned char *)data + len, BUF_INIT};
    skip_space(&ps);
    json_t *doc = NULL;
    /* Like json_loadb without JSON_DECODE_ANY: only an object or an array. */
    if (ps.p < ps.end && (*ps.p == '{' || *ps.p == '['))
        doc = read_value(&ps, 1, shape);
    skip_space(&ps);
    if (doc && ps.p != ps.end) {
        json_decref(doc); /* trailing bytes: jansson says what is wrong */
        doc = NULL;
    }
    buf_free(&ps.scratch);
    return doc;
}

json_t *jsonin_parse_body(const char *data, size_t len, const struct jsonin_shape *shape,
                          json_error_t *error)
{
    json_t *doc = jsonin_parse_shaped(data, len, shape);
    return doc ? doc : json_loadb(data, len, JSON_ALLOW_NUL, error);
}
