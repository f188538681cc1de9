/*
 * image.h - container images on disk: `docker save` archives and OCI layouts.
 *
 * Owns an opened image: the archive it came from (a tar file or an OCI
 * layout directory), its config JSON, its layers and the flattened tree of
 * their files (tree.h). Formats:
 *   docker save      manifest.json -> Config and Layers paths inside the archive
 *   OCI image layout index.json -> manifest (through nested indexes, choosing
 *                    linux/amd64) -> config and layer blobs (blobs/<alg>/<hex>)
 * Layers may be plain, gzip or zstd tars, told apart by their first bytes
 * (the media type is not trusted; source.h bounds what zstd may cost).
 * Nothing is extracted to disk: file data is mapped from a plain layer, or read
 * on demand (a compressed layer is decompressed again up to the file, into a
 * bounded buffer).
 * Every path taken from the image (manifest entries, digests, symlinks) is
 * confined to the archive or the layout directory.
 */
#ifndef GOINJECT_IMAGE_H
#define GOINJECT_IMAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "source.h"
#include "tree.h"

#define IMAGE_MAX_LAYERS 256
/* Small JSON documents (manifests, configs) larger than this are refused. */
#define IMAGE_MAX_JSON (16u * 1024 * 1024)

enum image_format { IMAGE_DOCKER_ARCHIVE, IMAGE_OCI_LAYOUT };

struct image {
    enum image_format format;
    char *dir;                       /* owned; the OCI layout directory, NULL for an archive */
    int fd;                          /* the archive file, -1 for memory or a directory */
    struct source src;               /* the whole archive */
    struct tree members;             /* the archive's own entries (layer 0 = the archive) */
    int layer_fds[IMAGE_MAX_LAYERS]; /* blobs opened from a layout directory, -1 otherwise */
    struct source layers[IMAGE_MAX_LAYERS];
    size_t nlayers;
    json_t *config;    /* owned; the image configuration */
    char *name;        /* owned; RepoTags[0] or the OCI ref name annotation; NULL when none */
    char *digest;      /* owned; the OCI manifest digest ("sha256:..."); NULL when unknown */
    struct tree files; /* the flattened file tree */
};

/*
 * Opens the image at path (a tar file or an OCI layout directory) and builds
 * its tree. want names the image: the one of several in the archive with
 * that RepoTags entry or ref name is taken (else the first), and it becomes
 * img->name (NULL: the archive's own name, if any). Returns 0, or -1
 * with a one-line reason in err; close the image either way.
 */
int image_open(struct image *img, const char *path, const char *want, char *err, size_t errlen);
/*
 * The same, with lower limits for the file tree: more than max_files
 * entries or max_path_bytes of their paths is an error (a server bounds the
 * memory an image it did not choose may cost; tree.h).
 */
int image_open_limited(struct image *img, const char *path, const char *want, size_t max_files,
                       size_t max_path_bytes, char *err, size_t errlen);

/*
 * A regular file's data, at most the max bytes asked for. Where the file
 * lies whole in a plain layer its bytes are mapped read-only from the layer's
 * file (or pointed to in memory), so even a large executable costs no heap;
 * from a compressed layer they are read into a heap buffer. Owns the mapping
 * or the buffer; image_bytes_release gives it back. A mapping needs its
 * file unchanged while data is used (the spool's files are the server's own;
 * a file cut short under it would end the process with SIGBUS); memory needs
 * the image open.
 */
struct image_bytes {
    const uint8_t *data;
    size_t len;
    bool truncated; /* the file is longer than the max asked for */
    void *map;      /* owned mapping, or NULL */
    size_t map_len;
    uint8_t *heap; /* owned copy, or NULL */
};

/* Fills out (released by the caller either way). Returns 0, or -1 with a reason in err. */
int image_file_bytes(const struct image *img, const struct tree_node *node, size_t max,
                     struct image_bytes *out, char *err, size_t errlen);
void image_bytes_release(struct image_bytes *b);
void image_close(struct image *img);

/* True when data starts like a tar archive (a valid ustar header checksum). */
bool image_looks_like_tar(const uint8_t *head, size_t len);

#endif
