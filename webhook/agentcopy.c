/* agentcopy.c - copy the agent bundle into the shared volume; see agentcopy.h. */
#include "agentcopy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A bundle is a handful of files; anything deeper is a loop or a mistake. */
#define MAX_DEPTH 16

static int fail(char *err, size_t errlen, const char *what, const char *name)
{
    snprintf(err, errlen, "copy-agent: %s %s: %s", what, name, strerror(errno));
    return -1;
}

static int copy_file(int src_dir, int dst_dir, const char *name, mode_t mode, char *err,
                     size_t errlen)
{
    int in = openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0)
        return fail(err, errlen, "cannot open", name);
    int out =
        openat(dst_dir, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode & 0777);
    if (out < 0) {
        close(in);
        return fail(err, errlen, "cannot create", name);
    }
    char chunk[65536];
    ssize_t n;
    int rc = 0;
    while ((n = read(in, chunk, sizeof(chunk))) > 0) {
        for (ssize_t off = 0; off < n && rc == 0;) {
            ssize_t w = write(out, chunk + off, (size_t)(n - off));
            if (w < 0)
                rc = fail(err, errlen, "cannot write", name);
            else
                off += w;
        }
        if (rc)
            break;
    }
    if (n < 0 && rc == 0)
        rc = fail(err, errlen, "cannot read", name);
    /* The umask must not strip the execute bits tini and the agent need. */
    if (rc == 0 && fchmod(out, mode & 0777) != 0)
        rc = fail(err, errlen, "cannot chmod", name);
    close(in);
    if (close(out) != 0 && rc == 0)
        rc = fail(err, errlen, "cannot close", name);
    return rc;
}

static int copy_link(int src_dir, int dst_dir, const char *name, char *err, size_t errlen)
{
    char target[PATH_MAX];
    ssize_t n = readlinkat(src_dir, name, target, sizeof(target) - 1);
    if (n < 0)
        return fail(err, errlen, "cannot read link", name);
    target[n] = '\0';
    unlinkat(dst_dir, name, 0);
    if (symlinkat(target, dst_dir, name) != 0)
        return fail(err, errlen, "cannot create link", name);
    return 0;
}

static int copy_tree(int src_dir, int dst_dir, int depth, char *err, size_t errlen);

static int copy_subdir(int src_dir, int dst_dir, const char *name, mode_t mode, int depth,
                       char *err, size_t errlen)
{
    if (mkdirat(dst_dir, name, 0755) != 0 && errno != EEXIST)
        return fail(err, errlen, "cannot create directory", name);
    int from = openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int to = openat(dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int rc;
    if (from < 0 || to < 0)
        rc = fail(err, errlen, "cannot open directory", name);
    else
        rc = copy_tree(from, to, depth + 1, err, errlen);
    if (rc == 0 && fchmod(to, mode & 0777) != 0)
        rc = fail(err, errlen, "cannot chmod", name);
    if (from >= 0)
        close(from);
    if (to >= 0)
        close(to);
    return rc;
}

static int copy_entry(int src_dir, int dst_dir, const char *name, int depth, char *err,
                      size_t errlen)
{
    struct stat st;
    if (fstatat(src_dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return fail(err, errlen, "cannot stat", name);
    if (S_ISDIR(st.st_mode))
        return copy_subdir(src_dir, dst_dir, name, st.st_mode, depth, err, errlen);
    if (S_ISREG(st.st_mode))
        return copy_file(src_dir, dst_dir, name, st.st_mode, err, errlen);
    if (S_ISLNK(st.st_mode))
        return copy_link(src_dir, dst_dir, name, err, errlen);
    return 0; /* devices, fifos, sockets: not part of a bundle */
}

static int copy_tree(int src_dir, int dst_dir, int depth, char *err, size_t errlen)
{
    if (depth > MAX_DEPTH) {
        snprintf(err, errlen, "copy-agent: the bundle is nested deeper than %d", MAX_DEPTH);
        return -1;
    }
    int fd = dup(src_dir);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (!dir) {
        if (fd >= 0)
            close(fd);
        return fail(err, errlen, "cannot list", "directory");
    }
    int rc = 0;
    struct dirent *entry;
    while (rc == 0 && (entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        rc = copy_entry(src_dir, dst_dir, entry->d_name, depth, err, errlen);
    }
    closedir(dir);
    return rc;
}

int agent_copy(const char *src, const char *dst, char *err, size_t errlen)
{
    int from = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (from < 0)
        return fail(err, errlen, "cannot open source", src);
    int to = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (to < 0) {
        close(from);
        return fail(err, errlen, "cannot open destination", dst);
    }
    int rc = copy_tree(from, to, 0, err, errlen);
    close(from);
    close(to);
    return rc;
}
