/*
 * patch_apply.h - applies the RFC 6902 patches goinject builds (patch_build.h).
 *
 * goinject applies every patch it builds to its own copy of the pod and checks
 * the result before answering; this module is that applier. A built patch
 * holds two operations, add and remove, with RFC 6901 pointers. Applying is
 * atomic and copy on write: the input document is never modified.
 *
 * The RFC's other four operations (replace, move, copy, test) and patches
 * given as JSON are for the tests and fuzzers only (tests/support/patch_json.c);
 * they run through patch_apply_steps() and the two edits below, so they share
 * every rule of the server's applier.
 */
#ifndef GOINJECT_PATCH_APPLY_H
#define GOINJECT_PATCH_APPLY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

struct patch;

/*
 * Applies the builder's patch to doc, copy on write: doc is never modified,
 * the result shares with doc every container that no operation changed (so an
 * unchanged subtree is the same json_t in both), and holds the patch's values
 * by reference. Returns the patched document (a new reference the caller
 * owns; treat it as read-only, or json_deep_copy it before editing in place),
 * or NULL with a one-line reason in err (which names the failing operation
 * index) when an operation cannot be applied.
 */
json_t *patch_apply_built(const json_t *doc, const struct patch *patch, char *err, size_t errlen);

/* ---- the steps of a patch, for other forms of one ------------------------------------ */

/* One operation, as a reader hands it to patch_apply_steps(); every pointer is borrowed. */
struct patch_step {
    const char *op; /* the operation's name, for the error message; NULL until known */
    size_t op_len;
    bool op_trusted; /* op is the reader's own spelling; otherwise it is shown made safe */
    const char *path, *from;
    size_t path_len, from_len;
    const json_t *value; /* never modified: inserted by reference */
    /* Edits *doc (owned; it may be replaced); -1 with the reason in reason. */
    int (*apply)(json_t **doc, const struct patch_step *step, struct buf *reason);
};

/* Fills step with operation i of ops; -1 with the reason in reason when it is malformed. */
typedef int patch_step_reader(const void *ops, size_t i, struct patch_step *step,
                              struct buf *reason);

/*
 * Applies count steps of ops, each read by read and applied by its apply, as
 * patch_apply_built does: atomically, copy on write, the same result and the
 * same one-line reason ("operation N (op): reason") in err.
 */
json_t *patch_apply_steps(const json_t *doc, const void *ops, size_t count, patch_step_reader *read,
                          char *err, size_t errlen);

/* The two operations of a built patch, as steps: "add" and "remove". */
int patch_step_add(json_t **doc, const struct patch_step *step, struct buf *reason);
int patch_step_remove(json_t **doc, const struct patch_step *step, struct buf *reason);

/*
 * The edits the steps are made of, on a document being patched (*doc, owned).
 * patch_insert is the RFC's "add" of value (owned, consumed even on failure)
 * at path; patch_detach takes the value at a non-empty path out of the
 * document and returns it (owned), or NULL with the reason, which names the
 * pointer after label ("path" or "from").
 */
int patch_insert(json_t **doc, const char *path, size_t path_len, json_t *value,
                 struct buf *reason);
json_t *patch_detach(json_t **doc, const char *label, const char *path, size_t path_len,
                     struct buf *reason);

/* Sets reason to `label "ptr": what`, ptr made safe for one line; returns -1. */
int patch_fail_at(struct buf *reason, const char *label, const char *ptr, size_t len,
                  const char *what);

#endif
