/*
 * jsonout.h - compact JSON output, byte for byte what json_dumps(v, JSON_COMPACT) writes
 * (or, for the log, with JSON_ENSURE_ASCII | JSON_REAL_PRECISION(9)).
 *
 * jansson's writer escapes every string one character at a time through a
 * callback; the answers goinject writes are mostly long runs of plain text (a
 * base64 patch, container specs), which this writer copies in runs. Objects
 * are written in insertion order, like jansson without JSON_SORT_KEYS; reals
 * follow jansson's formatting rules, so the output is identical for every value.
 */
#ifndef GOINJECT_JSONOUT_H
#define GOINJECT_JSONOUT_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"

/* Appends v (any JSON value) to out; returns 0, or -1 when out of memory or too deep. */
int jsonout_write_compact(struct buf *out, const json_t *v);
/* Appends s (len bytes of UTF-8) as a JSON string literal, escaped as jansson escapes it. */
int jsonout_write_string(struct buf *out, const char *s, size_t len);

/*
 * Values written into many answers (the configuration's prebuilt agent values)
 * with their compact text, written once, so that an answer copies the text
 * instead of writing the value again. Immutable once built: threads share it.
 */
struct jsonout_known;

/*
 * The compact text of each of values[0..count) (borrowed: they must outlive
 * the set and never change), or NULL when one is NULL or out of memory.
 */
struct jsonout_known *jsonout_known_new(const json_t *const *values, size_t count);
void jsonout_known_free(struct jsonout_known *known);

/* jsonout_write_compact, copying the known text wherever one of the known values appears. */
int jsonout_write_compact_known(struct buf *out, const json_t *v,
                                const struct jsonout_known *known);

/*
 * The log's spelling: what json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII |
 * JSON_REAL_PRECISION(9)) writes, every code point above 0x7F escaped.
 */
int jsonout_write_log(struct buf *out, const json_t *v);
int jsonout_write_string_ascii(struct buf *out, const char *s, size_t len);

#endif
