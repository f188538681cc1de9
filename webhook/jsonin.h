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
 * body costs two parses and gets jansson's message, and a valid one costs a
 * fraction of one. The review fuzzer checks that both parsers agree.
 */
#ifndef GOINJECT_JSONIN_H
#define GOINJECT_JSONIN_H

#include <jansson.h>
#include <stddef.h>

/* The object or array in data, or NULL when jansson must decide. */
json_t *json_parse_fast(const char *data, size_t len);

/* json_parse_fast, else json_loadb(data, len, JSON_ALLOW_NUL, error). */
json_t *json_parse_body(const char *data, size_t len, json_error_t *error);

#endif
