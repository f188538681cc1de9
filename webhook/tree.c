/* tree.c - the flattened file tree of an image; see tree.h. */
#include "tree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHITEOUT_PREFIX "wh."
#define OPAQUE_MARKER   ".wh..wh..opq"

/* ---- paths ---------------------------------------------------------------- */

int tree_clean_path(const char *path, char *out, size_t outlen)
{
    size_t len = 0;
    const char *p = path;
    if (outlen == 0)
        return -1;
    while (*p) {
        while (*p == '/')
            p++;
        const char *start = p;
        while (*p && *p != '/')
            p++;
        size_t n = (size_t)(p - start);
        if (n == 0 || (n == 1 && start[0] == '.'))
            continue;
        if (n == 2 && start[0] == '.' && start[1] == '.') {
            while (len > 0 && out[len - 1] != '/')
                len--; /* drop the last component, never more than the root */
            if (len > 0)
                len--;
            continue;
        }
        if (len + (len ? 1 : 0) + n + 1 > outlen)
            return -1;
        if (len)
            out[len++] = '/';
        memcpy(out + len, start, n);
        len += n;
    }
    out[len] = '\0';
    return 0;
}

/* ---- the hash table --------------------------------------------------------- */

static uint64_t hash_path(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

void tree_init(struct tree *t)
{
    memset(t, 0, sizeof(*t));
    t->max_nodes = TREE_MAX_NODES;
    t->max_path_bytes = TREE_MAX_PATH_BYTES;
}

void tree_limit(struct tree *t, size_t max_nodes, size_t max_path_bytes)
{
    t->max_nodes = max_nodes < TREE_MAX_NODES ? max_nodes : TREE_MAX_NODES;
    t->max_path_bytes = max_path_bytes < TREE_MAX_PATH_BYTES ? max_path_bytes : TREE_MAX_PATH_BYTES;
}

void tree_free(struct tree *t)
{
    size_t max_nodes = t->max_nodes, max_path_bytes = t->max_path_bytes;
    for (size_t i = 0; i < t->cap; i++)
        free(t->slots[i]);
    free(t->slots);
    memset(t, 0, sizeof(*t));
    tree_limit(t, max_nodes, max_path_bytes);
}

/* The slot that holds path, or the empty slot where it would go. */
static size_t find_slot(const struct tree *t, const char *path)
{
    size_t mask = t->cap - 1;
    size_t i = (size_t)hash_path(path) & mask;
    while (t->slots[i] && strcmp(t->slots[i]->path, path) != 0)
        i = (i + 1) & mask;
    return i;
}

static int grow(struct tree *t)
{
    size_t cap = t->cap ? t->cap * 2 : 1024;
    struct tree_node **old = t->slots;
    size_t old_cap = t->cap;
    if (!(t->slots = calloc(cap, sizeof(*t->slots)))) {
        t->slots = old;
        return -1;
    }
    t->cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i])
            t->slots[find_slot(t, old[i]->path)] = old[i];
    free(old);
    return 0;
}

static struct tree_node *new_node(const char *path, const char *link)
{
    size_t plen = strlen(path) + 1, llen = link ? strlen(link) + 1 : 0;
    struct tree_node *node = calloc(1, sizeof(*node) + plen + llen);
    if (!node)
        return NULL;
    char *strings = (char *)(node + 1);
    memcpy(strings, path, plen);
    node->path = strings;
    if (link) {
        memcpy(strings + plen, link, llen);
        node->link = strings + plen;
    }
    return node;
}

int tree_add(struct tree *t, const char *path, enum node_type type, uint32_t mode, uint32_t layer,
             uint64_t offset, uint64_t size, const char *link)
{
    char clean[TREE_PATH_MAX];
    if (tree_clean_path(path, clean, sizeof(clean)) != 0)
        return -1;
    size_t bytes = strlen(clean) + (link ? strlen(link) : 0) + 2;
    if (t->count >= t->max_nodes || t->path_bytes + bytes > t->max_path_bytes)
        return -1;
    if ((t->count + 1) * 2 > t->cap && grow(t) != 0)
        return -1;
    struct tree_node *node = new_node(clean, type == NODE_SYMLINK ? link : NULL);
    if (!node)
        return -1;
    node->type = type;
    node->mode = mode;
    node->layer = layer;
    node->offset = offset;
    node->size = size;
    size_t i = find_slot(t, clean);
    if (t->slots[i])
        free(t->slots[i]); /* a later layer replaces the entry */
    else
        t->count++;
    t->slots[i] = node;
    t->path_bytes += bytes;
    return 0;
}

static struct tree_node *lookup(const struct tree *t, const char *path)
{
    if (t->cap == 0)
        return NULL;
    return t->slots[find_slot(t, path)];
}

const struct tree_node *tree_get(const struct tree *t, const char *path)
{
    const struct tree_node *node = lookup(t, path);
    return node && !node->deleted ? node : NULL;
}

int tree_each(const struct tree *t, int (*fn)(const struct tree_node *node, void *ctx), void *ctx)
{
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slots[i] || t->slots[i]->deleted)
            continue;
        int rc = fn(t->slots[i], ctx);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- whiteouts ---------------------------------------------------------------- */

void whiteouts_init(struct whiteouts *w)
{
    tree_init(&w->deleted);
    tree_init(&w->opaque);
    tree_init(&w->shadow);
}

void whiteouts_free(struct whiteouts *w)
{
    tree_free(&w->deleted);
    tree_free(&w->opaque);
    tree_free(&w->shadow);
}

bool whiteouts_note(struct whiteouts *w, const char *path)
{
    char clean[TREE_PATH_MAX], target[TREE_PATH_MAX];
    if (tree_clean_path(path, clean, sizeof(clean)) != 0)
        return false;
    char *slash = strrchr(clean, '/');
    char *base = slash ? slash + 1 : clean;
    if (strncmp(base, "." WHITEOUT_PREFIX, 4) != 0)
        return false;
    if (slash)
        *slash = '\0';
    const char *dir = slash ? clean : "";
    if (strcmp(base, OPAQUE_MARKER) == 0) {
        tree_add(&w->opaque, dir, NODE_OTHER, 0, 0, 0, 0, NULL);
    } else if (strncmp(base, ".wh..wh.", 8) != 0) { /* other .wh..wh.* names are aufs internals */
        size_t dlen = strlen(dir), nlen = strlen(base + 4); /* both parts of clean: they fit */
        memcpy(target, dir, dlen);
        if (dlen)
            target[dlen++] = '/';
        memcpy(target + dlen, base + 4, nlen + 1);
        tree_add(&w->deleted, target, NODE_OTHER, 0, 0, 0, 0, NULL);
    }
    return true;
}

void whiteouts_shadow(struct whiteouts *w, const char *path)
{
    tree_add(&w->shadow, path, NODE_OTHER, 0, 0, 0, 0, NULL);
}

static bool in_set(const struct tree *set, const char *path)
{
    return set->count && lookup(set, path) != NULL;
}

/* True when the whiteouts hide this node of a lower layer. */
static bool hidden(const struct whiteouts *w, const char *path)
{
    char buf[TREE_PATH_MAX];
    if (in_set(&w->deleted, path))
        return true;
    strcpy(buf, path);
    for (;;) { /* every strict ancestor, the root ("") last */
        char *slash = strrchr(buf, '/');
        if (slash)
            *slash = '\0';
        else if (buf[0])
            buf[0] = '\0';
        else
            return false;
        if (in_set(&w->deleted, buf) || in_set(&w->opaque, buf) || in_set(&w->shadow, buf))
            return true;
    }
}

void tree_end_layer(struct tree *t, uint32_t layer, const struct whiteouts *w)
{
    if (!w->deleted.count && !w->opaque.count && !w->shadow.count)
        return;
    for (size_t i = 0; i < t->cap; i++) {
        struct tree_node *node = t->slots[i];
        if (node && !node->deleted && node->layer < layer && hidden(w, node->path))
            node->deleted = true;
    }
}

/* ---- symlink resolution --------------------------------------------------------- */

const char *resolve_result_text(enum resolve_result r)
{
    static const char *const text[] = {"found", "no such file", "too many levels of symbolic links",
                                       "a path component is not a directory", "path too long"};
    return text[r];
}

/* Removes the last component of cur (the root stays the root). */
static void pop_component(char *cur)
{
    char *slash = strrchr(cur, '/');
    if (slash)
        *slash = '\0';
    else
        cur[0] = '\0';
}

/* The components still to walk: a buffer and how far into it the walk is. */
struct pending {
    char text[TREE_PATH_MAX];
    size_t pos;
};

/* pending = target "/" pending; -1 when it does not fit. */
static int prepend(struct pending *p, const char *target)
{
    char joined[TREE_PATH_MAX];
    size_t tlen = strlen(target), rlen = strlen(p->text + p->pos);
    if (tlen + 1 + rlen + 1 > sizeof(joined))
        return -1;
    memcpy(joined, target, tlen);
    joined[tlen] = '/';
    memcpy(joined + tlen + 1, p->text + p->pos, rlen + 1);
    memcpy(p->text, joined, tlen + rlen + 2);
    p->pos = 0;
    return 0;
}

/* Takes the next component into comp (shorter than TREE_PATH_MAX); false when none is left. */
static bool next_component(struct pending *p, char *comp)
{
    const char *s = p->text + p->pos;
    s += strspn(s, "/");
    size_t n = strcspn(s, "/");
    if (n == 0)
        return false;
    memcpy(comp, s, n);
    comp[n] = '\0';
    p->pos = (size_t)(s + n - p->text);
    return true;
}

static bool more_components(const struct pending *p)
{
    const char *s = p->text + p->pos;
    return s[strspn(s, "/")] != '\0';
}

enum resolve_result tree_resolve(const struct tree *t, const char *path, bool follow_last,
                                 char *out, size_t outlen, const struct tree_node **found)
{
    char cur[TREE_PATH_MAX] = "", comp[TREE_PATH_MAX], next[TREE_PATH_MAX];
    struct pending rest = {.pos = 0};
    int links = 0;
    *found = NULL;
    if (strlen(path) >= sizeof(rest.text))
        return RESOLVE_TOO_LONG;
    strcpy(rest.text, path);
    while (next_component(&rest, comp)) {
        if (strcmp(comp, ".") == 0)
            continue;
        if (strcmp(comp, "..") == 0) {
            pop_component(cur);
            continue;
        }
        size_t clen = strlen(cur), plen = strlen(comp);
        if (clen + plen + 2 > sizeof(next))
            return RESOLVE_TOO_LONG;
        memcpy(next, cur, clen);
        if (clen)
            next[clen++] = '/';
        memcpy(next + clen, comp, plen + 1);
        const struct tree_node *node = tree_get(t, next);
        bool last = !more_components(&rest);
        if (node && node->type == NODE_SYMLINK && (!last || follow_last)) {
            if (++links > TREE_MAX_LINKS)
                return RESOLVE_LOOP;
            if (prepend(&rest, node->link) != 0)
                return RESOLVE_TOO_LONG;
            if (node->link[0] == '/')
                cur[0] = '\0'; /* absolute targets start again at the image's root */
            continue;
        }
        if (node && node->type != NODE_DIR && node->type != NODE_SYMLINK && !last)
            return RESOLVE_NOT_DIR;
        strcpy(cur, next);
    }
    if ((size_t)snprintf(out, outlen, "/%s", cur) >= outlen)
        return RESOLVE_TOO_LONG;
    *found = cur[0] ? tree_get(t, cur) : NULL;
    if (!cur[0])
        return RESOLVE_OK; /* the root */
    return *found ? RESOLVE_OK : RESOLVE_MISSING;
}
