/*
 * patch_apply.h - an RFC 6902 JSON Patch applier.
 *
 * goinject applies every patch it builds to its own copy of the pod and checks
 * the result before answering; this module is that applier. It supports all
 * six operations (add, remove, replace, move, copy, test) with RFC 6901
 * pointers, and is atomic: the input document is never modified.
 */
#ifndef GOINJECT_PATCH_APPLY_H
#define GOINJECT_PATCH_APPLY_H

#include <jansson.h>
#include <stddef.h>

#include "patch_build.h"

/*
 * Applies patch (a JSON array of operation objects) to doc, copy on write:
 * neither doc nor patch is ever modified, the result shares with doc every
 * container that no operation changed (so an unchanged subtree is the same
 * json_t in both), and holds the patch's values by reference.
 * Returns the patched document (a new reference the caller owns; treat it as
 * read-only, or json_deep_copy it before editing in place), or NULL with a
 * one-line reason in err (which names the failing operation index) when the
 * patch is malformed or an operation cannot be applied.
 */
json_t *patch_apply(const json_t *doc, const json_t *patch, char *err, size_t errlen);

/* patch_apply for the builder's list (patch_build.h), without a JSON round trip. */
json_t *patch_apply_built(const json_t *doc, const struct patch *patch, char *err, size_t errlen);

#endif
