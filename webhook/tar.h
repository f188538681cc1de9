/*
 * tar.h - a reader of tar archives from a sequential stream.
 *
 * Owns the per-entry state: the current entry's name and link target, and
 * the pending PAX (path, linkpath, size) and GNU long-name (L, K) records that
 * describe the next entry. Reads ustar, GNU and PAX archives; every header's
 * checksum is verified and every number is checked, so a corrupt or hostile
 * archive is an error with the offset, never an overflow. Names are returned
 * as written (possibly absolute or with ".."): callers must clean them
 * (tree.h does) before they mean anything. Nothing is ever written to disk.
 */
#ifndef GOINJECT_TAR_H
#define GOINJECT_TAR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "source.h"

#define TAR_BLOCK    512
#define TAR_PATH_MAX 4096
/* PAX extended headers larger than this are refused (real ones are a few hundred bytes). */
#define TAR_PAX_MAX (1024 * 1024)
/* Sizes beyond this are not real files: refused before any arithmetic on them. */
#define TAR_SIZE_MAX (1ull << 40)

enum tar_type { TAR_FILE, TAR_HARDLINK, TAR_SYMLINK, TAR_DIR, TAR_OTHER };

struct tar_entry {
    char name[TAR_PATH_MAX];
    char link[TAR_PATH_MAX]; /* symlink or hard link target, "" otherwise */
    enum tar_type type;
    uint32_t mode;   /* permission bits */
    uint64_t size;   /* bytes of data that follow the header */
    uint64_t offset; /* where that data starts in the stream */
};

struct tar_reader {
    struct reader *in; /* borrowed */
    uint64_t data_left;
    uint64_t pad;
    struct tar_entry entry;
    /* What PAX and GNU records said about the next entry. */
    char next_name[TAR_PATH_MAX];
    char next_link[TAR_PATH_MAX];
    uint64_t next_size;
    bool has_next_size;
};

void tar_init(struct tar_reader *t, struct reader *in);
/*
 * Advances to the next entry (skipping whatever of the current one was not
 * read) and fills t->entry. Returns 1 for an entry, 0 at the end of the
 * archive, -1 on a corrupt archive with the reason in err.
 */
int tar_next(struct tar_reader *t, char *err, size_t errlen);

#endif
