/* image.c - docker save archives and OCI layouts, flattened in memory; see image.h. */
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "tar.h"

#define MAX_INDEX_DEPTH 4

static void image_init(struct image *img)
{
    memset(img, 0, sizeof(*img));
    img->fd = -1;
    for (size_t i = 0; i < IMAGE_MAX_LAYERS; i++)
        img->layer_fds[i] = -1;
    tree_init(&img->members);
    tree_init(&img->files);
}

void image_close(struct image *img)
{
    if (img->fd >= 0)
        close(img->fd);
    for (size_t i = 0; i < IMAGE_MAX_LAYERS; i++)
        if (img->layer_fds[i] >= 0)
            close(img->layer_fds[i]);
    tree_free(&img->members);
    tree_free(&img->files);
    json_decref(img->config);
    free(img->dir);
    free(img->name);
    free(img->digest);
    image_init(img);
}

bool image_looks_like_tar(const uint8_t *head, size_t len)
{
    if (len < TAR_BLOCK)
        return false;
    unsigned long sum = 0, want = 0;
    for (size_t i = 0; i < TAR_BLOCK; i++)
        sum += (i >= 148 && i < 156) ? ' ' : head[i];
    size_t i = 148;
    while (i < 156 && head[i] == ' ')
        i++;
    for (; i < 156 && head[i] >= '0' && head[i] <= '7'; i++)
        want = want * 8 + (unsigned long)(head[i] - '0');
    return sum == want;
}

/* ---- the archive's own members --------------------------------------------- */

static enum node_type node_type_of(enum tar_type type)
{
    switch (type) {
    case TAR_FILE:
        return NODE_FILE;
    case TAR_DIR:
        return NODE_DIR;
    case TAR_SYMLINK:
        return NODE_SYMLINK;
    default:
        return NODE_OTHER;
    }
}

/* A hard link becomes a copy of its target's node (same data), or "other" when it is missing. */
static int add_hardlink(struct tree *t, const struct tar_entry *e, uint32_t layer)
{
    char target[TREE_PATH_MAX];
    const struct tree_node *node = NULL;
    if (tree_clean_path(e->link, target, sizeof(target)) == 0)
        node = tree_get(t, target);
    if (node && node->type == NODE_FILE)
        return tree_add(t, e->name, NODE_FILE, e->mode, node->layer, node->offset, node->size,
                        NULL);
    return tree_add(t, e->name, NODE_OTHER, e->mode, layer, 0, 0, NULL);
}

static int add_entry(struct tree *t, const struct tar_entry *e, uint32_t layer)
{
    if (e->type == TAR_HARDLINK)
        return add_hardlink(t, e, layer);
    return tree_add(t, e->name, node_type_of(e->type), e->mode, layer, e->offset, e->size, e->link);
}

static int index_archive(struct image *img, char *err, size_t errlen)
{
    struct reader r;
    struct tar_reader tr;
    int rc = 0;
    if (reader_open(&r, &img->src) != 0)
        return errorf(err, errlen, "%s", r.error);
    if (r.codec != READER_PLAIN) {
        bool gzip = r.codec == READER_GZIP;
        reader_close(&r);
        return errorf(err, errlen, "the archive is compressed: decompress it first (%s)",
                      gzip ? "gunzip" : "unzstd");
    }
    tar_init(&tr, &r);
    while ((rc = tar_next(&tr, err, errlen)) == 1) {
        if (add_entry(&img->members, &tr.entry, 0) != 0) {
            rc = errorf(err, errlen, "the archive has too many entries");
            break;
        }
    }
    reader_close(&r);
    return rc;
}

/* ---- members: inside the archive, or files of the layout directory ------------ */

/* A relative path without "..", "." or empty components (what a layout may name). */
static bool clean_relative(const char *rel)
{
    char clean[TREE_PATH_MAX];
    return rel[0] && rel[0] != '/' && tree_clean_path(rel, clean, sizeof(clean)) == 0 &&
           strcmp(clean, rel) == 0;
}

/* Opens dir/rel for reading, refusing anything that resolves outside dir. */
static int open_in_dir(const char *dir, const char *rel, uint64_t *size, char *err, size_t errlen)
{
    char full[PATH_MAX], real_dir[PATH_MAX], real[PATH_MAX];
    struct stat st;
    if (!clean_relative(rel))
        return errorf(err, errlen, "refusing path \"%.200s\" in the image layout", rel);
    if ((size_t)snprintf(full, sizeof(full), "%s/%s", dir, rel) >= sizeof(full) ||
        !realpath(dir, real_dir) || !realpath(full, real))
        return errorf(err, errlen, "%.200s: %s", rel, strerror(errno));
    size_t n = strlen(real_dir);
    if (strncmp(real, real_dir, n) != 0 || real[n] != '/')
        return errorf(err, errlen, "%.200s leads outside the image layout", rel);
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return errorf(err, errlen, "%.200s is not a readable file", rel);
    }
    *size = (uint64_t)st.st_size;
    return fd;
}

/*
 * The bytes of the member rel: a window of the archive, or an opened file
 * of the layout directory (its descriptor in *fd, for the caller to close).
 */
static int member_source(const struct image *img, const char *rel, struct source *out, int *fd,
                         char *err, size_t errlen)
{
    *fd = -1;
    if (img->dir) {
        uint64_t size = 0;
        if ((*fd = open_in_dir(img->dir, rel, &size, err, errlen)) < 0)
            return -1;
        source_from_fd(out, *fd, size);
        return 0;
    }
    char resolved[TREE_PATH_MAX];
    const struct tree_node *node;
    enum resolve_result r =
        tree_resolve(&img->members, rel, true, resolved, sizeof(resolved), &node);
    if (r != RESOLVE_OK || !node || node->type != NODE_FILE)
        return errorf(err, errlen, "%.200s: %s in the archive", rel,
                      r == RESOLVE_OK ? "not a file" : resolve_result_text(r));
    if (source_window(&img->src, node->offset, node->size, out) != 0)
        return errorf(err, errlen, "%.200s lies outside the archive", rel);
    return 0;
}

static bool member_exists(const struct image *img, const char *rel)
{
    char resolved[TREE_PATH_MAX], path[PATH_MAX];
    const struct tree_node *node;
    struct stat st;
    if (img->dir)
        return (size_t)snprintf(path, sizeof(path), "%s/%s", img->dir, rel) < sizeof(path) &&
               stat(path, &st) == 0;
    return tree_resolve(&img->members, rel, true, resolved, sizeof(resolved), &node) ==
               RESOLVE_OK &&
           node;
}

static json_t *read_json(const struct image *img, const char *rel, char *err, size_t errlen)
{
    struct source src;
    int fd;
    if (member_source(img, rel, &src, &fd, err, errlen) != 0)
        return NULL;
    json_t *doc = NULL;
    char *text = src.size <= IMAGE_MAX_JSON ? malloc((size_t)src.size + 1) : NULL;
    if (src.size > IMAGE_MAX_JSON)
        errorf(err, errlen, "%.200s is larger than %u bytes", rel, IMAGE_MAX_JSON);
    else if (!text || source_read_at(&src, 0, text, (size_t)src.size) != 0)
        errorf(err, errlen, "cannot read %.200s", rel);
    else {
        json_error_t jerr;
        doc = json_loadb(text, (size_t)src.size, 0, &jerr);
        if (!doc)
            errorf(err, errlen, "%.200s: invalid JSON: %s", rel, jerr.text);
    }
    free(text);
    if (fd >= 0)
        close(fd);
    return doc;
}

/* ---- layers ----------------------------------------------------------------- */

static int add_layer_source(struct image *img, const char *rel, char *err, size_t errlen)
{
    if (img->nlayers == IMAGE_MAX_LAYERS)
        return errorf(err, errlen, "the image has more than %d layers", IMAGE_MAX_LAYERS);
    int fd;
    if (member_source(img, rel, &img->layers[img->nlayers], &fd, err, errlen) != 0)
        return -1;
    img->layer_fds[img->nlayers++] = fd;
    return 0;
}

/* A later layer's file where a lower layer had a directory hides that directory's contents. */
static void note_shadow(const struct tree *files, struct whiteouts *w, const struct tar_entry *e,
                        uint32_t layer)
{
    char clean[TREE_PATH_MAX];
    if (e->type == TAR_DIR || tree_clean_path(e->name, clean, sizeof(clean)) != 0)
        return;
    const struct tree_node *old = tree_get(files, clean);
    if (old && old->type == NODE_DIR && old->layer < layer)
        whiteouts_shadow(w, clean);
}

static int read_layer_entries(struct image *img, uint32_t layer, struct tar_reader *tr,
                              struct whiteouts *w, char *err, size_t errlen)
{
    int rc;
    while ((rc = tar_next(tr, err, errlen)) == 1) {
        const struct tar_entry *e = &tr->entry;
        if (whiteouts_note(w, e->name))
            continue;
        note_shadow(&img->files, w, e, layer);
        if (add_entry(&img->files, e, layer) != 0)
            return errorf(err, errlen, "the image has more than %zu files or %zu bytes of paths",
                          img->files.max_nodes, img->files.max_path_bytes);
    }
    return rc;
}

static int read_layer(struct image *img, uint32_t layer, char *err, size_t errlen)
{
    struct reader r;
    struct tar_reader tr;
    struct whiteouts w;
    if (reader_open(&r, &img->layers[layer]) != 0)
        return errorf(err, errlen, "layer %u: %s", layer + 1, r.error);
    whiteouts_init(&w);
    tree_limit(&w.deleted, img->files.max_nodes, img->files.max_path_bytes);
    tree_limit(&w.opaque, img->files.max_nodes, img->files.max_path_bytes);
    tree_limit(&w.shadow, img->files.max_nodes, img->files.max_path_bytes);
    tar_init(&tr, &r);
    char why[256] = "";
    int rc = read_layer_entries(img, layer, &tr, &w, why, sizeof(why));
    if (rc == 0)
        tree_end_layer(&img->files, layer, &w);
    else
        errorf(err, errlen, "layer %u: %s", layer + 1, why);
    whiteouts_free(&w);
    reader_close(&r);
    return rc;
}

/* ---- docker save ------------------------------------------------------------- */

static const char *member_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static bool repo_tags_contain(const json_t *entry, const char *want)
{
    size_t i;
    json_t *tag;
    json_array_foreach(json_object_get(entry, "RepoTags"), i, tag)
    {
        if (json_string_value(tag) && strcmp(json_string_value(tag), want) == 0)
            return true;
    }
    return false;
}

static int open_docker(struct image *img, const char *want, char *err, size_t errlen)
{
    json_t *manifest = read_json(img, "manifest.json", err, errlen);
    json_t *entry = json_array_get(manifest, 0);
    size_t i;
    json_t *item;
    int rc = -1;
    img->format = IMAGE_DOCKER_ARCHIVE;
    json_array_foreach(manifest, i, item)
    {
        if (want && repo_tags_contain(item, want))
            entry = item;
    }
    const char *config = member_str(entry, "Config");
    json_t *layers = json_object_get(entry, "Layers");
    if (manifest && (!config || !json_is_array(layers))) {
        errorf(err, errlen, "manifest.json has no Config and Layers");
    } else if (manifest && (img->config = read_json(img, config, err, errlen))) {
        rc = 0;
        json_array_foreach(layers, i, item)
        {
            if (rc == 0 && !json_is_string(item))
                rc = errorf(err, errlen, "manifest.json: Layers[%zu] is not a string", i);
            else if (rc == 0)
                rc = add_layer_source(img, json_string_value(item), err, errlen);
        }
        const char *tag = json_string_value(json_array_get(json_object_get(entry, "RepoTags"), 0));
        if (want || tag)
            img->name = strdup(want ? want : tag);
    }
    json_decref(manifest);
    return rc;
}

/* ---- OCI image layout ------------------------------------------------------------- */

/* "sha256:<64 hex>" (or sha384, sha512) as the blob path it names. */
static int blob_path(const char *digest, char *out, size_t len)
{
    static const struct {
        const char *alg;
        size_t hex;
    } algs[] = {{"sha256", 64}, {"sha384", 96}, {"sha512", 128}};
    const char *colon = digest ? strchr(digest, ':') : NULL;
    for (size_t a = 0; colon && a < sizeof(algs) / sizeof(algs[0]); a++) {
        size_t alen = strlen(algs[a].alg);
        if ((size_t)(colon - digest) != alen || strncmp(digest, algs[a].alg, alen) != 0)
            continue;
        if (strlen(colon + 1) != algs[a].hex ||
            strspn(colon + 1, "0123456789abcdef") != algs[a].hex)
            return -1;
        snprintf(out, len, "blobs/%s/%s", algs[a].alg, colon + 1);
        return 0;
    }
    return -1;
}

static json_t *read_blob(const struct image *img, const char *digest, char *err, size_t errlen)
{
    char path[256];
    if (blob_path(digest, path, sizeof(path)) != 0) {
        errorf(err, errlen, "invalid digest \"%.100s\"", digest ? digest : "");
        return NULL;
    }
    return read_json(img, path, err, errlen);
}

static bool is_index_type(const char *media_type)
{
    return media_type &&
           (strcmp(media_type, "application/vnd.oci.image.index.v1+json") == 0 ||
            strcmp(media_type, "application/vnd.docker.distribution.manifest.list.v2+json") == 0);
}

/* The name a descriptor's annotations give the image (containerd's full name first). */
static const char *ref_name(const json_t *desc)
{
    const json_t *annotations = json_object_get(desc, "annotations");
    const char *full = member_str(annotations, "io.containerd.image.name");
    return full ? full : member_str(annotations, "org.opencontainers.image.ref.name");
}

static bool ref_matches(const json_t *desc, const char *want)
{
    const char *name = ref_name(desc);
    const char *colon = strrchr(want, ':');
    if (!name)
        return false;
    if (strcmp(name, want) == 0)
        return true;
    /* A layout often records just the tag as the ref name. */
    return colon && !strchr(colon, '/') && strcmp(name, colon + 1) == 0;
}

static bool platform_is(const json_t *desc, const char *os, const char *arch)
{
    const json_t *platform = json_object_get(desc, "platform");
    const char *o = member_str(platform, "os"), *a = member_str(platform, "architecture");
    return o && strcmp(o, os) == 0 && (!arch || (a && strcmp(a, arch) == 0));
}

/* From an index's manifests: linux/amd64, else any linux, else the first. */
static const json_t *choose_platform(const json_t *manifests)
{
    size_t i;
    json_t *desc;
    json_array_foreach(manifests, i, desc)
    {
        if (platform_is(desc, "linux", "amd64"))
            return desc;
    }
    json_array_foreach(manifests, i, desc)
    {
        if (platform_is(desc, "linux", NULL))
            return desc;
    }
    return json_array_get(manifests, 0);
}

/* Follows indexes from desc down to an image manifest (owned result). */
static json_t *load_manifest(const struct image *img, const json_t *desc, char *err, size_t errlen)
{
    json_t *doc = NULL;
    for (int depth = 0; depth < MAX_INDEX_DEPTH; depth++) {
        const char *digest = member_str(desc, "digest");
        json_t *next = read_blob(img, digest, err, errlen);
        json_decref(doc);
        doc = next;
        if (!doc)
            return NULL;
        const char *media = member_str(doc, "mediaType");
        if (!is_index_type(media) && !json_is_array(json_object_get(doc, "manifests")))
            return doc;
        desc = choose_platform(json_object_get(doc, "manifests"));
        if (!desc) {
            errorf(err, errlen, "image index %.80s lists no manifests", digest);
            break;
        }
    }
    if (doc)
        errorf(err, errlen, "image indexes nested too deep");
    json_decref(doc);
    return NULL;
}

static int add_oci_layers(struct image *img, const json_t *manifest, char *err, size_t errlen)
{
    size_t i;
    json_t *layer;
    char path[256];
    if (!json_is_array(json_object_get(manifest, "layers")))
        return errorf(err, errlen, "the image manifest has no layers array");
    json_array_foreach(json_object_get(manifest, "layers"), i, layer)
    {
        if (blob_path(member_str(layer, "digest"), path, sizeof(path)) != 0)
            return errorf(err, errlen, "layer %zu has an invalid digest", i + 1);
        if (add_layer_source(img, path, err, errlen) != 0)
            return -1;
    }
    return 0;
}

static int open_oci(struct image *img, const char *want, char *err, size_t errlen)
{
    json_t *index = read_json(img, "index.json", err, errlen);
    json_t *manifests = json_object_get(index, "manifests");
    const json_t *desc = json_array_get(manifests, 0);
    size_t i;
    json_t *item;
    int rc = -1;
    img->format = IMAGE_OCI_LAYOUT;
    json_array_foreach(manifests, i, item)
    {
        if (want && ref_matches(item, want)) {
            desc = item;
            break;
        }
    }
    json_t *manifest = NULL;
    if (index && !desc)
        errorf(err, errlen, "index.json lists no manifests");
    else if (index && (manifest = load_manifest(img, desc, err, errlen))) {
        const char *name = ref_name(desc);
        img->digest = member_str(desc, "digest") ? strdup(member_str(desc, "digest")) : NULL;
        if (want || name)
            img->name = strdup(want ? want : name);
        img->config =
            read_blob(img, member_str(json_object_get(manifest, "config"), "digest"), err, errlen);
        rc = img->config ? add_oci_layers(img, manifest, err, errlen) : -1;
    }
    json_decref(manifest);
    json_decref(index);
    return rc;
}

/* ---- opening ---------------------------------------------------------------------- */

static int open_format(struct image *img, const char *want, char *err, size_t errlen)
{
    int rc;
    if (member_exists(img, "manifest.json"))
        rc = open_docker(img, want, err, errlen);
    else if (member_exists(img, "index.json"))
        rc = open_oci(img, want, err, errlen);
    else
        return errorf(err, errlen,
                      "neither a docker save archive (manifest.json) nor an OCI image "
                      "layout (index.json)");
    if (rc != 0)
        return -1;
    if (!json_is_object(img->config))
        return errorf(err, errlen, "the image config is not a JSON object");
    for (size_t i = 0; i < img->nlayers; i++)
        if (read_layer(img, (uint32_t)i, err, errlen) != 0)
            return -1;
    return 0;
}

int image_open(struct image *img, const char *path, const char *want, char *err, size_t errlen)
{
    return image_open_limited(img, path, want, TREE_MAX_NODES, TREE_MAX_PATH_BYTES, err, errlen);
}

int image_open_limited(struct image *img, const char *path, const char *want, size_t max_files,
                       size_t max_path_bytes, char *err, size_t errlen)
{
    struct stat st;
    image_init(img);
    tree_limit(&img->files, max_files, max_path_bytes);
    if (stat(path, &st) != 0)
        return errorf(err, errlen, "cannot open %.200s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        if (!(img->dir = strdup(path)))
            return errorf(err, errlen, "out of memory");
        return open_format(img, want, err, errlen);
    }
    if ((img->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(img->fd, &st) != 0)
        return errorf(err, errlen, "cannot open %.200s: %s", path, strerror(errno));
    source_from_fd(&img->src, img->fd, (uint64_t)st.st_size);
    if (index_archive(img, err, errlen) != 0)
        return -1;
    return open_format(img, want, err, errlen);
}

/* ---- file data ----------------------------------------------------------------------- */

/* Whether a layer is stored as it is read (no gzip or zstd), so its files lie in it whole. */
static bool layer_is_plain(const struct source *layer)
{
    struct reader r;
    if (reader_open(&r, layer) != 0)
        return false;
    bool plain = r.codec == READER_PLAIN;
    reader_close(&r);
    return plain;
}

/*
 * Points out at want bytes at off in a plain layer: in its memory, or in a
 * read-only mapping of its file. -1 when the file cannot be mapped.
 */
static int map_region(const struct source *layer, uint64_t off, uint64_t want,
                      struct image_bytes *out)
{
    if (layer->fd < 0) {
        out->data = layer->mem + layer->base + off;
        return 0;
    }
    uint64_t start = layer->base + off, page = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t aligned = start - start % page;
    if (start - aligned + want > SIZE_MAX || aligned > (uint64_t)INT64_MAX)
        return -1;
    size_t len = (size_t)(start - aligned + want);
    void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, layer->fd, (off_t)aligned);
    if (m == MAP_FAILED)
        return -1;
    out->map = m;
    out->map_len = len;
    out->data = (const uint8_t *)m + (start - aligned);
    return 0;
}

/* Reads want bytes of node into a fresh heap buffer, decompressing its layer up to them. */
static int read_region(const struct image *img, const struct tree_node *node, uint64_t want,
                       struct image_bytes *out, char *err, size_t errlen)
{
    struct reader r;
    struct buf data = BUF_INIT;
    if (reader_open(&r, &img->layers[node->layer]) != 0)
        return errorf(err, errlen, "%s", r.error);
    int rc = reader_skip(&r, node->offset);
    /* Grown as data arrives, so a size the header merely claims costs no memory. */
    while (rc == 0 && data.len < want) {
        char chunk[65536];
        size_t n = want - data.len < sizeof(chunk) ? (size_t)(want - data.len) : sizeof(chunk);
        if (reader_read_full(&r, chunk, n) != 0 || buf_append(&data, chunk, n) != 0)
            rc = -1;
    }
    if (rc != 0) {
        errorf(err, errlen, "cannot read /%.200s: %s", node->path,
               r.error[0] ? r.error : "out of memory");
        buf_free(&data);
    } else {
        out->heap = (uint8_t *)buf_steal(&data);
        out->data = out->heap;
    }
    reader_close(&r);
    return rc;
}

int image_file_bytes(const struct image *img, const struct tree_node *node, size_t max,
                     struct image_bytes *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (node->type != NODE_FILE || node->layer >= img->nlayers)
        return errorf(err, errlen, "/%.200s is not a regular file", node->path);
    const struct source *layer = &img->layers[node->layer];
    out->truncated = node->size > max;
    uint64_t want = out->truncated ? max : node->size;
    out->len = (size_t)want;
    if (want == 0) {
        out->data = (const uint8_t *)"";
        return 0;
    }
    bool inside = node->offset <= layer->size && want <= layer->size - node->offset;
    if (inside && layer_is_plain(layer) && map_region(layer, node->offset, want, out) == 0)
        return 0;
    return read_region(img, node, want, out, err, errlen);
}

void image_bytes_release(struct image_bytes *b)
{
    if (b->map)
        munmap(b->map, b->map_len);
    free(b->heap);
    memset(b, 0, sizeof(*b));
}
