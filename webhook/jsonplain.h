/*
 * jsonplain.h - the run of string bytes that JSON passes through untouched.
 *
 * Shared by the request parser and the answer writer, which spend most of
 * their time in string text: printable ASCII other than the quote and the
 * backslash needs no escape on the way in or out. Eight bytes are tested at a
 * time, and the first byte that is not plain is found in its word directly.
 */
#ifndef GOINJECT_JSONPLAIN_H
#define GOINJECT_JSONPLAIN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline int jsonplain_byte(unsigned char c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/*
 * One bit (the high bit of the byte) for each byte of the word x that is not
 * plain. Exact per byte: no step carries or borrows across bytes.
 */
static inline uint64_t jsonplain_unplain(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101u, highs = ones * 0x80, lows = ones * 0x7F;
    uint64_t quote = x ^ (ones * '"'), backslash = x ^ (ones * '\\');
    uint64_t at_least_space = (x & lows) + ones * (0x80 - 0x20); /* high bit: low 7 bits >= 0x20 */
    uint64_t quote_zero = ~(((quote & lows) + lows) | quote);
    uint64_t backslash_zero = ~(((backslash & lows) + lows) | backslash);
    return (x | ~at_least_space | quote_zero | backslash_zero) & highs;
}

/* How many bytes from p on (at most len) are plain. */
static inline size_t jsonplain_len(const unsigned char *p, size_t len)
{
    size_t i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; len - i >= 8; i += 8) {
        uint64_t x;
        memcpy(&x, p + i, 8);
        uint64_t unplain = jsonplain_unplain(x);
        if (unplain) /* the first byte in memory is the lowest */
            return i + (size_t)__builtin_ctzll(unplain) / 8;
    }
#endif
    while (i < len && jsonplain_byte(p[i]))
        i++;
    return i;
}

#endif
