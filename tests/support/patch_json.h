/*
 * patch_json.h - RFC 6902 patches as JSON, for the tests and fuzzers.
 *
 * The server builds its patches as C structs (patch_build.h) and applies them
 * with add and remove only (patch_apply.h). The tests also write patches as
 * JSON and use all six operations of the RFC (add, remove, replace, move,
 * copy, test, with the RFC's deep equality for test); this is that applier,
 * run through the server's own steps, and the JSON form of a built patch.
 */
#ifndef GOINJECT_TESTS_PATCH_JSON_H
#define GOINJECT_TESTS_PATCH_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "patch_build.h"

/*
 * Applies patch (a JSON array of operation objects) to doc, as
 * patch_apply_built does: neither doc nor patch is ever modified, and the
 * result (owned) holds the patch's values by reference. NULL with a one-line
 * reason in err (which names the failing operation index) when the patch is
 * malformed or an operation cannot be applied.
 */
json_t *patch_apply(const json_t *doc, const json_t *patch, char *err, size_t errlen);

/* The RFC 6902 document: [{"op","path"[,"value"]}...] (a new reference), or NULL. */
json_t *patch_to_json(const struct patch *p);

#endif
