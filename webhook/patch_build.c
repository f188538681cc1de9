/* patch_build.c - explicit RFC 6902 operations; see patch_build.h. */
#include "patch_build.h"

#include <string.h>

#include "buf.h"
#include "pointer.h"

int patch_init(struct patch *p)
{
    p->ops = json_array();
    return p->ops ? 0 : -1;
}

void patch_free(struct patch *p)
{
    json_decref(p->ops);
    p->ops = NULL;
}

size_t patch_count(const struct patch *p)
{
    return json_array_size(p->ops);
}

/* {"op": name, "path": path} appended to the list; json_pack costs more than the rest. */
static json_t *new_op(struct patch *p, const char *name, const char *path)
{
    json_t *op = json_object();
    if (!op)
        return NULL;
    if (json_object_set_new_nocheck(op, "op", json_string_nocheck(name)) != 0 ||
        json_object_set_new(op, "path", json_string(path)) != 0) {
        json_decref(op);
        return NULL;
    }
    return json_array_append_new(p->ops, op) == 0 ? op : NULL; /* borrowed: the list owns it */
}

int patch_add(struct patch *p, const char *path, json_t *value)
{
    json_t *op = new_op(p, "add", path);
    if (!op) {
        json_decref(value);
        return -1;
    }
    return json_object_set_new_nocheck(op, "value", value);
}

int patch_remove(struct patch *p, const char *path)
{
    return new_op(p, "remove", path) ? 0 : -1;
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
