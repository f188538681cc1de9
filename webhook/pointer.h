/*
 * pointer.h - RFC 6901 JSON Pointers over jansson documents.
 *
 * Owns the escaping of reference tokens ("~" -> "~0", "/" -> "~1"), their
 * unescaping, and one step of a walk from a container to the child a token
 * names. Tokens, and so pointers, may contain NUL bytes (a JSON key can be
 * "a\u0000b"), so every function takes an explicit length. Allocation is
 * limited to buffer appends and a scratch copy of tokens that contain "~"
 * escapes. Resolving a whole pointer is for the tests (tests/support/pointer_get.h).
 */
#ifndef GOINJECT_POINTER_H
#define GOINJECT_POINTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/*
 * Appends "/" followed by the escaped token (len bytes, may contain NUL).
 * Returns 0, or -1 on allocation failure with the buffer unchanged.
 */
int pointer_append_token(struct buf *b, const char *token, size_t len);
/* Appends "/" followed by the decimal index. */
int pointer_append_index(struct buf *b, size_t index);

/*
 * True when ptr is "" or starts with "/" and every "~" is followed by "0" or
 * "1". Says nothing about whether the pointer names anything.
 */
bool pointer_is_wellformed(const char *ptr, size_t len);

/*
 * Parses an array index token per RFC 6901: decimal digits, no leading zero
 * (except "0" itself), no sign, and no value that would overflow size_t.
 * Returns true and sets *index; "-" is not an index.
 */
bool pointer_array_index(const char *token, size_t len, size_t *index);

/*
 * One step, for callers that walk a pointer themselves: token is one escaped
 * token without its "/". pointer_child returns the child it names (borrowed)
 * or NULL; pointer_unescape_token replaces out with the unescaped token. Both
 * use out/scratch only for tokens holding "~" escapes, and fail on bad ones.
 */
json_t *pointer_child(json_t *container, const char *token, size_t len, struct buf *scratch);
int pointer_unescape_token(const char *token, size_t len, struct buf *out);

#endif
