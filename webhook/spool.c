/* spool.c - lookups' files on disk: spools and the layer store; see spool.h. */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "lru.h"
#include "metrics.h"

static struct {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    unsigned busy;
} spools = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};

int spool_open(struct spool *s, char *err, size_t errlen)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(s->dir, sizeof(s->dir), "%s/goinject-lookup-%ld-XXXXXX", tmp && *tmp ? tmp : "/tmp",
             (long)getpid());
    char sub[300];
    if (!mkdtemp(s->dir))
        return errorf(err, errlen, "cannot create a spool directory: %s", strerror(errno));
    snprintf(sub, sizeof(sub), "%s/blobs", s->dir);
    if (mkdir(sub, 0700) != 0)
        return errorf(err, errlen, "cannot create %s: %s", sub, strerror(errno));
    snprintf(sub, sizeof(sub), "%s/blobs/sha256", s->dir);
    if (mkdir(sub, 0700) != 0)
        return errorf(err, errlen, "cannot create %s: %s", sub, strerror(errno));
    return 0;
}

void spool_close(struct spool *s)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/blobs/sha256", s->dir);
    DIR *d = opendir(path);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/blobs/sha256/%s", s->dir, de->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    snprintf(path, sizeof(path), "%s/blobs/sha256", s->dir);
    rmdir(path);
    snprintf(path, sizeof(path), "%s/blobs", s->dir);
    rmdir(path);
    snprintf(path, sizeof(path), "%s/index.json", s->dir);
    unlink(path);
    rmdir(s->dir);
}

/* A new file of the spool for the blob named digest (sha256:hex, checked by the caller). */
int spool_create(const struct spool *s, const char *digest)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/blobs/sha256/%s", s->dir, digest + 7);
    return open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
}

int spool_write(const struct spool *s, const char *name, const char *data, size_t len)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/%s", s->dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    ssize_t w = write(fd, data, len);
    close(fd);
    return w == (ssize_t)len ? 0 : -1;
}

/* ---- the layer store: unpacked layers kept on disk by digest ----------------------------- */

/*
 * A layer many images share (a distribution's base) is fetched and unpacked
 * once: its tar stays in the store, and a later spool links to it instead
 * of fetching it again. Links keep a file alive for the spool that uses it
 * when the store evicts it. At most STORE_BYTES are kept.
 */
struct stored_layer {
    uint64_t bytes;
    char path[300];
};

static void free_stored_layer(void *v);

static struct {
    pthread_mutex_t lock;
    char dir[256]; /* "" when the store could not be made: lookups then fetch every layer */
    uint64_t bytes;
    struct lru map;
} store = {PTHREAD_MUTEX_INITIALIZER, "", 0, LRU_INIT(STORE_ENTRIES, free_stored_layer)};

static void free_stored_layer(void *v)
{
    struct stored_layer *l = v;
    unlink(l->path);
    store.bytes -= l->bytes;
    free(l);
}

/* Removes the files of dir, then dir (a spool or a store: one level, or blobs/sha256 below). */
static void remove_tree(const char *dir)
{
    struct spool sp;
    snprintf(sp.dir, sizeof(sp.dir), "%s", dir);
    spool_close(&sp);
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[600];
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

/*
 * Spools and stores left by a goinject that died (their names carry its
 * pid): an emptyDir outlives a container's restarts, and would fill up.
 */
void sweep_leftovers(void)
{
    const char *tmp = getenv("TMPDIR");
    const char *base = tmp && *tmp ? tmp : "/tmp";
    DIR *d = opendir(base);
    struct dirent *de;
    char path[600];
    while (d && (de = readdir(d))) {
        long pid = 0;
        if (sscanf(de->d_name, "goinject-lookup-%ld-", &pid) != 1 &&
            sscanf(de->d_name, "goinject-layers-%ld-", &pid) != 1)
            continue;
        if (pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        snprintf(path, sizeof(path), "%s/%s", base, de->d_name);
        remove_tree(path);
    }
    if (d)
        closedir(d);
}

void store_open(void)
{
    const char *tmp = getenv("TMPDIR");
    pthread_mutex_lock(&store.lock);
    snprintf(store.dir, sizeof(store.dir), "%s/goinject-layers-%ld-XXXXXX",
             tmp && *tmp ? tmp : "/tmp", (long)getpid());
    if (!mkdtemp(store.dir)) {
        log_msgf(LOG_LEVEL_WARN, "no layer store (%s): every lookup fetches all its layers",
                 strerror(errno));
        store.dir[0] = '\0';
    }
    pthread_mutex_unlock(&store.lock);
}

void store_close(void)
{
    pthread_mutex_lock(&store.lock);
    lru_clear(&store.map);
    if (store.dir[0])
        remove_tree(store.dir);
    store.dir[0] = '\0';
    pthread_mutex_unlock(&store.lock);
}

/* Links the stored tar of digest into the spool; true (and its size added) when there is one. */
bool store_take(const struct spool *s, const char *digest, uint64_t *unpacked)
{
    char path[400];
    bool taken = false;
    snprintf(path, sizeof(path), "%s/blobs/sha256/%s", s->dir, digest + 7);
    pthread_mutex_lock(&store.lock);
    const struct stored_layer *l = store.dir[0] ? lru_get(&store.map, digest, 0) : NULL;
    if (l && link(l->path, path) == 0) {
        *unpacked += l->bytes;
        taken = true;
    }
    pthread_mutex_unlock(&store.lock);
    metrics_record_facts_cache(2, taken);
    return taken;
}

/* Keeps the spool's tar of digest in the store, evicting the least recently used. */
void store_keep(const struct spool *s, const char *digest)
{
    char path[400];
    struct stat st;
    snprintf(path, sizeof(path), "%s/blobs/sha256/%s", s->dir, digest + 7);
    if (stat(path, &st) != 0 || (uint64_t)st.st_size > STORE_BYTES / 2)
        return; /* a layer that would crowd out the rest is not kept */
    pthread_mutex_lock(&store.lock);
    struct stored_layer *l = NULL;
    if (store.dir[0] && !lru_get(&store.map, digest, 0) && (l = calloc(1, sizeof(*l)))) {
        snprintf(l->path, sizeof(l->path), "%s/%s", store.dir, digest + 7);
        l->bytes = (uint64_t)st.st_size;
        if (link(path, l->path) == 0) {
            store.bytes += l->bytes;
            lru_put(&store.map, digest, l, 0);
            while (store.bytes > STORE_BYTES && lru_drop_oldest(&store.map))
                ;
        } else {
            free(l);
        }
    }
    pthread_mutex_unlock(&store.lock);
}

size_t store_count(void)
{
    pthread_mutex_lock(&store.lock);
    size_t n = lru_count(&store.map);
    pthread_mutex_unlock(&store.lock);
    return n;
}

/* At most SPOOL_SLOTS lookups hold a spool at once: it bounds the disk they use. */
void spool_slot_take(void)
{
    pthread_mutex_lock(&spools.lock);
    while (spools.busy >= SPOOL_SLOTS)
        pthread_cond_wait(&spools.freed, &spools.lock);
    spools.busy++;
    pthread_mutex_unlock(&spools.lock);
}

void spool_slot_give(void)
{
    pthread_mutex_lock(&spools.lock);
    spools.busy--;
    pthread_cond_signal(&spools.freed);
    pthread_mutex_unlock(&spools.lock);
}

int spool_write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, data, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        data += w;
        len -= (size_t)w;
    }
    return 0;
}
