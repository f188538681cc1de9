/* patch_build.c - explicit RFC 6902 operations; see patch_build.h. */
#include "patch_build.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonout.h"
#include "pointer.h"

static int grow(struct patch *p)
{
    size_t cap = p->cap ? p->cap * 2 : 16;
    struct patch_op *ops = realloc(p->ops, cap * sizeof(*ops));
    if (!ops)
        return -1;
    p->ops = ops;
    p->cap = cap;
    return 0;
}

int patch_init(struct patch *p)
{
    p->ops = NULL;
    p->count = p->cap = 0;
    return 0;
}

void patch_free(struct patch *p)
{
    for (size_t i = 0; i < p->count; i++) {
        free(p->ops[i].path);
        json_decref(p->ops[i].value);
    }
    free(p->ops);
    patch_init(p);
}

size_t patch_count(const struct patch *p)
{
    return p->count;
}

/* Appends an operation; value (may be NULL for "remove") is stolen, on failure too. */
static int push_op(struct patch *p, const char *path, json_t *value, bool remove)
{
    if ((!remove && !value) || (p->count == p->cap && grow(p) != 0)) {
        json_decref(value);
        return -1;
    }
    size_t len = strlen(path);
    char *copy = malloc(len + 1);
    if (!copy) {
        json_decref(value);
        return -1;
    }
    memcpy(copy, path, len + 1);
    p->ops[p->count++] = (struct patch_op){copy, len, value};
    return 0;
}

int patch_add(struct patch *p, const char *path, json_t *value)
{
    return push_op(p, path, value, false);
}

int patch_remove(struct patch *p, const char *path)
{
    return push_op(p, path, NULL, true);
}

int patch_write(struct buf *out, const struct patch *p, const struct jsonout_known *known)
{
    size_t start = out->len;
    int rc = buf_append_char(out, '[');
    for (size_t i = 0; rc == 0 && i < p->count; i++) {
        const struct patch_op *op = &p->ops[i];
        rc = buf_append_str(out, i ? ",{\"op\":" : "{\"op\":") ||
             buf_append_str(out, op->value ? "\"add\",\"path\":" : "\"remove\",\"path\":") ||
             jsonout_write_string(out, op->path, op->path_len);
        if (rc == 0 && op->value)
            rc = buf_append_str(out, ",\"value\":") ||
                 jsonout_write_compact_known(out, op->value, known);
        rc = rc || buf_append_char(out, '}');
    }
    rc = rc || buf_append_char(out, ']');
    if (rc != 0 && out->data)
        buf_truncate(out, start);
    return rc;
}

static int append_key(struct buf *path, const char *key)
{
    return pointer_append_token(path, key, strlen(key));
}

/* Wraps value in objects for keys[from..nkeys-1]: {"k1": {"k2": value}}. */
static json_t *nest(const char *const *keys, size_t from, size_t nkeys, json_t *value)
{
    for (size_t i = nkeys; i-- > from + 1;) {
        json_t *outer = json_object();
        json_object_set_new(outer, keys[i], value);
        value = outer;
    }
    return value;
}

int patch_append_nested(struct patch *p, const json_t *base, const char *base_path,
                        const char *const *keys, size_t nkeys, json_t *values)
{
    struct buf path = BUF_INIT;
    int rc = buf_append_str(&path, base_path);
    const json_t *node = base;
    size_t depth = 0;
    /* Walk down while the next member exists and is not null. */
    while (rc == 0 && depth < nkeys) {
        const json_t *next = json_object_get(node, keys[depth]);
        if (!next || json_is_null(next))
            break;
        bool last = depth + 1 == nkeys;
        if ((last && !json_is_array(next)) || (!last && !json_is_object(next)))
            rc = -1;
        else
            rc = append_key(&path, keys[depth]);
        node = next;
        depth++;
    }
    if (rc == 0 && depth < nkeys) {
        /* Create the missing tail once, holding all the new elements. */
        rc = append_key(&path, keys[depth]);
        if (rc == 0)
            rc = patch_add(p, path.data, nest(keys, depth, nkeys, json_incref(values)));
    } else if (rc == 0) {
        size_t i;
        json_t *value;
        rc = buf_append_str(&path, "/-");
        json_array_foreach(values, i, value)
        {
            if (rc == 0)
                rc = patch_add(p, path.data, json_incref(value));
        }
    }
    json_decref(values);
    buf_free(&path);
    return rc;
}

int patch_set_members(struct patch *p, const json_t *base, const char *base_path, const char *key,
                      json_t *members)
{
    struct buf path = BUF_INIT;
    int rc = buf_append_str(&path, base_path);
    if (rc == 0)
        rc = append_key(&path, key);
    const json_t *target = json_object_get(base, key);
    if (rc == 0 && (!target || json_is_null(target))) {
        rc = patch_add(p, path.data, json_incref(members));
    } else if (rc == 0 && json_is_object(target)) {
        size_t base_len = path.len;
        const char *name;
        json_t *value;
        json_object_foreach(members, name, value)
        {
            buf_truncate(&path, base_len);
            if (rc == 0)
                rc = append_key(&path, name);
            if (rc == 0)
                rc = patch_add(p, path.data, json_incref(value));
        }
    } else {
        rc = -1;
    }
    json_decref(members);
    buf_free(&path);
    return rc;
}
