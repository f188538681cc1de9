/*
 * pointer.h - RFC 6901 JSON Pointers over jansson documents.
 *
 * Owns the escaping of reference tokens ("~" -> "~0", "/" -> "~1") and the
 * resolution of a pointer string to a value inside a document. Nothing here
 * allocates except the buffer appends, which grow the caller's buffer.
 */
#ifndef GOINJECT_POINTER_H
#define GOINJECT_POINTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Appends "/" followed by the escaped token (len bytes, may contain NUL). */
int pointer_append_token(struct buf *b, const char *token, size_t len);
/* Appends "/" followed by the decimal index. */
int pointer_append_index(struct buf *b, size_t index);

/*
 * Resolves ptr ("" is the whole document) against doc. Returns a borrowed
 * reference, or NULL when the pointer is malformed or names nothing.
 */
json_t *pointer_get(json_t *doc, const char *ptr);

/*
 * Splits ptr into its parent pointer's target and its last token, unescaped.
 * On success *parent is borrowed, *token is malloc'd (caller frees) and
 * *token_len its length; returns 0. Returns -1 when ptr is "" (no parent),
 * malformed, or the parent does not exist.
 */
int pointer_parent(json_t *doc, const char *ptr, json_t **parent, char **token, size_t *token_len);

/*
 * Parses an array index token per RFC 6901: decimal digits, no leading zero
 * (except "0" itself). Returns true and sets *index; "-" is not an index.
 */
bool pointer_array_index(const char *token, size_t len, size_t *index);

#endif
