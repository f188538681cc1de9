/*
 * jsonin.h - a fast JSON parser for request bodies, with jansson's semantics.
 *
 * jansson's parser reads one character at a time through a stream and copies
 * every string byte by byte; request bodies are long runs of plain string
 * text, which this parser scans in runs. It builds the same jansson values
 * that json_loadb(data, len, JSON_ALLOW_NUL) would, and accepts exactly the
 * same documents, by a simple rule: anything it is not sure about (a syntax
 * error, invalid UTF-8, a number that is not a small integer, nesting deeper
 * than jansson allows) makes it return NULL, and the caller asks jansson,
 * which then builds the value or writes the error message. So a malformed
 * body is parsed twice and gets jansson's message, and a valid one is parsed
 * once, here. The review fuzzer checks that both parsers agree.
 */
#ifndef GOINJECT_JSONIN_H
#define GOINJECT_JSONIN_H

#include <jansson.h>
#include <stddef.h>

/*
 * Which members of an object to build: a list ended by {NULL, NULL}. A listed
 * member's value is built with its own shape (members NULL: the whole value);
 * other members are checked as strictly as the rest and left out. A shape
 * given for an array applies to each of its elements; scalars are built as
 * they are. A review needs a few dozen values of a pod that has hundreds.
 */
struct jsonin_shape {
    const char *member;
    const struct jsonin_shape *members;
};

/*
 * The object or array in data, building only what shape keeps (NULL:
 * everything), or NULL when jansson must decide.
 */
json_t *jsonin_parse_shaped(const char *data, size_t len, const struct jsonin_shape *shape);

/*
 * jsonin_parse_shaped, else json_loadb(data, len, JSON_ALLOW_NUL, error), which
 * builds everything: callers must read only what shape keeps, so that both
 * give them the same answer.
 */
json_t *jsonin_parse_body(const char *data, size_t len, const struct jsonin_shape *shape,
                          json_error_t *error);

#endif
