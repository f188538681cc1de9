/* patch_json.c - RFC 6902 patches as JSON, for the tests; see patch_json.h. */
#include "patch_json.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "patch_apply.h"
#include "pointer.h"
#include "pointer_get.h"

static int fail(struct buf *reason, const char *what)
{
    buf_truncate(reason, 0);
    buf_append_str(reason, what);
    return -1;
}

/* ---- equality for "test" --------------------------------------------------------- */

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

/* ---- the four operations the server does not use ------------------------------- */

/*
 * The RFC's replace is a remove and an add at the same place. A member of an
 * object is overwritten where it is, so the object keeps its order; anything
 * else is detached first, which also says why when nothing is there.
 */
static int apply_replace(json_t **root, const struct patch_step *op, struct buf *reason)
{
    json_t *value = json_incref((json_t *)op->value); /* shared (count only); consumed */
    json_t *parent;
    char *key;
    size_t key_len;
    if (op->path_len == 0)
        return patch_insert(root, op->path, op->path_len, value, reason);
    if (pointer_parentn(*root, op->path, op->path_len, &parent, &key, &key_len) == 0) {
        bool member = json_is_object(parent) && json_object_getn(parent, key, key_len);
        free(key);
        if (member)
            return patch_insert(root, op->path, op->path_len, value, reason);
    }
    json_t *old = patch_detach(root, "path", op->path, op->path_len, reason); /* owned */
    if (!old) {
        json_decref(value);
        return -1;
    }
    json_decref(old);
    return patch_insert(root, op->path, op->path_len, value, reason);
}

/* True when from names a proper ancestor of path: a prefix ending at a token boundary. */
static bool is_ancestor(const char *from, size_t from_len, const char *path, size_t path_len)
{
    /* Comparing escaped text is exact: each token has exactly one escaped spelling. */
    return from_len < path_len && memcmp(from, path, from_len) == 0 && path[from_len] == '/';
}

static int apply_move(json_t **root, const struct patch_step *op, struct buf *reason)
{
    if (is_ancestor(op->from, op->from_len, op->path, op->path_len))
        return patch_fail_at(reason, "from", op->from, op->from_len,
                             "cannot move a value into one of its own children");
    if (op->from_len == op->path_len && memcmp(op->from, op->path, op->path_len) == 0) {
        /* Removing and re-adding at the same place changes nothing, if it exists. */
        if (!pointer_getn(*root, op->from, op->from_len))
            return patch_fail_at(reason, "from", op->from, op->from_len, "does not exist");
        return 0;
    }
    /* from is not "" here: "" is an ancestor of every other pointer. */
    json_t *value = patch_detach(root, "from", op->from, op->from_len, reason); /* owned */
    if (!value)
        return -1;
    return patch_insert(root, op->path, op->path_len, value, reason);
}

static int apply_copy(json_t **root, const struct patch_step *op, struct buf *reason)
{
    json_t *source = pointer_getn(*root, op->from, op->from_len); /* borrowed */
    if (!source)
        return patch_fail_at(reason, "from", op->from, op->from_len, "does not exist");
    json_t *copy = json_deep_copy(source); /* owned, consumed by patch_insert */
    if (!copy)
        return fail(reason, "out of memory copying the value");
    return patch_insert(root, op->path, op->path_len, copy, reason);
}

static int apply_test(json_t **root, const struct patch_step *op, struct buf *reason)
{
    json_t *target = pointer_getn(*root, op->path, op->path_len); /* borrowed */
    if (!target)
        return patch_fail_at(reason, "path", op->path, op->path_len, "does not exist");
    int equal = values_equal(target, op->value);
    if (equal < 0)
        return fail(reason, "out of memory comparing values");
    if (!equal)
        return patch_fail_at(reason, "path", op->path, op->path_len, "value differs");
    return 0;
}

/* ---- parsing an operation object ------------------------------------------------ */

struct op_spec {
    const char *name;
    bool needs_value; /* "value" member required (it may be null) */
    bool needs_from;  /* "from" member required */
    int (*apply)(json_t **root, const struct patch_step *op, struct buf *reason);
};

static const struct op_spec OP_SPECS[] = {
    {"add", true, false, patch_step_add},    {"remove", false, false, patch_step_remove},
    {"replace", true, false, apply_replace}, {"move", false, true, apply_move},
    {"copy", false, true, apply_copy},       {"test", true, false, apply_test},
};

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
        return patch_fail_at(reason, member, *ptr, *len, "not a valid JSON pointer");
    return 0;
}

/* Validates element i of the patch; members other than the ones used are ignored. */
static int read_json_op(const void *ops, size_t i, struct patch_step *op, struct buf *reason)
{
    const json_t *object = json_array_get(ops, i);
    if (!json_is_object(object))
        return fail(reason, "not a JSON object");
    json_t *name = json_object_get(object, "op"); /* borrowed */
    if (!json_is_string(name))
        return fail(reason, "\"op\" is missing or not a string");
    op->op = json_string_value(name);
    op->op_len = json_string_length(name);
    const struct op_spec *spec = find_spec(op->op, op->op_len);
    if (!spec)
        return fail(reason, "unknown op");
    op->op_trusted = true; /* one of the names above */
    op->apply = spec->apply;
    if (read_pointer(object, "path", &op->path, &op->path_len, reason) != 0)
        return -1;
    if (spec->needs_from && read_pointer(object, "from", &op->from, &op->from_len, reason) != 0)
        return -1;
    if (spec->needs_value) {
        op->value = json_object_get(object, "value"); /* a JSON null is a value too */
        if (!op->value)
            return fail(reason, "\"value\" is missing");
    }
    return 0;
}

json_t *patch_apply(const json_t *doc, const json_t *patch, char *err, size_t errlen)
{
    if (doc && !json_is_array(patch)) {
        if (err && errlen > 0)
            snprintf(err, errlen, "patch is not a JSON array");
        return NULL;
    }
    return patch_apply_steps(doc, patch, json_array_size(patch), read_json_op, err, errlen);
}

/* ---- the JSON form of a built patch ------------------------------------------------ */

json_t *patch_to_json(const struct patch *p)
{
    json_t *ops = json_array();
    for (size_t i = 0; ops && i < p->count; i++) {
        const struct patch_op *op = &p->ops[i];
        json_t *object =
            op->value ? json_pack("{s:s,s:s%,s:O}", "op", "add", "path", op->path, op->path_len,
                                  "value", op->value)
                      : json_pack("{s:s,s:s%}", "op", "remove", "path", op->path, op->path_len);
        if (json_array_append_new(ops, object) != 0) {
            json_decref(ops);
            ops = NULL;
        }
    }
    return ops;
}
