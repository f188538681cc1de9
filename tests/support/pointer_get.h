/*
 * pointer_get.h - resolving RFC 6901 pointers in a document, for the tests.
 *
 * The server walks pointers only while it patches (patch_apply.c, one token
 * at a time with pointer_child); the tests look values up by pointer, and the
 * tests' JSON patch applier (patch_json.h) does too. The *n variants take an
 * explicit length, since a pointer may contain NUL bytes; the plain ones use
 * strlen.
 */
#ifndef GOINJECT_TESTS_POINTER_GET_H
#define GOINJECT_TESTS_POINTER_GET_H

#include <jansson.h>
#include <stddef.h>

/*
 * Resolves ptr ("" is the whole document) against doc. Returns a borrowed
 * reference, or NULL when the pointer is malformed or names nothing.
 */
json_t *pointer_get(json_t *doc, const char *ptr);
json_t *pointer_getn(json_t *doc, const char *ptr, size_t len);

/*
 * Splits ptr into its parent pointer's target and its last token, unescaped.
 * On success *parent is borrowed, *token is malloc'd (caller frees; it is
 * NUL-terminated after token_len bytes) and *token_len its length; returns 0.
 * Returns -1 when ptr is "" (no parent), malformed, or the parent does not
 * exist. The parent may be any JSON type; the caller decides what to do.
 */
int pointer_parent(json_t *doc, const char *ptr, json_t **parent, char **token, size_t *token_len);
int pointer_parentn(json_t *doc, const char *ptr, size_t len, json_t **parent, char **token,
                    size_t *token_len);

#endif
