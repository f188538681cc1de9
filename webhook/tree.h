/*
 * tree.h - an in-memory index of a file tree read from tar archives.
 *
 * Owns the nodes (path, type, mode, where the data is, link target) of a
 * flattened image: layers are added in order, a later entry replaces an
 * earlier one, and tree_end_layer applies the layer's whiteouts (.wh.NAME
 * deletes NAME and everything under it in lower layers, .wh..wh..opq hides a
 * directory's lower contents, and a non-directory hides a lower directory's
 * contents). Nothing is extracted: data stays in the archive, located by
 * (layer, offset, size). Memory is bounded by TREE_MAX_NODES and
 * TREE_MAX_PATH_BYTES, or the lower limits a caller sets with tree_limit;
 * past them tree_add fails.
 *
 * Paths are cleaned on the way in: "./", "//" and "." go away, ".." climbs
 * but never above the root, and the root itself is "". Symlinks are resolved
 * inside the tree only: absolute targets start again at the tree's root,
 * ".." stops at the root, and more than TREE_MAX_LINKS links is a loop.
 */
#ifndef GOINJECT_TREE_H
#define GOINJECT_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TREE_MAX_NODES      500000
#define TREE_MAX_PATH_BYTES (64u * 1024 * 1024)
#define TREE_PATH_MAX       4096
#define TREE_MAX_LINKS      40

enum node_type { NODE_FILE, NODE_DIR, NODE_SYMLINK, NODE_OTHER };

struct tree_node {
    const char *path; /* cleaned, no leading '/'; stored in the same allocation */
    const char *link; /* symlink target as written, NULL for other types */
    enum node_type type;
    uint32_t mode;
    uint32_t layer;
    uint64_t offset; /* data position in the layer's (decompressed) stream */
    uint64_t size;
    bool deleted; /* whited out by a later layer */
};

struct tree {
    struct tree_node **slots; /* open addressing; NULL = empty */
    size_t cap;
    size_t count; /* nodes allocated, deleted ones included */
    size_t path_bytes;
    size_t max_nodes, max_path_bytes; /* tree_add's limits; kept by tree_free */
};

/* Cleans path (see above) into out; -1 when the result does not fit. */
int tree_clean_path(const char *path, char *out, size_t outlen);

/* An empty tree with the default limits. */
void tree_init(struct tree *t);
/* Lowers t's limits (values above the defaults are taken as the defaults). */
void tree_limit(struct tree *t, size_t max_nodes, size_t max_path_bytes);
/* Frees every node; the tree is then empty, with its limits. */
void tree_free(struct tree *t);
/* Adds or replaces the node at path (cleaned here). -1 when a limit is reached. */
int tree_add(struct tree *t, const char *path, enum node_type type, uint32_t mode, uint32_t layer,
             uint64_t offset, uint64_t size, const char *link);
/* The live node at a cleaned path, or NULL. */
const struct tree_node *tree_get(const struct tree *t, const char *path);

/* The whiteouts one layer carries, gathered while it is read. */
struct whiteouts {
    struct tree deleted; /* .wh.NAME: NAME and its subtree */
    struct tree opaque;  /* .wh..wh..opq: the directory's lower contents */
    struct tree shadow;  /* non-directories this layer added: a lower subtree under them */
};

void whiteouts_init(struct whiteouts *w);
void whiteouts_free(struct whiteouts *w);
/*
 * Looks at one entry name of layer `layer`: returns true when it is a
 * whiteout marker (recorded in w; the caller must not add it to the tree).
 */
bool whiteouts_note(struct whiteouts *w, const char *path);
/* Records that the layer put a non-directory at path. */
void whiteouts_shadow(struct whiteouts *w, const char *path);
/* Applies the layer's whiteouts to the nodes of lower layers. */
void tree_end_layer(struct tree *t, uint32_t layer, const struct whiteouts *w);

/* Calls fn for every live node; stops when fn returns nonzero and returns that. */
int tree_each(const struct tree *t, int (*fn)(const struct tree_node *node, void *ctx), void *ctx);

enum resolve_result {
    RESOLVE_OK,
    RESOLVE_MISSING,
    RESOLVE_LOOP,
    RESOLVE_NOT_DIR,
    RESOLVE_TOO_LONG
};
/*
 * Resolves path (absolute, or relative to the root) inside the tree,
 * following symlinks in every component, and in the last one only when
 * follow_last. Fills out with the resolved path ("/..." form) and *node with
 * its node (NULL for an implied directory, or when missing).
 */
enum resolve_result tree_resolve(const struct tree *t, const char *path, bool follow_last,
                                 char *out, size_t outlen, const struct tree_node **node);
const char *resolve_result_text(enum resolve_result r);

#endif
