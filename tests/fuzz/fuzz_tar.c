/*
 * fuzz_tar.c - libFuzzer target: an arbitrary buffer as a tar archive (plain,
 * gzip or zstd), every entry indexed into a tree with whiteouts as image
 * layers are, and every symlink resolved.
 */
#include <stdint.h>
#include <string.h>

#include "source.h"
#include "tar.h"
#include "tar_read.h"
#include "tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int resolve_links(const struct tree_node *node, void *ctx)
{
    char out[TREE_PATH_MAX];
    const struct tree_node *found;
    if (node->type == NODE_SYMLINK)
        tree_resolve(ctx, node->path, true, out, sizeof(out), &found);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct source src;
    struct reader r;
    struct tar_reader t;
    struct tree tree;
    struct whiteouts w;
    char err[256], buf[64];
    source_from_memory(&src, data, size);
    if (reader_open(&r, &src) != 0)
        return 0;
    tree_init(&tree);
    whiteouts_init(&w);
    tar_init(&t, &r);
    for (int n = 0; n < 100000 && tar_next(&t, err, sizeof(err)) == 1; n++) {
        if (n % 2)
            tar_read(&t, buf, sizeof(buf));
        if (!whiteouts_note(&w, t.entry.name))
            tree_add(&tree, t.entry.name,
                     t.entry.type == TAR_DIR       ? NODE_DIR
                     : t.entry.type == TAR_SYMLINK ? NODE_SYMLINK
                                                   : NODE_FILE,
                     t.entry.mode, 1, t.entry.offset, t.entry.size, t.entry.link);
    }
    tree_end_layer(&tree, 2, &w);
    tree_each(&tree, resolve_links, &tree);
    whiteouts_free(&w);
    tree_free(&tree);
    reader_close(&r);
    return 0;
}
