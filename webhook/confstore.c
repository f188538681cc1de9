/* confstore.c - the configuration in service and its reloads; see confstore.h. */
#include "confstore.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileid.h"

struct confstore {
    char *path; /* owned; NULL: defaults only */
    char *mode; /* owned; the --mode override, NULL when none */
    pthread_mutex_t lock;
    struct config_ref *current; /* the store's own reference */
    struct file_id seen;        /* the file as of the last load attempt */
};

/* A whole configuration from the file, with the --mode override; NULL with err on failure. */
static struct config_ref *load(const struct confstore *store, char *err, size_t errlen)
{
    struct goinject_config *cfg = config_load(store->path, err, errlen);
    if (!cfg)
        return NULL;
    if (store->mode && config_parse_mode(store->mode, &cfg->mode) != 0) {
        snprintf(err, errlen, "--mode: \"%s\" is not classic or cloud-native", store->mode);
        config_free(cfg);
        return NULL;
    }
    struct config_ref *ref = calloc(1, sizeof(*ref));
    if (!ref) {
        snprintf(err, errlen, "config: out of memory");
        config_free(cfg);
        return NULL;
    }
    ref->cfg = cfg;
    ref->store = (struct confstore *)store;
    ref->refs = 1;
    return ref;
}

struct confstore *confstore_open(const char *path, const char *mode, char *err, size_t errlen)
{
    struct confstore *store = calloc(1, sizeof(*store));
    if (store)
        pthread_mutex_init(&store->lock, NULL);
    if (!store || (path && !(store->path = strdup(path))) ||
        (mode && !(store->mode = strdup(mode)))) {
        snprintf(err, errlen, "config: out of memory");
        confstore_free(store);
        return NULL;
    }
    if (path)
        store->seen = file_id_of(path);
    if (!(store->current = load(store, err, errlen))) {
        confstore_free(store);
        return NULL;
    }
    return store;
}

struct config_ref *confstore_acquire(struct confstore *store)
{
    pthread_mutex_lock(&store->lock);
    struct config_ref *ref = store->current;
    ref->refs++;
    pthread_mutex_unlock(&store->lock);
    return ref;
}

void config_ref_release(struct config_ref *ref)
{
    if (!ref)
        return;
    pthread_mutex_lock(&ref->store->lock);
    bool last = --ref->refs == 0;
    pthread_mutex_unlock(&ref->store->lock);
    if (last) { /* nobody can acquire it any more: it is no longer current */
        config_free(ref->cfg);
        free(ref);
    }
}

enum confstore_result confstore_check(struct confstore *store, bool force, char *err, size_t errlen)
{
    if (!store->path)
        return CONFSTORE_UNCHANGED;
    /* Only the server's main thread checks, so seen needs no lock. */
    struct file_id now = file_id_of(store->path);
    if (!force && file_id_same(&now, &store->seen))
        return CONFSTORE_UNCHANGED;
    store->seen = now;
    struct config_ref *fresh = load(store, err, errlen);
    if (!fresh)
        return CONFSTORE_REJECTED;
    pthread_mutex_lock(&store->lock);
    struct config_ref *old = store->current;
    store->current = fresh;
    pthread_mutex_unlock(&store->lock);
    config_ref_release(old); /* freed here, or by the last review still using it */
    return CONFSTORE_RELOADED;
}

void confstore_free(struct confstore *store)
{
    if (!store)
        return;
    config_ref_release(store->current);
    pthread_mutex_destroy(&store->lock);
    free(store->path);
    free(store->mode);
    free(store);
}
