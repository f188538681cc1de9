/* fileid.c - a file's identity, for noticing changes; see fileid.h. */
#include "fileid.h"

#include <string.h>
#include <sys/stat.h>

struct file_id file_id_of(const char *path)
{
    struct file_id id;
    struct stat st;
    memset(&id, 0, sizeof(id));
    if (stat(path, &st) != 0)
        return id;
    id.exists = true;
    id.dev = st.st_dev;
    id.ino = st.st_ino;
    id.size = st.st_size;
    id.mtime = st.st_mtim;
    id.ctime = st.st_ctim;
    return id;
}

bool file_id_same(const struct file_id *a, const struct file_id *b)
{
    return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
           a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}
