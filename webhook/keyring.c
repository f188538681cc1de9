/* keyring.c - goinject's own registry credentials, reloaded; see keyring.h. */
#include "keyring.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "registry.h"

#define CREDS_CHECK_MS 1000 /* how often the credentials file is looked at */

static struct {
    pthread_mutex_t lock;
    char *path;
    struct stat st;
    uint64_t checked_ms;
    struct keyring *current;
} keys = {.lock = PTHREAD_MUTEX_INITIALIZER};

void keyring_drop(struct keyring *k)
{
    if (k && atomic_fetch_sub(&k->refs, 1) == 1) {
        reg_credentials_free(&k->creds);
        free(k);
    }
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Reloads path when it changed. A file that cannot be read keeps the last good credentials. */
static void keyring_refresh(const char *path, uint64_t now)
{
    struct stat st;
    bool new_path = !keys.path || strcmp(keys.path, path) != 0;
    if (!new_path && now - keys.checked_ms < CREDS_CHECK_MS)
        return;
    keys.checked_ms = now;
    if (stat(path, &st) != 0) {
        if (new_path || keys.st.st_ino)
            log_msgf(LOG_LEVEL_WARN, "registry credentials %s: %s", path, strerror(errno));
        memset(&keys.st, 0, sizeof(keys.st));
        if (new_path) {
            /* Remembered, so that a missing file is looked at (and logged) once a second at most.
             */
            free(keys.path);
            keys.path = strdup(path);
            keyring_drop(keys.current);
            keys.current = NULL;
        }
        return;
    }
    if (!new_path && same_file(&st, &keys.st))
        return;
    keys.st = st;
    free(keys.path);
    keys.path = strdup(path);
    struct keyring *k = calloc(1, sizeof(*k));
    char err[256];
    if (!k || reg_credentials_load(path, &k->creds, err, sizeof(err)) != 0) {
        log_msgf(LOG_LEVEL_WARN, "registry credentials not reloaded: %s",
                 k ? err : "out of memory");
        free(k);
        return;
    }
    atomic_init(&k->refs, 1);
    keyring_drop(keys.current);
    keys.current = k;
    log_msgf(LOG_LEVEL_INFO, "registry credentials loaded from %s: %zu registries", path,
             k->creds.count);
}

/* The credentials in force for path (NULL: none), held; drop with keyring_drop. */
struct keyring *keyring_get(const char *path)
{
    if (!path)
        return NULL;
    pthread_mutex_lock(&keys.lock);
    keyring_refresh(path, reg_now_ms());
    struct keyring *k = keys.current;
    if (k)
        atomic_fetch_add(&k->refs, 1);
    pthread_mutex_unlock(&keys.lock);
    return k;
}

void keyring_forget(void)
{
    pthread_mutex_lock(&keys.lock);
    keyring_drop(keys.current);
    keys.current = NULL;
    free(keys.path);
    keys.path = NULL;
    pthread_mutex_unlock(&keys.lock);
}
