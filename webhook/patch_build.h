/*
 * patch_build.h - builds RFC 6902 patches as explicit operations.
 *
 * Owns the operation list. Callers describe what to add relative to the
 * document as it was received (borrowed); the builder chooses between
 * creating a missing or null container with its first elements in one "add"
 * and appending to one that exists, and escapes every token per RFC 6901.
 * Values passed in are stolen (the builder takes the reference).
 */
#ifndef GOINJECT_PATCH_BUILD_H
#define GOINJECT_PATCH_BUILD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

struct jsonout_known;

/* One operation: "add" of value at path, or, with no value, "remove" of path. */
struct patch_op {
    char *path; /* owned, escaped per RFC 6901 */
    size_t path_len;
    json_t *value; /* owned reference; NULL for "remove" */
};

/*
 * The list is kept as C structs, not JSON objects: a review builds it, applies
 * it and writes it once, and none of that needs it as a JSON value.
 */
struct patch {
    struct patch_op *ops; /* owned */
    size_t count, cap;
};

int patch_init(struct patch *p);
void patch_free(struct patch *p);
size_t patch_count(const struct patch *p);

/*
 * Appends the RFC 6902 document, [{"op","path"[,"value"]}...], compact: byte for
 * byte what json_dumps writes of it (JSON_COMPACT), copying the known values' text
 * (jsonout.h).
 */
int patch_write(struct buf *out, const struct patch *p, const struct jsonout_known *known);

/* {"op":"add","path":path,"value":value}; value stolen. */
int patch_add(struct patch *p, const char *path, json_t *value);
/* {"op":"remove","path":path}. */
int patch_remove(struct patch *p, const char *path);

/*
 * Appends every element of values (an array, stolen) to the array found by
 * following keys[0..nkeys-1] from base, which lives at base_path in the
 * document. Missing or null objects on the way, and the array itself, are
 * created once by a single "add" holding the nested value. Returns -1 when
 * something on the way exists but has the wrong type.
 */
int patch_append_nested(struct patch *p, const json_t *base, const char *base_path,
                        const char *const *keys, size_t nkeys, json_t *values);

/*
 * Sets every member of members (an object, stolen) in the object base[key],
 * base living at base_path. A missing or null base[key] is created whole.
 */
int patch_set_members(struct patch *p, const json_t *base, const char *base_path, const char *key,
                      json_t *members);

#endif
