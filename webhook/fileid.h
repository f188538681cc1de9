/*
 * fileid.h - whether a file changed, as stat(2) through its path tells.
 *
 * Owns struct file_id: device, inode, size, modification and change times,
 * and whether the file exists. Any difference means the file changed; a
 * Kubernetes ConfigMap or Secret volume's update swaps its ..data symlink,
 * so the path then leads to another inode. The configuration's reloads
 * (confstore.h), the registry credentials' (keyring.h) and the serving certificate's (tlsstore.h)
 * all watch files this way.
 */
#ifndef GOINJECT_FILEID_H
#define GOINJECT_FILEID_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

struct file_id {
    bool exists;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
};

/* The file at path as it is now; exists is false when stat fails (errno says why). */
struct file_id file_id_of(const char *path);
bool file_id_same(const struct file_id *a, const struct file_id *b);

#endif
