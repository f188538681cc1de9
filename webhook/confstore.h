/*
 * confstore.h - the configuration `goinject serve` runs with, reloaded when its file changes.
 *
 * Owns the configuration in service and its replacements. A review takes a
 * reference for its whole run (confstore_acquire: a mutex held for a pointer
 * copy and an increment) and drops it when done (config_ref_release). A
 * reload parses and validates the new file completely before it swaps the
 * pointer under the same mutex, so every review sees exactly one whole
 * configuration; the old one is freed by whoever drops its last reference.
 *
 * A change is noticed by stat(2) through the path (device, inode, size,
 * modification and change times), which also sees a ConfigMap volume's
 * update: the kubelet writes a new directory and swaps the ..data symlink,
 * so the path then leads to a new inode. A file that cannot be read or is
 * invalid leaves the old configuration in service; it is tried again only
 * when the file changes again.
 */
#ifndef GOINJECT_CONFSTORE_H
#define GOINJECT_CONFSTORE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct config_ref {
    struct goinject_config *cfg; /* owned; never changed while referenced */
    struct confstore *store;     /* borrowed; its mutex guards refs */
    int refs;
};

struct confstore;

/*
 * Loads path (NULL: the defaults, never reloaded) with mode (NULL: the
 * file's) overriding the file's mode now and on every reload. NULL with a
 * one-line reason in err when the first load fails.
 */
struct confstore *confstore_open(const char *path, const char *mode, char *err, size_t errlen);
/* The configuration in service; release it with config_ref_release. */
struct config_ref *confstore_acquire(struct confstore *store);
void config_ref_release(struct config_ref *ref);

enum confstore_result { CONFSTORE_UNCHANGED, CONFSTORE_RELOADED, CONFSTORE_REJECTED };
/*
 * Reloads when the file changed (or always, when force). REJECTED leaves
 * the old configuration in service and puts the reason in err.
 */
enum confstore_result confstore_check(struct confstore *store, bool force, char *err,
                                      size_t errlen);
/*
 * Frees the store and drops its reference to the configuration in service.
 * Every other reference must have been released before.
 */
void confstore_free(struct confstore *store);

#endif
