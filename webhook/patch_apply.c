/*
 * patch_apply.c - applying a patch; see patch_apply.h.
 *
 * Reference counting conventions: the document being patched (root) is owned
 * by the applier. Values taken from the patch enter the document by
 * reference: they are then shared with the caller's patch (count of two or
 * more), so the copy on write below copies them before any later operation
 * edits inside them, and patching never modifies the caller's patch. json_*_new
 * setters steal the reference they are given, even when they fail.
 *
 * Copy on write: the result starts as a reference to the caller's document,
 * and an edit first makes every container on its way private (a shallow
 * json_copy of each one that is shared, that is, whose reference count is
 * above one). A container reachable from the caller's document always has a
 * count of at least two once our copy of its parent refers to it too, so the
 * caller's document is never modified; containers no operation touches stay
 * shared. An edit costs the containers on its path, never a copy of the
 * whole document.
 */
#include "patch_apply.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "patch_build.h"
#include "pointer.h"

/* Longest text of a user-supplied string (op name, pointer) quoted in an error. */
#define QUOTE_MAX 80

/* ---- error messages ---------------------------------------------------- */

/* Appends s in double quotes, made safe for the one-line message (str_safe, buf.h). */
static void append_quoted(struct buf *b, const char *s, size_t len)
{
    char shown[QUOTE_MAX + 1];
    buf_printf(b, "\"%s\"", str_safe(shown, sizeof(shown), s, len));
}

int patch_fail_at(struct buf *reason, const char *label, const char *ptr, size_t len,
                  const char *what)
{
    buf_truncate(reason, 0);
    buf_printf(reason, "%s ", label);
    append_quoted(reason, ptr, len);
    buf_printf(reason, ": %s", what);
    return -1;
}

static int fail(struct buf *reason, const char *what)
{
    buf_truncate(reason, 0);
    buf_append_str(reason, what);
    return -1;
}

/* Copies "operation N (op): reason" into err, truncating to fit. */
static void report_failure(char *err, size_t errlen, size_t index, const struct patch_step *step,
                           const struct buf *reason)
{
    if (!err || errlen == 0)
        return;
    struct buf line = BUF_INIT;
    buf_printf(&line, "operation %zu", index);
    if (step->op) {
        /* A name that came from the patch is quoted so it cannot break the line. */
        buf_append_str(&line, " (");
        if (step->op_trusted)
            buf_append(&line, step->op, step->op_len);
        else
            append_quoted(&line, step->op, step->op_len);
        buf_append_char(&line, ')');
    }
    buf_printf(&line, ": %s", reason->data ? reason->data : "out of memory");
    snprintf(err, errlen, "%s", line.data ? line.data : "out of memory");
    buf_free(&line);
}

/* ---- locating the target of a pointer ---------------------------------- */

/* Where a non-empty pointer points: a container and a member name or index in it. */
struct location {
    json_t *parent; /* borrowed from the document: an object or an array */
    char *key;      /* owned: the last token, unescaped */
    size_t key_len;
    size_t index;  /* arrays: the parsed index, or the array size for "-" */
    bool past_end; /* arrays: the token was "-", the slot after the last element */
};

static void location_free(struct location *loc)
{
    free(loc->key);
    loc->key = NULL;
}

/*
 * Checks that the last token of ptr (non-empty, well-formed) can address parent,
 * the container make_way_private() reached (NULL: the way ended before it).
 * Whether the target itself must exist is for the operation to decide.
 */
static int locate(json_t *parent, const char *label, const char *ptr, size_t len,
                  struct location *loc, struct buf *reason)
{
    memset(loc, 0, sizeof *loc);
    if (!parent)
        return patch_fail_at(reason, label, ptr, len, "parent does not exist");
    const char *last = (const char *)memrchr(ptr, '/', len) + 1;
    struct buf key = BUF_INIT;
    if (pointer_unescape_token(last, (size_t)(ptr + len - last), &key) != 0) {
        buf_free(&key);
        return patch_fail_at(reason, label, ptr, len, "parent does not exist");
    }
    loc->parent = parent;
    loc->key_len = key.len;
    loc->key = buf_steal(&key);
    if (!loc->key)
        return fail(reason, "out of memory");
    if (json_is_object(loc->parent))
        return 0;
    if (!json_is_array(loc->parent)) {
        location_free(loc);
        return patch_fail_at(reason, label, ptr, len, "parent is neither an object nor an array");
    }
    if (loc->key_len == 1 && loc->key[0] == '-') {
        loc->past_end = true;
        loc->index = json_array_size(loc->parent);
        return 0;
    }
    if (!pointer_array_index(loc->key, loc->key_len, &loc->index)) {
        location_free(loc);
        return patch_fail_at(reason, label, ptr, len, "not a valid array index");
    }
    return 0;
}

static int make_way_private(json_t **root, const char *ptr, size_t len, json_t **parent);

/* make_way_private() then locate(): the walk to the edit, done once. */
static int prepare_edit(json_t **root, const char *label, const char *ptr, size_t len,
                        struct location *loc, struct buf *reason)
{
    json_t *parent;
    memset(loc, 0, sizeof *loc);
    if (make_way_private(root, ptr, len, &parent) != 0)
        return fail(reason, "out of memory copying the document");
    return locate(parent, label, ptr, len, loc, reason);
}

/* The value currently at loc (borrowed), or NULL when nothing is there. */
static json_t *location_value(const struct location *loc)
{
    if (json_is_object(loc->parent))
        return json_object_getn(loc->parent, loc->key, loc->key_len);
    if (loc->past_end)
        return NULL;
    return json_array_get(loc->parent, loc->index);
}

/* ---- copy on write ----------------------------------------------------- */

static bool is_shared(const json_t *node)
{
    return (json_is_object(node) || json_is_array(node)) && node->refcount > 1;
}

/* Sets the existing child of node named by one escaped token to value (owned, consumed). */
static int set_child(json_t *node, const char *token, size_t len, json_t *value,
                     struct buf *scratch)
{
    size_t index;
    if (json_is_object(node)) {
        if (!memchr(token, '~', len))
            return json_object_setn_new(node, token, len, value);
        if (pointer_unescape_token(token, len, scratch) == 0)
            return json_object_setn_new(node, scratch->data, scratch->len, value);
    } else if (json_is_array(node) && pointer_array_index(token, len, &index)) {
        return json_array_set_new(node, index, value);
    }
    json_decref(value);
    return -1;
}

/*
 * Makes the root and every container on the way to the parent of ptr private
 * to the result, top down, so the edit that follows touches nothing shared.
 * One walk: each token is looked up once, and only a shared container costs
 * a copy. *parent is then the parent of the last token (private), or NULL
 * where the way ends early, for locate() to report.
 */
static int make_way_private(json_t **root, const char *ptr, size_t len, json_t **parent)
{
    *parent = NULL;
    if (is_shared(*root)) {
        json_t *copy = json_copy(*root);
        if (!copy)
            return -1;
        json_decref(*root);
        *root = copy;
    }
    struct buf scratch = BUF_INIT;
    int rc = 0;
    json_t *node = *root;                      /* private */
    const char *end = ptr + len, *token = ptr; /* token points at its "/" */
    for (;;) {
        const char *next =
            token + 1 < end ? memchr(token + 1, '/', (size_t)(end - token - 1)) : NULL;
        if (!next) {
            *parent = node; /* token is the last one: node, its parent, is private */
            break;
        }
        size_t segment = (size_t)(next - token - 1);
        json_t *child = pointer_child(node, token + 1, segment, &scratch); /* borrowed */
        if (!child)
            break;
        if (is_shared(child)) {
            json_t *copy = json_copy(child);
            if (!copy || set_child(node, token + 1, segment, copy, &scratch) != 0) {
                rc = -1;
                break;
            }
            child = copy;
        }
        node = child;
        token = next;
    }
    buf_free(&scratch);
    return rc;
}

/* ---- the edits ---------------------------------------------------------- */

/* Swaps in a new document; value is owned and becomes the root. */
static void replace_root(json_t **root, json_t *value)
{
    json_decref(*root);
    *root = value;
}

/*
 * Objects gain or overwrite the member; arrays insert before index, where
 * index may equal the size and "-" appends.
 */
int patch_insert(json_t **root, const char *path, size_t path_len, json_t *value,
                 struct buf *reason)
{
    if (path_len == 0) {
        replace_root(root, value);
        return 0;
    }
    struct location loc;
    if (prepare_edit(root, "path", path, path_len, &loc, reason) != 0) {
        json_decref(value);
        return -1;
    }
    int rc = 0;
    if (json_is_object(loc.parent)) {
        if (json_object_setn_new(loc.parent, loc.key, loc.key_len, value) != 0)
            rc = patch_fail_at(reason, "path", path, path_len, "cannot set member");
    } else if (loc.index > json_array_size(loc.parent)) {
        json_decref(value);
        rc = patch_fail_at(reason, "path", path, path_len, "array index out of range");
    } else if (json_array_insert_new(loc.parent, loc.index, value) != 0) {
        rc = patch_fail_at(reason, "path", path, path_len, "cannot insert element");
    }
    location_free(&loc);
    return rc;
}

/* Array elements after the value taken shift down by one. */
json_t *patch_detach(json_t **root, const char *label, const char *path, size_t path_len,
                     struct buf *reason)
{
    if (path_len == 0) {
        fail(reason, "cannot remove the whole document");
        return NULL;
    }
    struct location loc;
    if (prepare_edit(root, label, path, path_len, &loc, reason) != 0)
        return NULL;
    json_t *value = location_value(&loc); /* borrowed from the parent until incref */
    if (!value) {
        patch_fail_at(reason, label, path, path_len, "does not exist");
    } else {
        /* Keep our own reference: removal drops the parent's, and a move reinserts it. */
        json_incref(value);
        if (json_is_object(loc.parent))
            json_object_deln(loc.parent, loc.key, loc.key_len);
        else
            json_array_remove(loc.parent, loc.index);
    }
    location_free(&loc);
    return value;
}

/* ---- the steps ---------------------------------------------------------- */

int patch_step_add(json_t **root, const struct patch_step *step, struct buf *reason)
{
    json_t *value = json_incref((json_t *)step->value); /* shared (count only); consumed */
    return patch_insert(root, step->path, step->path_len, value, reason);
}

int patch_step_remove(json_t **root, const struct patch_step *step, struct buf *reason)
{
    json_t *removed = patch_detach(root, "path", step->path, step->path_len, reason); /* owned */
    if (!removed)
        return -1;
    json_decref(removed);
    return 0;
}

json_t *patch_apply_steps(const json_t *doc, const void *ops, size_t count, patch_step_reader *read,
                          char *err, size_t errlen)
{
    if (err && errlen > 0)
        err[0] = '\0';
    if (!doc) {
        if (err && errlen > 0)
            snprintf(err, errlen, "no document");
        return NULL;
    }
    /*
     * Atomicity: every operation edits the result, which shares with doc only
     * what no operation changed (copy on write), and is dropped on failure.
     */
    json_t *result = json_incref((json_t *)doc); /* owned */
    struct buf reason = BUF_INIT;
    for (size_t i = 0; i < count; i++) {
        struct patch_step step = {0};
        if (read(ops, i, &step, &reason) != 0 || step.apply(&result, &step, &reason) != 0) {
            report_failure(err, errlen, i, &step, &reason);
            json_decref(result);
            result = NULL;
            break;
        }
    }
    buf_free(&reason);
    if (result == doc) {
        /* Nothing changed the root: still hand back a document of our own. */
        json_t *copy = json_copy(result);
        json_decref(result);
        result = copy;
        if (!result && err && errlen > 0)
            snprintf(err, errlen, "out of memory copying the document");
    }
    return result;
}

/* Operation i of the builder's list, checked as strictly as a patch from elsewhere. */
static int read_built(const void *ops, size_t i, struct patch_step *step, struct buf *reason)
{
    const struct patch_op *op = &((const struct patch *)ops)->ops[i];
    step->op = op->value ? "add" : "remove";
    step->op_len = op->value ? 3 : 6;
    step->op_trusted = true;
    step->apply = op->value ? patch_step_add : patch_step_remove;
    step->path = op->path;
    step->path_len = op->path_len;
    step->value = op->value;
    if (!pointer_is_wellformed(step->path, step->path_len))
        return patch_fail_at(reason, "path", step->path, step->path_len,
                             "not a valid JSON pointer");
    return 0;
}

json_t *patch_apply_built(const json_t *doc, const struct patch *patch, char *err, size_t errlen)
{
    return patch_apply_steps(doc, patch, patch_count(patch), read_built, err, errlen);
}
