/*
 * patch_apply.c - RFC 6902 JSON Patch; see patch_apply.h.
 *
 * Reference counting conventions: the document being patched (root) is owned
 * by patch_apply. Values taken from the patch enter the document by
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
 * shared. A pod of a megabyte patched in twenty places costs twenty short
 * paths, not a copy of the megabyte.
 */
#include "patch_apply.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "pointer.h"

/* Longest user-supplied string (op name, pointer) quoted in an error. */
#define QUOTE_MAX 80

enum op_kind { OP_ADD, OP_REMOVE, OP_REPLACE, OP_MOVE, OP_COPY, OP_TEST };

struct op_spec {
    enum op_kind kind;
    const char *name;
    bool needs_value; /* "value" member required (it may be null) */
    bool needs_from;  /* "from" member required */
};

static const struct op_spec OP_SPECS[] = {
    {OP_ADD, "add", true, false},         {OP_REMOVE, "remove", false, false},
    {OP_REPLACE, "replace", true, false}, {OP_MOVE, "move", false, true},
    {OP_COPY, "copy", false, true},       {OP_TEST, "test", true, false},
};

/* One parsed operation; every pointer in it is borrowed from the patch. */
struct operation {
    const struct op_spec *spec;
    const char *name; /* the "op" string as given, NULL until seen */
    size_t name_len;
    const char *path;
    size_t path_len;
    const char *from;
    size_t from_len;
    const json_t *value; /* never modified, never inserted: copied first */
};

/* ---- error messages ---------------------------------------------------- */

/*
 * Appends s in double quotes with every byte outside printable ASCII (and the
 * quote and backslash) written as \xNN, so the message stays one line even
 * when the patch holds newlines or NULs. Long strings are cut short.
 */
static void append_quoted(struct buf *b, const char *s, size_t len)
{
    size_t shown = len < QUOTE_MAX ? len : QUOTE_MAX;
    buf_append_char(b, '"');
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            buf_append_char(b, (char)c);
        else
            buf_printf(b, "\\x%02x", c);
    }
    buf_append_char(b, '"');
    if (shown < len)
        buf_append_str(b, "...");
}

/* Writes "<label> "<pointer>": <what>" as the reason; returns -1 for the caller to pass on. */
static int fail_at(struct buf *reason, const char *label, const char *ptr, size_t len,
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
static void report_failure(char *err, size_t errlen, size_t index, const struct operation *op,
                           const struct buf *reason)
{
    if (!err || errlen == 0)
        return;
    struct buf line = BUF_INIT;
    buf_printf(&line, "operation %zu", index);
    if (op->name) {
        /* An unknown name came from the patch: quote it so it cannot break the line. */
        buf_append_str(&line, " (");
        if (op->spec)
            buf_append_str(&line, op->spec->name);
        else
            append_quoted(&line, op->name, op->name_len);
        buf_append_char(&line, ')');
    }
    buf_printf(&line, ": %s", reason->data ? reason->data : "out of memory");
    snprintf(err, errlen, "%s", line.data ? line.data : "out of memory");
    buf_free(&line);
}

/* ---- parsing an operation object --------------------------------------- */

static const struct op_spec *find_spec(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof OP_SPECS / sizeof OP_SPECS[0]; i++) {
        if (strlen(OP_SPECS[i].name) == len && memcmp(OP_SPECS[i].name, name, len) == 0)
            return &OP_SPECS[i];
    }
    return NULL;
}

/* Reads a member that must be a well-formed pointer string. */
static int read_pointer(const json_t *object, const char *member, const char **ptr, size_t *len,
                        struct buf *reason)
{
    json_t *text = json_object_get(object, member); /* borrowed */
    if (!json_is_string(text)) {
        buf_truncate(reason, 0);
        buf_printf(reason, "\"%s\" is missing or not a string", member);
        return -1;
    }
    *ptr = json_string_value(text);
    *len = json_string_length(text);
    if (!pointer_is_wellformed(*ptr, *len))
        return fail_at(reason, member, *ptr, *len, "not a valid JSON pointer");
    return 0;
}

/* Validates one element of the patch; members other than the ones used are ignored. */
static int parse_operation(const json_t *object, struct operation *op, struct buf *reason)
{
    if (!json_is_object(object))
        return fail(reason, "not a JSON object");
    json_t *name = json_object_get(object, "op"); /* borrowed */
    if (!json_is_string(name))
        return fail(reason, "\"op\" is missing or not a string");
    op->name = json_string_value(name);
    op->name_len = json_string_length(name);
    op->spec = find_spec(op->name, op->name_len);
    if (!op->spec)
        return fail(reason, "unknown op");
    if (read_pointer(object, "path", &op->path, &op->path_len, reason) != 0)
        return -1;
    if (op->spec->needs_from && read_pointer(object, "from", &op->from, &op->from_len, reason) != 0)
        return -1;
    if (op->spec->needs_value) {
        op->value = json_object_get(object, "value"); /* a JSON null is a value too */
        if (!op->value)
            return fail(reason, "\"value\" is missing");
    }
    return 0;
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
        return fail_at(reason, label, ptr, len, "parent does not exist");
    const char *last = (const char *)memrchr(ptr, '/', len) + 1;
    struct buf key = BUF_INIT;
    if (pointer_unescape_token(last, (size_t)(ptr + len - last), &key) != 0) {
        buf_free(&key);
        return fail_at(reason, label, ptr, len, "parent does not exist");
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
        return fail_at(reason, label, ptr, len, "parent is neither an object nor an array");
    }
    if (loc->key_len == 1 && loc->key[0] == '-') {
        loc->past_end = true;
        loc->index = json_array_size(loc->parent);
        return 0;
    }
    if (!pointer_array_index(loc->key, loc->key_len, &loc->index)) {
        location_free(loc);
        return fail_at(reason, label, ptr, len, "not a valid array index");
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

/* ---- the primitive edits ----------------------------------------------- */

/* Swaps in a new document; value is owned and becomes the root. */
static void replace_root(json_t **root, json_t *value)
{
    json_decref(*root);
    *root = value;
}

/*
 * The RFC "add" at path: value is owned and always consumed, on failure too.
 * Objects gain or overwrite the member; arrays insert before index, where
 * index may equal the size and "-" appends.
 */
static int insert_value(json_t **root, const char *path, size_t path_len, json_t *value,
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
            rc = fail_at(reason, "path", path, path_len, "cannot set member");
    } else if (loc.index > json_array_size(loc.parent)) {
        json_decref(value);
        rc = fail_at(reason, "path", path, path_len, "array index out of range");
    } else if (json_array_insert_new(loc.parent, loc.index, value) != 0) {
        rc = fail_at(reason, "path", path, path_len, "cannot insert element");
    }
    location_free(&loc);
    return rc;
}

/*
 * Takes the value at a non-empty path out of the document and returns it
 * (owned by the caller), or NULL when nothing is there. Array elements after
 * it shift down by one.
 */
static json_t *detach_value(json_t **root, const char *label, const char *path, size_t path_len,
                            struct buf *reason)
{
    struct location loc;
    if (prepare_edit(root, label, path, path_len, &loc, reason) != 0)
        return NULL;
    json_t *value = location_value(&loc); /* borrowed from the parent until incref */
    if (!value) {
        fail_at(reason, label, path, path_len, "does not exist");
    } else {
        /* Keep our own reference: removal drops the parent's, and move reinserts it. */
        json_incref(value);
        if (json_is_object(loc.parent))
            json_object_deln(loc.parent, loc.key, loc.key_len);
        else
            json_array_remove(loc.parent, loc.index);
    }
    location_free(&loc);
    return value;
}

/* Overwrites the existing value at path; value is owned and always consumed. */
static int overwrite_value(json_t **root, const char *path, size_t path_len, json_t *value,
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
    if (!location_value(&loc)) {
        json_decref(value);
        rc = fail_at(reason, "path", path, path_len, "does not exist");
    } else if (json_is_object(loc.parent)) {
        if (json_object_setn_new(loc.parent, loc.key, loc.key_len, value) != 0)
            rc = fail_at(reason, "path", path, path_len, "cannot set member");
    } else if (json_array_set_new(loc.parent, loc.index, value) != 0) {
        rc = fail_at(reason, "path", path, path_len, "cannot set element");
    }
    location_free(&loc);
    return rc;
}

/* ---- equality for "test" ----------------------------------------------- */

_Static_assert(sizeof(json_int_t) == 8, "integer_equals_real assumes a 64-bit json_int_t");

/*
 * Exact comparison of an integer with a real. Converting the integer to
 * double would round above 2^53 and call distinct numbers equal, so the real
 * is converted instead, once it is known to be in range.
 */
static bool integer_equals_real(json_int_t integer, double real)
{
    if (!(real >= -0x1p63 && real < 0x1p63)) /* also rejects NaN */
        return false;
    json_int_t truncated = (json_int_t)real;
    return (double)truncated == real && truncated == integer;
}

/* RFC 6902 4.6: numbers are equal when their values are, whatever their type. */
static bool numbers_equal(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b))
        return json_integer_value(a) == json_integer_value(b);
    if (json_is_real(a) && json_is_real(b))
        return json_real_value(a) == json_real_value(b);
    if (json_is_integer(a))
        return integer_equals_real(json_integer_value(a), json_real_value(b));
    return integer_equals_real(json_integer_value(b), json_real_value(a));
}

/* Pairs of values still to compare; an explicit stack instead of recursion. */
struct pair_stack {
    struct {
        const json_t *a, *b;
    } * items;
    size_t len, cap;
};

static int push_pair(struct pair_stack *stack, const json_t *a, const json_t *b)
{
    if (stack->len == stack->cap) {
        size_t cap = stack->cap ? stack->cap * 2 : 16;
        void *items = reallocarray(stack->items, cap, sizeof stack->items[0]);
        if (!items)
            return -1;
        stack->items = items;
        stack->cap = cap;
    }
    stack->items[stack->len].a = a;
    stack->items[stack->len].b = b;
    stack->len++;
    return 0;
}

/* Objects are equal when they have the same keys with equal values, in any order. */
static int push_members(const json_t *a, const json_t *b, struct pair_stack *stack)
{
    if (json_object_size(a) != json_object_size(b))
        return 0;
    const char *key;
    size_t key_len;
    json_t *value_a; /* borrowed */
    /* The iteration macros take non-const objects; they only read. */
    json_object_keylen_foreach((json_t *)a, key, key_len, value_a)
    {
        json_t *value_b = json_object_getn(b, key, key_len); /* borrowed */
        if (!value_b)
            return 0;
        if (push_pair(stack, value_a, value_b) != 0)
            return -1;
    }
    return 1;
}

/* Arrays are equal when they have equal elements in the same order. */
static int push_elements(const json_t *a, const json_t *b, struct pair_stack *stack)
{
    size_t size = json_array_size(a);
    if (size != json_array_size(b))
        return 0;
    for (size_t i = 0; i < size; i++) {
        if (push_pair(stack, json_array_get(a, i), json_array_get(b, i)) != 0)
            return -1;
    }
    return 1;
}

/* Compares one level: 1 equal so far (children pushed), 0 different, -1 out of memory. */
static int compare_level(const json_t *a, const json_t *b, struct pair_stack *stack)
{
    if (json_is_number(a) && json_is_number(b))
        return numbers_equal(a, b);
    if (json_typeof(a) != json_typeof(b))
        return 0;
    switch (json_typeof(a)) {
    case JSON_OBJECT:
        return push_members(a, b, stack);
    case JSON_ARRAY:
        return push_elements(a, b, stack);
    case JSON_STRING:
        return json_equal(a, b); /* scalar: no recursion */
    default:
        return 1; /* true, false and null carry nothing beyond their type */
    }
}

/* Deep equality per RFC 6902 4.6: 1 equal, 0 different, -1 out of memory. */
static int values_equal(const json_t *a, const json_t *b)
{
    struct pair_stack stack = {NULL, 0, 0};
    int result = push_pair(&stack, a, b) == 0 ? 1 : -1;
    while (result == 1 && stack.len > 0) {
        stack.len--;
        result = compare_level(stack.items[stack.len].a, stack.items[stack.len].b, &stack);
    }
    free(stack.items);
    return result;
}

/* ---- the six operations ------------------------------------------------ */

static int apply_add(json_t **root, const struct operation *op, struct buf *reason)
{
    json_t *value = json_incref((json_t *)op->value); /* shared (count only); consumed */
    return insert_value(root, op->path, op->path_len, value, reason);
}

static int apply_remove(json_t **root, const struct operation *op, struct buf *reason)
{
    if (op->path_len == 0)
        return fail(reason, "cannot remove the whole document");
    json_t *removed = detach_value(root, "path", op->path, op->path_len, reason); /* owned */
    if (!removed)
        return -1;
    json_decref(removed);
    return 0;
}

static int apply_replace(json_t **root, const struct operation *op, struct buf *reason)
{
    json_t *value = json_incref((json_t *)op->value); /* shared (count only); consumed */
    return overwrite_value(root, op->path, op->path_len, value, reason);
}

/* True when from names a proper ancestor of path: a prefix ending at a token boundary. */
static bool is_ancestor(const char *from, size_t from_len, const char *path, size_t path_len)
{
    /* Comparing escaped text is exact: each token has exactly one escaped spelling. */
    return from_len < path_len && memcmp(from, path, from_len) == 0 && path[from_len] == '/';
}

static int apply_move(json_t **root, const struct operation *op, struct buf *reason)
{
    if (is_ancestor(op->from, op->from_len, op->path, op->path_len))
        return fail_at(reason, "from", op->from, op->from_len,
                       "cannot move a value into one of its own children");
    if (op->from_len == op->path_len && memcmp(op->from, op->path, op->path_len) == 0) {
        /* Removing and re-adding at the same place changes nothing, if it exists. */
        if (!pointer_getn(*root, op->from, op->from_len))
            return fail_at(reason, "from", op->from, op->from_len, "does not exist");
        return 0;
    }
    /* from is not "" here: "" is an ancestor of every other pointer. */
    json_t *value = detach_value(root, "from", op->from, op->from_len, reason); /* owned */
    if (!value)
        return -1;
    return insert_value(root, op->path, op->path_len, value, reason);
}

static int apply_copy(json_t **root, const struct operation *op, struct buf *reason)
{
    json_t *source = pointer_getn(*root, op->from, op->from_len); /* borrowed */
    if (!source)
        return fail_at(reason, "from", op->from, op->from_len, "does not exist");
    json_t *copy = json_deep_copy(source); /* owned, consumed by insert_value */
    if (!copy)
        return fail(reason, "out of memory copying the value");
    return insert_value(root, op->path, op->path_len, copy, reason);
}

static int apply_test(json_t **root, const struct operation *op, struct buf *reason)
{
    json_t *target = pointer_getn(*root, op->path, op->path_len); /* borrowed */
    if (!target)
        return fail_at(reason, "path", op->path, op->path_len, "does not exist");
    int equal = values_equal(target, op->value);
    if (equal < 0)
        return fail(reason, "out of memory comparing values");
    if (!equal)
        return fail_at(reason, "path", op->path, op->path_len, "value differs");
    return 0;
}

static int apply_operation(json_t **root, const struct operation *op, struct buf *reason)
{
    switch (op->spec->kind) {
    case OP_ADD:
        return apply_add(root, op, reason);
    case OP_REMOVE:
        return apply_remove(root, op, reason);
    case OP_REPLACE:
        return apply_replace(root, op, reason);
    case OP_MOVE:
        return apply_move(root, op, reason);
    case OP_COPY:
        return apply_copy(root, op, reason);
    case OP_TEST:
        return apply_test(root, op, reason);
    }
    return fail(reason, "unknown op");
}

/* ---- entry point ------------------------------------------------------- */

/* The operations to apply: a JSON patch, or the builder's list. */
struct op_source {
    const json_t *json;
    const struct patch *built;
};

static size_t source_count(const struct op_source *src)
{
    return src->built ? patch_count(src->built) : json_array_size(src->json);
}

/* Operation i of the source, checked as strictly either way. */
static int read_operation(const struct op_source *src, size_t i, struct operation *op,
                          struct buf *reason)
{
    if (!src->built)
        return parse_operation(json_array_get(src->json, i), op, reason);
    const struct patch_op *built = &src->built->ops[i];
    op->name = built->value ? "add" : "remove";
    op->name_len = strlen(op->name);
    op->spec = find_spec(op->name, op->name_len);
    op->path = built->path;
    op->path_len = built->path_len;
    op->value = built->value;
    if (!pointer_is_wellformed(op->path, op->path_len))
        return fail_at(reason, "path", op->path, op->path_len, "not a valid JSON pointer");
    return 0;
}

static json_t *apply_source(const json_t *doc, const struct op_source *src, char *err,
                            size_t errlen)
{
    if (err && errlen > 0)
        err[0] = '\0';
    if (!doc || (!src->built && !json_is_array(src->json))) {
        if (err && errlen > 0)
            snprintf(err, errlen, "%s", doc ? "patch is not a JSON array" : "no document");
        return NULL;
    }
    /*
     * Atomicity: every operation edits the result, which shares with doc only
     * what no operation changed (copy on write), and is dropped on failure.
     */
    json_t *result = json_incref((json_t *)doc); /* owned */
    struct buf reason = BUF_INIT;
    for (size_t i = 0; i < source_count(src); i++) {
        struct operation op = {0};
        if (read_operation(src, i, &op, &reason) != 0 ||
            apply_operation(&result, &op, &reason) != 0) {
            report_failure(err, errlen, i, &op, &reason);
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

json_t *patch_apply(const json_t *doc, const json_t *patch, char *err, size_t errlen)
{
    const struct op_source src = {patch, NULL};
    return apply_source(doc, &src, err, errlen);
}

json_t *patch_apply_built(const json_t *doc, const struct patch *patch, char *err, size_t errlen)
{
    const struct op_source src = {NULL, patch};
    return apply_source(doc, &src, err, errlen);
}
