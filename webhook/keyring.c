/* keyring.c - goinject's own registry credentials, reloaded; see keyring.h. */
#include "keyring.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "fileid.h"
#include "log.h"
#include "registry.h"

#define CREDS_CHECK_MS 1000 /* how often the credentials file is looked at */

static struct {
    pthread_mutex_t lock;
    char *path;
    struct file_id seen; /* the file as of the last look */
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

/* Reloads path when it changed. A file that cannot be read keeps the last good credentials. */
static void keyring_refresh(const char *path, uint64_t now)
{
    bool new_path = !keys.path || strcmp(keys.path, path) != 0;
    if (!new_path && now - keys.checked_ms < CREDS_CHECK_MS)
        return;
    keys.checked_ms = now;
    struct file_id id = file_id_of(path);
    if (!id.exists) {
        if (new_path || keys.seen.exists)
            log_msgf(LOG_LEVEL_WARN, "registry credentials %s: %s", path, strerror(errno));
        keys.seen = id;
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
    if (!new_path && file_id_same(&id, &keys.seen))
        return;
    keys.seen = id;
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
