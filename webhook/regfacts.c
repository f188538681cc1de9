/* regfacts.c - image facts from registries: lookups, workers, caches; see regfacts.h. */
#include "regfacts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "buf.h"
#include "image.h"
#include "imagefacts.h"
#include "imageref.h"
#include "keyring.h"
#include "kubesecrets.h"
#include "log.h"
#include "lru.h"
#include "metrics.h"
#include "platform.h"
#include "spool.h"

#define SECRETS_TEXT_MAX (KUBESECRETS_MAX_NAMES * (KUBESECRETS_NAME_MAX + 1) + 80)
/* A lookup's key: the reference, its platforms and the pull secrets it may use. */
#define KEY_MAX         (IMAGE_REF_TEXT_MAX + 128 + SECRETS_TEXT_MAX)
#define AUTH_BACKOFF_MS 60000
#define MIN_BACKOFF_MS  2000
#define MAX_BACKOFF_MS  60000
#define MAX_RETRY_MS    600000 /* a Retry-After longer than this is cut */
#define DEFAULT_429_MS  30000

/* ---- cached values --------------------------------------------------------------------- */

struct known {
    struct catalog_facts facts;
    char digest[REG_DIGEST_MAX];
};

struct failure {
    enum regfacts_result result;
    char reason[REG_REASON_MAX];
    unsigned count;    /* failures in a row, for the backoff */
    uint64_t until_ms; /* no new lookup before this */
};

static void free_known(void *v)
{
    struct known *k = v;
    if (k)
        catalog_facts_free(&k->facts);
    free(k);
}

/* A deep copy of facts (jansson allocates in the caller's arena during a review). */
static void facts_copy(struct catalog_facts *dst, const struct catalog_facts *src)
{
    dst->static_go = src->static_go;
    dst->cgo = src->cgo;
    dst->shell = src->shell ? strdup(src->shell) : NULL;
    dst->libc = src->libc ? strdup(src->libc) : NULL;
    /* Heap copies, also inside a lookup's arena scope: the caches outlive it. */
    dst->entrypoint = arena_export(src->entrypoint);
    dst->cmd = arena_export(src->cmd);
    dst->user = src->user ? strdup(src->user) : NULL;
}

/* ---- lookups ------------------------------------------------------------------------------ */

struct job {
    char key[KEY_MAX];     /* reference + platforms: lookups, failures */
    char tag_key[KEY_MAX]; /* reference without digest: the tag cache */
    struct image_ref ref;
    struct platform_set platforms;
    char platforms_text[128];
    struct reg_settings *settings; /* held */
    char *credentials_file;        /* owned */
    struct pull_secrets secrets;   /* the pod's, read through the API; count 0 when none */
    unsigned tag_ttl_s;
    uint64_t started_ms;
    int holders; /* the queue or worker, and each waiting review */
    bool done;
    /* The outcome, set by the worker before done: */
    enum regfacts_status status;
    enum regfacts_result result;
    char digest[REG_DIGEST_MAX];
    char reason[REG_REASON_MAX];
    struct catalog_facts facts;
    struct job *next_queued, *next_active;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t work;     /* a job was queued, or stopping */
    pthread_cond_t done;     /* a job finished (CLOCK_MONOTONIC) */
    pthread_mutex_t analyse; /* one image analysed at a time: it holds a binary in memory */
    struct job *queue_head, *queue_tail;
    struct job *active; /* queued or running */
    size_t nactive;
    struct lru tags, known, failures;
    pthread_t threads[REGFACTS_WORKERS];
    unsigned nthreads;
    bool stopping;
} rf = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .analyse = PTHREAD_MUTEX_INITIALIZER,
    .tags = LRU_INIT(REGFACTS_TAG_ENTRIES, free),
    .known = LRU_INIT(REGFACTS_FACT_ENTRIES, free_known),
    .failures = LRU_INIT(REGFACTS_FAIL_ENTRIES, free),
};

static void job_free(struct job *j)
{
    reg_settings_drop(j->settings);
    free(j->credentials_file);
    catalog_facts_free(&j->facts);
    free(j);
}

/* Drops one holder; the last frees the job. Called with rf.lock held. */
static void job_release(struct job *j)
{
    if (--j->holders == 0)
        job_free(j);
}

const char *regfacts_result_name(enum regfacts_result r)
{
    static const char *const names[RESULT_COUNT] = {"hit",       "miss",         "timeout", "auth",
                                                    "not-found", "rate-limited", "error"};
    return r < RESULT_COUNT ? names[r] : "error";
}

/* ---- one lookup ---------------------------------------------------------------------------- */

struct run {
    struct job *job;
    struct reg_conn *conn;
    struct reg_target target;
    struct reg_error error;
};

static enum regfacts_result result_of(enum reg_result r)
{
    switch (r) {
    case REG_AUTH:
        return RESULT_AUTH;
    case REG_NOT_FOUND:
        return RESULT_NOT_FOUND;
    case REG_RATE_LIMITED:
        return RESULT_RATE_LIMITED;
    case REG_TIMEOUT:
        return RESULT_TIMEOUT;
    default:
        return RESULT_ERROR;
    }
}

/* A lookup that fails for a reason of its own (not the registry's answer). */
static int run_fail(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run_fail(struct run *r, const char *fmt, ...)
{
    va_list ap;
    r->error.result = REG_INVALID;
    r->error.status = 0;
    r->error.retry_after = -1;
    va_start(ap, fmt);
    vsnprintf(r->error.message, sizeof(r->error.message), fmt, ap);
    va_end(ap);
    return -1;
}

static bool is_index(const char *media, const json_t *doc)
{
    const char *m = json_string_value(json_object_get(doc, "mediaType"));
    if (!m)
        m = media;
    return (m && (strstr(m, "image.index") || strstr(m, "manifest.list"))) ||
           (!json_object_get(doc, "layers") && json_is_array(json_object_get(doc, "manifests")));
}

/*
 * Replaces a compressed layer of the spool by its tar: the image's files
 * are then read where they lie, instead of decompressing the layer again
 * from its start for each one. *unpacked counts the image's tar bytes.
 */
static int unpack_layer(struct run *r, const struct spool *s, const char *digest, int fd,
                        uint64_t size, uint64_t *unpacked)
{
    struct source src;
    struct reader rd;
    char tmp[420], final[400], chunk[65536];
    source_from_fd(&src, fd, size);
    if (reader_open(&rd, &src) != 0)
        return run_fail(r, "layer %.19s: %s", digest, rd.error);
    if (rd.codec == READER_PLAIN) {
        reader_close(&rd);
        *unpacked += size;
        return *unpacked > REGFACTS_MAX_UNPACKED_BYTES
                   ? run_fail(r, "the image unpacks to more than %llu bytes",
                              REGFACTS_MAX_UNPACKED_BYTES)
                   : 0;
    }
    snprintf(final, sizeof(final), "%s/blobs/sha256/%s", s->dir, digest + 7);
    snprintf(tmp, sizeof(tmp), "%s.tar", final);
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    int rc = out < 0 ? run_fail(r, "cannot write to the spool: %s", strerror(errno)) : 0;
    ssize_t n = 0;
    while (rc == 0 && (n = reader_read(&rd, chunk, sizeof(chunk))) > 0) {
        *unpacked += (uint64_t)n;
        if (*unpacked > REGFACTS_MAX_UNPACKED_BYTES)
            rc = run_fail(r, "the image unpacks to more than %llu bytes",
                          REGFACTS_MAX_UNPACKED_BYTES);
        else if (spool_write_all(out, chunk, (size_t)n) != 0)
            rc = run_fail(r, "cannot write to the spool: %s", strerror(errno));
    }
    if (rc == 0 && n < 0)
        rc = run_fail(r, "layer %.19s: %s", digest, rd.error);
    reader_close(&rd);
    if (out >= 0)
        close(out);
    if (rc == 0 && rename(tmp, final) != 0)
        rc = run_fail(r, "cannot write to the spool: %s", strerror(errno));
    if (rc != 0)
        unlink(tmp);
    return rc;
}

/*
 * Fetches the blob named by desc into the spool, verified. A layer
 * (unpacked not NULL) is stored as its tar.
 */
static int fetch_blob(struct run *r, const struct spool *s, const json_t *desc, uint64_t *total,
                      uint64_t *unpacked)
{
    const char *digest = json_string_value(json_object_get(desc, "digest"));
    json_int_t size = json_integer_value(json_object_get(desc, "size"));
    if (!reg_valid_sha256(digest))
        return run_fail(r, "a layer has an unsupported digest");
    uint64_t max = unpacked ? REGFACTS_MAX_LAYER_BYTES : REG_MAX_MANIFEST;
    if (size < 0 || (uint64_t)size > max)
        return run_fail(r, "a %s of %lld bytes is larger than %llu", unpacked ? "layer" : "config",
                        (long long)size, (unsigned long long)max);
    *total += (uint64_t)size;
    if (*total > REGFACTS_MAX_IMAGE_BYTES)
        return run_fail(r, "the image's layers are larger than %llu bytes",
                        REGFACTS_MAX_IMAGE_BYTES);
    if (unpacked && store_take(s, digest, unpacked))
        return *unpacked > REGFACTS_MAX_UNPACKED_BYTES
                   ? run_fail(r, "the image unpacks to more than %llu bytes",
                              REGFACTS_MAX_UNPACKED_BYTES)
                   : 0;
    int fd = spool_create(s, digest);
    if (fd < 0)
        return run_fail(r, "cannot write to the spool: %s", strerror(errno));
    /* A blob larger than its descriptor says is refused as it arrives. */
    int rc = reg_get_blob(r->conn, &r->target, unpacked ? "layer" : "config", digest, fd,
                          (uint64_t)size, &r->error);
    if (rc == 0 && unpacked)
        rc = unpack_layer(r, s, digest, fd, (uint64_t)size, unpacked);
    close(fd);
    if (rc == 0 && unpacked)
        store_keep(s, digest);
    return rc;
}

/*
 * Lays out one image manifest (its bytes in manifest, digest d) in a new
 * spool as an OCI image layout: the manifest, its config and layers, and an
 * index.json naming it (name, when given, as its ref.name). The caller
 * closes the spool, whatever the result.
 */
static int spool_image(struct run *r, const char *digest, const struct buf *manifest,
                       const char *media, const char *name, struct spool *s)
{
    char err[256];
    json_t *doc = json_loadb(manifest->data, manifest->len, 0, NULL);
    json_t *layers = json_object_get(doc, "layers");
    const json_t *config = json_object_get(doc, "config");
    int rc = 0;
    s->dir[0] = '\0';
    if (!json_is_array(layers) || !json_is_object(config))
        rc = run_fail(r, "the manifest has no config or layers (schema 1 is not supported)");
    else if (json_array_size(layers) > IMAGE_MAX_LAYERS)
        rc = run_fail(r, "the image has more than %d layers", IMAGE_MAX_LAYERS);
    else if (spool_open(s, err, sizeof(err)) != 0)
        rc = run_fail(r, "%s", err);
    uint64_t total = 0, unpacked = 0;
    size_t i;
    json_t *layer;
    if (rc == 0)
        rc = fetch_blob(r, s, config, &total, NULL);
    json_array_foreach(layers, i, layer)
    {
        if (rc == 0)
            rc = fetch_blob(r, s, layer, &total, &unpacked);
    }
    json_t *index =
        json_pack("{s:i,s:[{s:s,s:s,s:I}]}", "schemaVersion", 2, "manifests", "mediaType",
                  media[0] ? media : "application/vnd.oci.image.manifest.v1+json", "digest", digest,
                  "size", (json_int_t)manifest->len);
    if (index && name)
        json_object_set_new(json_array_get(json_object_get(index, "manifests"), 0), "annotations",
                            json_pack("{s:s}", "org.opencontainers.image.ref.name", name));
    char *index_text = index ? json_dumps(index, JSON_COMPACT) : NULL;
    char path[128];
    snprintf(path, sizeof(path), "blobs/sha256/%s", digest + 7);
    if (rc == 0 && (spool_write(s, path, manifest->data, manifest->len) != 0 || !index_text ||
                    spool_write(s, "index.json", index_text, strlen(index_text)) != 0))
        rc = run_fail(r, "cannot write to the spool: %s", strerror(errno));
    arena_text_free(index_text);
    json_decref(index);
    json_decref(doc);
    return rc;
}

/* The facts of the image laid out in s, in catalog form. */
static int analyse_spool(struct run *r, const struct spool *s, const char *digest,
                         struct catalog_facts *out)
{
    struct image img;
    struct image_facts f;
    char err[256];
    int rc = 0;
    pthread_mutex_lock(&rf.analyse);
    if (image_open_limited(&img, s->dir, NULL, REGFACTS_MAX_FILES, REGFACTS_MAX_PATH_BYTES, err,
                           sizeof(err)) != 0) {
        rc = run_fail(r, "cannot read the image: %s", err);
    } else {
        image_facts_compute_max(&img, &f, BINARY_MAX_BYTES);
        json_t *rule = image_facts_catalog_rule(&f, NULL, digest);
        memset(out, 0, sizeof(*out));
        out->static_go = out->cgo = -1;
        if (catalog_facts_parse(json_object_get(rule, "facts"), "registry", out, err,
                                sizeof(err)) != 0)
            rc = run_fail(r, "%s", err);
        json_decref(rule);
        image_facts_free(&f);
    }
    image_close(&img);
    pthread_mutex_unlock(&rf.analyse);
    return rc;
}

/* The facts of one platform's image manifest. */
static int platform_facts(struct run *r, const char *digest, const struct buf *manifest,
                          const char *media, struct catalog_facts *out)
{
    struct spool s;
    spool_slot_take();
    int rc = spool_image(r, digest, manifest, media, NULL, &s);
    if (rc == 0)
        rc = analyse_spool(r, &s, digest, out);
    if (s.dir[0])
        spool_close(&s);
    spool_slot_give();
    return rc;
}

static bool same_string(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Keeps in acc only what other agrees with: facts that differ between platforms are unknown. */
static void facts_meet(struct catalog_facts *acc, const struct catalog_facts *other)
{
    if (acc->static_go != other->static_go)
        acc->static_go = -1;
    if (acc->cgo != other->cgo)
        acc->cgo = -1;
    if (!same_string(acc->shell, other->shell)) {
        free(acc->shell);
        acc->shell = NULL;
    }
    if (!same_string(acc->libc, other->libc)) {
        free(acc->libc);
        acc->libc = NULL;
    }
    if (!same_string(acc->user, other->user)) {
        free(acc->user);
        acc->user = NULL;
    }
    if (acc->entrypoint &&
        (!other->entrypoint || !json_equal(acc->entrypoint, other->entrypoint))) {
        json_decref(acc->entrypoint);
        acc->entrypoint = NULL;
    }
    if (acc->cmd && (!other->cmd || !json_equal(acc->cmd, other->cmd))) {
        json_decref(acc->cmd);
        acc->cmd = NULL;
    }
}

/* A copy of the facts cached under key into out (NULL: only whether there are any). */
static bool known_copy(const char *key, struct catalog_facts *out)
{
    pthread_mutex_lock(&rf.lock);
    const struct known *k = lru_get(&rf.known, key, 0);
    if (k && out)
        facts_copy(out, &k->facts);
    pthread_mutex_unlock(&rf.lock);
    return k != NULL;
}

/* Caches a copy of facts under key (a manifest's digest, or an index's with its platforms). */
static void known_put(const char *key, const char *digest, const struct catalog_facts *facts)
{
    struct known *kn = calloc(1, sizeof(*kn));
    if (!kn)
        return;
    facts_copy(&kn->facts, facts);
    snprintf(kn->digest, sizeof(kn->digest), "%s", digest);
    pthread_mutex_lock(&rf.lock);
    lru_put(&rf.known, key, kn, 0);
    pthread_mutex_unlock(&rf.lock);
}

/*
 * The facts of one image manifest: from the cache by its digest (whatever
 * index or tag led to it), else fetched, computed and cached.
 */
static int manifest_facts(struct run *r, const char *digest, const struct buf *known_body,
                          const char *known_media, struct catalog_facts *out)
{
    if (known_copy(digest, out))
        return 0;
    struct buf body = BUF_INIT;
    char media[REG_MEDIA_MAX] = "";
    int rc = 0;
    if (!known_body) {
        rc = reg_get_manifest(r->conn, &r->target, digest, &body, media, &r->error);
        known_body = &body;
        known_media = media;
    }
    if (rc == 0)
        rc = platform_facts(r, digest, known_body, known_media, out);
    if (rc == 0)
        known_put(digest, digest, out);
    buf_free(&body);
    return rc;
}

/* The facts for every platform of the job, from an index at top. */
static int index_facts(struct run *r, const json_t *index, struct catalog_facts *out)
{
    struct job *j = r->job;
    for (unsigned i = 0; i < j->platforms.count; i++) {
        const struct platform *p = &j->platforms.items[i];
        const json_t *desc = platform_choose(index, p);
        const char *digest = json_string_value(json_object_get(desc, "digest"));
        if (!desc)
            return run_fail(r, "the image has no manifest for %s/%s%s%s", p->os, p->arch,
                            p->variant[0] ? "/" : "", p->variant);
        struct catalog_facts f;
        int rc = manifest_facts(r, digest, NULL, NULL, &f);
        if (rc != 0) {
            if (i > 0)
                catalog_facts_free(out);
            return -1;
        }
        if (i == 0) {
            *out = f;
        } else {
            facts_meet(out, &f);
            catalog_facts_free(&f);
        }
    }
    return 0;
}

/* Replaces f's JSON values by heap copies: what the lookup's arena made ends with its scope. */
static void facts_to_heap(struct catalog_facts *f)
{
    json_t *entrypoint = arena_export(f->entrypoint), *cmd = arena_export(f->cmd);
    json_decref(f->entrypoint); /* frees a heap value; an arena one goes with the scope */
    json_decref(f->cmd);
    f->entrypoint = entrypoint;
    f->cmd = cmd;
}

/* The facts of the manifest or index at digest. */
static int digest_facts_scoped(struct run *r, const char *digest, struct catalog_facts *out)
{
    struct buf body = BUF_INIT;
    char media[REG_MEDIA_MAX];
    int rc = reg_get_manifest(r->conn, &r->target, digest, &body, media, &r->error);
    json_t *doc = rc == 0 ? json_loadb(body.data, body.len, 0, NULL) : NULL;
    if (rc == 0 && !json_is_object(doc))
        rc = run_fail(r, "the manifest is not a JSON object");
    else if (rc == 0 && is_index(media, doc))
        rc = index_facts(r, doc, out);
    else if (rc == 0)
        rc = manifest_facts(r, digest, &body, media, out);
    json_decref(doc);
    buf_free(&body);
    return rc;
}

/*
 * The same, with the JSON the registry sends (manifests, index, config) and
 * the facts made from it held in an arena of at most REGFACTS_ARENA_MAX:
 * jansson's values cost many times their text, and the registry chooses the
 * text. out holds heap values only, whatever the result.
 */
static int digest_facts(struct run *r, const char *digest, struct catalog_facts *out)
{
    arena_begin_max(REGFACTS_ARENA_MAX);
    int rc = digest_facts_scoped(r, digest, out);
    if (arena_exhausted())
        rc = run_fail(r, "the image's manifests and config need more than %u MiB of memory to read",
                      REGFACTS_ARENA_MAX >> 20);
    if (rc == 0) {
        facts_to_heap(out);
    } else {
        catalog_facts_free(out);
    }
    arena_end();
    return rc;
}

/* Runs the job's lookup (no lock held); the outcome goes into the job and the caches. */
/*
 * The credentials a job uses: the pod's pull secrets first (as the kubelet
 * would), then goinject's own file. Owned by the caller.
 */
static void job_credentials(const struct job *j, uint64_t deadline_ms, struct reg_credentials *out)
{
    char why[200];
    memset(out, 0, sizeof(*out));
    if (j->secrets.count && kubesecrets_credentials(&j->secrets, deadline_ms, out, why,
                                                    sizeof(why)) < (int)j->secrets.count)
        log_msgf(LOG_LEVEL_WARN, "registry lookup of %s: %s", j->ref.repository, why);
    struct keyring *k = keyring_get(j->credentials_file);
    if (k && reg_credentials_append(out, &k->creds) != 0) {
        reg_credentials_free(out);
        log_msgf(LOG_LEVEL_WARN, "registry lookup of %s: out of memory", j->ref.repository);
    }
    keyring_drop(k);
}

static void run_job(struct reg_conn *conn, struct job *j)
{
    struct run r = {.job = j, .conn = conn, .error = {.retry_after = -1}};
    struct reg_credentials creds;
    uint64_t start = reg_now_ms();
    job_credentials(j, start + REGFACTS_JOB_TIMEOUT_MS, &creds);
    reg_conn_bind(conn, j->settings, &creds, start + REGFACTS_JOB_TIMEOUT_MS);
    reg_target_for(j->settings, &j->ref, &r.target);
    char digest[REG_DIGEST_MAX] = "";
    bool from_tag_cache = false;
    int rc = 0;
    if (j->ref.digest[0]) {
        snprintf(digest, sizeof(digest), "%s", j->ref.digest);
    } else {
        pthread_mutex_lock(&rf.lock);
        const char *cached = lru_get(&rf.tags, j->tag_key, start);
        if (cached) {
            snprintf(digest, sizeof(digest), "%s", cached);
            from_tag_cache = true;
        }
        pthread_mutex_unlock(&rf.lock);
        if (!from_tag_cache &&
            (rc = reg_resolve_tag(conn, &r.target, j->ref.tag, digest, &r.error)) == 0) {
            pthread_mutex_lock(&rf.lock);
            lru_put(&rf.tags, j->tag_key, strdup(digest), start + j->tag_ttl_s * 1000ull);
            pthread_mutex_unlock(&rf.lock);
        }
    }
    struct catalog_facts facts = {.static_go = -1, .cgo = -1};
    char key[KEY_MAX];
    snprintf(key, sizeof(key), "%s|%s", digest, j->platforms_text);
    /* A tag newly resolved may name a digest whose facts are known (another tag, an old TTL). */
    bool known = rc == 0 && (known_copy(key, &facts) || known_copy(digest, &facts));
    if (rc == 0)
        metrics_record_facts_cache(1, known);
    if (rc == 0 && !known)
        rc = digest_facts(&r, digest, &facts);
    reg_credentials_free(&creds);
    uint64_t end = reg_now_ms();

    pthread_mutex_lock(&rf.lock);
    snprintf(j->digest, sizeof(j->digest), "%s", digest);
    if (rc == 0) {
        /* A single manifest is cached by its digest alone (manifest_facts); an index with its
         * platforms. */
        struct known *kn = known || lru_get(&rf.known, digest, 0) ? NULL : calloc(1, sizeof(*kn));
        if (kn) {
            facts_copy(&kn->facts, &facts);
            snprintf(kn->digest, sizeof(kn->digest), "%s", digest);
            lru_put(&rf.known, key, kn, 0);
        }
        lru_remove(&rf.failures, j->key);
        j->facts = facts;
        j->status = REGFACTS_FETCHED;
        j->result = RESULT_MISS;
    } else {
        const struct failure *old = lru_get(&rf.failures, j->key, 0);
        unsigned count = old ? old->count + 1 : 1;
        struct failure *f = calloc(1, sizeof(*f));
        uint64_t wait = MIN_BACKOFF_MS << (count > 5 ? 5 : count - 1);
        if (wait > MAX_BACKOFF_MS)
            wait = MAX_BACKOFF_MS;
        if (r.error.result == REG_AUTH || r.error.result == REG_NOT_FOUND)
            wait = AUTH_BACKOFF_MS;
        else if (r.error.result == REG_RATE_LIMITED)
            wait = r.error.retry_after >= 0 ? (uint64_t)r.error.retry_after * 1000 : DEFAULT_429_MS;
        if (wait > MAX_RETRY_MS)
            wait = MAX_RETRY_MS;
        j->status = REGFACTS_FAILED;
        j->result = result_of(r.error.result);
        snprintf(j->reason, sizeof(j->reason), "%s", r.error.message);
        if (f) {
            f->result = j->result;
            f->count = count;
            f->until_ms = end + wait;
            snprintf(f->reason, sizeof(f->reason), "%s", r.error.message);
            /* The entry outlives its backoff so that the next failure doubles it. */
            lru_put(&rf.failures, j->key, f, end + wait + MAX_BACKOFF_MS * 4);
        }
        catalog_facts_free(&facts);
    }
    pthread_mutex_unlock(&rf.lock);

    json_t *fields =
        json_pack("{s:s,s:s,s:s,s:s,s:b,s:I,s:I}", "image", j->ref.repository, "registry",
                  r.target.host, "platforms", j->platforms_text, "result",
                  rc == 0 ? "ok" : regfacts_result_name(j->result), "tagCached", from_tag_cache,
                  "ms", (json_int_t)(end - start), "bytes", (json_int_t)reg_conn_bytes(conn));
    if (fields && digest[0])
        json_object_set_new(fields, "digest", json_string(digest));
    if (fields && rc != 0)
        json_object_set_new(fields, "error", log_safe_string(r.error.message, 200));
    log_event(rc == 0 ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, "registry lookup", fields);
}

/* ---- workers ----------------------------------------------------------------------------------
 */

static void unlink_active(struct job *j)
{
    for (struct job **p = &rf.active; *p; p = &(*p)->next_active)
        if (*p == j) {
            *p = j->next_active;
            rf.nactive--;
            return;
        }
}

static void *worker(void *arg)
{
    struct reg_conn *conn = reg_conn_new();
    pthread_mutex_lock(&rf.lock);
    for (;;) {
        while (!rf.stopping && !rf.queue_head)
            pthread_cond_wait(&rf.work, &rf.lock);
        if (rf.stopping)
            break;
        struct job *j = rf.queue_head;
        rf.queue_head = j->next_queued;
        if (!rf.queue_head)
            rf.queue_tail = NULL;
        pthread_mutex_unlock(&rf.lock);
        if (conn)
            run_job(conn, j);
        pthread_mutex_lock(&rf.lock);
        if (!conn) {
            j->status = REGFACTS_FAILED;
            j->result = RESULT_ERROR;
            snprintf(j->reason, sizeof(j->reason), "out of memory");
        }
        j->done = true;
        unlink_active(j);
        pthread_cond_broadcast(&rf.done);
        job_release(j);
    }
    pthread_mutex_unlock(&rf.lock);
    reg_conn_free(conn);
    return arg;
}

int regfacts_start(void)
{
    pthread_condattr_t attr;
    if (rf.nthreads)
        return 0;
    if (reg_global_init() != 0)
        return -1;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&rf.done, &attr);
    pthread_cond_init(&rf.work, NULL);
    pthread_condattr_destroy(&attr);
    rf.stopping = false;
    sweep_leftovers();
    store_open();
    /*
     * The workers take no signals: they start before the server blocks SIGTERM
     * for its own thread to wait for it, and a SIGTERM the kernel gave a worker
     * would end the process at once, without the drain (nor removing spools).
     */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (unsigned i = 0; i < REGFACTS_WORKERS; i++) {
        if (pthread_create(&rf.threads[i], NULL, worker, NULL) != 0)
            break;
        rf.nthreads++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rf.nthreads ? 0 : -1;
}

void regfacts_stop(void)
{
    if (!rf.nthreads)
        return;
    pthread_mutex_lock(&rf.lock);
    rf.stopping = true;
    pthread_cond_broadcast(&rf.work);
    pthread_mutex_unlock(&rf.lock);
    reg_abort_all(true);
    /* Workers finish the request they are in (each has its deadline), then stop. */
    for (unsigned i = 0; i < rf.nthreads; i++)
        pthread_join(rf.threads[i], NULL);
    rf.nthreads = 0;
    reg_abort_all(false);
    pthread_mutex_lock(&rf.lock);
    while (rf.queue_head) {
        struct job *j = rf.queue_head;
        rf.queue_head = j->next_queued;
        unlink_active(j);
        j->done = true;
        j->status = REGFACTS_FAILED;
        job_release(j);
    }
    rf.queue_tail = NULL;
    lru_clear(&rf.tags);
    lru_clear(&rf.known);
    lru_clear(&rf.failures);
    pthread_mutex_unlock(&rf.lock);
    store_close();
    keyring_forget();
}

bool regfacts_running(void)
{
    pthread_mutex_lock(&rf.lock);
    bool running = rf.nthreads > 0 && !rf.stopping;
    pthread_mutex_unlock(&rf.lock);
    return running;
}

void regfacts_counts(size_t *tags, size_t *facts, size_t *failures, size_t *layers, size_t *pending)
{
    *layers = store_count();
    pthread_mutex_lock(&rf.lock);
    *tags = lru_count(&rf.tags);
    *facts = lru_count(&rf.known);
    *failures = lru_count(&rf.failures);
    *pending = rf.nactive;
    pthread_mutex_unlock(&rf.lock);
}

/* ---- reviews -------------------------------------------------------------------------------- */

static void answer_failed(struct regfacts_query *q, enum regfacts_result result, const char *why)
{
    q->status = REGFACTS_FAILED;
    snprintf(q->reason, sizeof(q->reason), "%s", why);
    metrics_record_facts_lookup((int)result);
}

/* The job for key, queued now when there is none. Called with rf.lock held. */
static struct job *job_for(const struct registry_config *rc, const struct image_ref *ref,
                           const char *key, const char *tag_key,
                           const struct platform_set *platforms, const char *platforms_text,
                           const struct pull_secrets *secrets)
{
    for (struct job *j = rf.active; j; j = j->next_active)
        if (strcmp(j->key, key) == 0)
            return j;
    if (rf.nactive >= REGFACTS_MAX_JOBS || !rf.nthreads)
        return NULL;
    struct job *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    snprintf(j->key, sizeof(j->key), "%s", key);
    snprintf(j->tag_key, sizeof(j->tag_key), "%s", tag_key);
    snprintf(j->platforms_text, sizeof(j->platforms_text), "%s", platforms_text);
    j->ref = *ref;
    j->platforms = *platforms;
    j->settings = reg_settings_hold(rc->settings);
    j->credentials_file = rc->credentials_file ? strdup(rc->credentials_file) : NULL;
    j->tag_ttl_s = rc->tag_ttl_s;
    if (secrets)
        j->secrets = *secrets;
    j->facts.static_go = j->facts.cgo = -1;
    j->started_ms = reg_now_ms();
    j->holders = 1; /* the queue's, then the worker's */
    j->next_active = rf.active;
    rf.active = j;
    rf.nactive++;
    if (rf.queue_tail)
        rf.queue_tail->next_queued = j;
    else
        rf.queue_head = j;
    rf.queue_tail = j;
    pthread_cond_signal(&rf.work);
    return j;
}

/*
 * Answers q from the caches, or finds the lookup that will. Returns the job
 * to wait for (held), or NULL when q is answered. Called with rf.lock held.
 */
static struct job *start_query(const struct registry_config *rc,
                               const struct platform_set *platforms, const char *platforms_text,
                               const struct pull_secrets *secrets, const char *secrets_text,
                               struct regfacts_query *q, uint64_t now)
{
    struct image_ref ref;
    char err[160], text[IMAGE_REF_TEXT_MAX], key[KEY_MAX], tag_key[KEY_MAX];
    if (!q->image || image_ref_parse(q->image, &ref, err, sizeof(err)) != 0) {
        answer_failed(q, RESULT_ERROR, "not an image reference goinject can read");
        return NULL;
    }
    image_ref_format(&ref, text, sizeof(text));
    /* Lookups with other credentials may see other answers: they are not shared. */
    str_join(key, sizeof(key), text, "|", platforms_text, secrets_text, NULL);
    /* The tag cache's key: the reference without its digest ('@' only starts one). */
    memcpy(tag_key, text, strlen(text) + 1);
    char *at = strchr(tag_key, '@');
    if (at)
        *at = '\0';

    const struct failure *f = lru_get(&rf.failures, key, now);
    if (f && f->until_ms > now) {
        answer_failed(q, f->result, f->reason);
        return NULL;
    }
    const char *digest = ref.digest[0] ? ref.digest : NULL;
    const char *tag = digest ? NULL : lru_get(&rf.tags, tag_key, now);
    if (tag)
        digest = tag;
    metrics_record_facts_cache(0, tag != NULL || ref.digest[0]);
    if (digest) {
        char fkey[KEY_MAX];
        str_join(fkey, sizeof(fkey), digest, "|", platforms_text, NULL);
        const struct known *k = lru_get(&rf.known, fkey, now);
        if (!k)
            k = lru_get(&rf.known, digest, now);
        metrics_record_facts_cache(1, k != NULL);
        if (k) {
            facts_copy(&q->facts, &k->facts);
            snprintf(q->digest, sizeof(q->digest), "%s", k->digest);
            q->status = REGFACTS_HIT;
            metrics_record_facts_lookup(RESULT_HIT);
            return NULL;
        }
    }
    struct job *j = job_for(rc, &ref, key, tag_key, platforms, platforms_text, secrets);
    if (!j) {
        answer_failed(q, RESULT_ERROR,
                      rf.nthreads ? "too many registry lookups in progress"
                                  : "registry lookups are not running in this process");
        return NULL;
    }
    j->holders++;
    return j;
}

static void finish_query(struct regfacts_query *q, struct job *j)
{
    if (!j->done) {
        q->status = REGFACTS_PENDING;
        metrics_record_facts_lookup(RESULT_TIMEOUT);
        return;
    }
    q->status = j->status;
    snprintf(q->digest, sizeof(q->digest), "%s", j->digest);
    if (j->status == REGFACTS_FETCHED) {
        facts_copy(&q->facts, &j->facts);
        metrics_record_facts_lookup(RESULT_MISS);
    } else {
        answer_failed(q, j->result, j->reason);
    }
}

/* "|ns:a,b" for the pull secrets a lookup uses, "" when none. */
static void secrets_text_of(const struct pull_secrets *ps, char *out, size_t len)
{
    struct buf b = BUF_INIT;
    if (ps && ps->count)
        buf_printf(&b, "|%s:", ps->ns);
    for (unsigned i = 0; ps && i < ps->count; i++)
        buf_printf(&b, "%s%s", i ? "," : "", ps->names[i]);
    snprintf(out, len, "%s", b.data ? b.data : "");
    buf_free(&b);
}

void regfacts_lookup(const struct registry_config *rc, const struct platform_set *platforms,
                     const struct pull_secrets *secrets, struct regfacts_query *queries, size_t n,
                     uint64_t deadline_ms)
{
    struct job **jobs = calloc(n ? n : 1, sizeof(*jobs));
    char platforms_text[128], secrets_text[SECRETS_TEXT_MAX];
    secrets_text_of(secrets, secrets_text, sizeof(secrets_text));
    if (!jobs) {
        for (size_t i = 0; i < n; i++)
            answer_failed(&queries[i], RESULT_ERROR, "out of memory");
        return;
    }
    platform_set_text(platforms, platforms_text, sizeof(platforms_text));
    uint64_t now = reg_now_ms();
    pthread_mutex_lock(&rf.lock);
    for (size_t i = 0; i < n; i++) {
        struct regfacts_query *q = &queries[i];
        memset(&q->facts, 0, sizeof(q->facts));
        q->facts.static_go = q->facts.cgo = -1;
        q->digest[0] = q->reason[0] = '\0';
        jobs[i] = start_query(rc, platforms, platforms_text, secrets, secrets_text, q, now);
    }
    struct timespec until = {(time_t)(deadline_ms / 1000), (long)(deadline_ms % 1000) * 1000000};
    for (size_t i = 0; i < n; i++)
        while (jobs[i] && !jobs[i]->done && reg_now_ms() < deadline_ms)
            if (pthread_cond_timedwait(&rf.done, &rf.lock, &until) == ETIMEDOUT)
                break;
    for (size_t i = 0; i < n; i++) {
        if (!jobs[i])
            continue;
        finish_query(&queries[i], jobs[i]);
        job_release(jobs[i]);
    }
    pthread_mutex_unlock(&rf.lock);
    free(jobs);
}

/* ---- one image, for `goinject inspect REF` ------------------------------------------------ */

/* The manifest of ref for platform p: through the index when there is one. */
static int manifest_for(struct run *r, const struct image_ref *ref, const struct platform *p,
                        char *digest, struct buf *body, char *media)
{
    if (ref->digest[0])
        snprintf(digest, REG_DIGEST_MAX, "%s", ref->digest);
    else if (reg_resolve_tag(r->conn, &r->target, ref->tag, digest, &r->error) != 0)
        return -1;
    if (reg_get_manifest(r->conn, &r->target, digest, body, media, &r->error) != 0)
        return -1;
    json_t *doc = json_loadb(body->data, body->len, 0, NULL);
    int rc = 0;
    if (!json_is_object(doc)) {
        rc = run_fail(r, "the manifest is not a JSON object");
    } else if (is_index(media, doc)) {
        const char *child = json_string_value(json_object_get(platform_choose(doc, p), "digest"));
        char chosen[REG_DIGEST_MAX];
        snprintf(chosen, sizeof(chosen), "%s", child ? child : "");
        buf_truncate(body, 0);
        if (!child)
            rc = run_fail(r, "the image has no manifest for %s/%s", p->os, p->arch);
        else
            rc = reg_get_manifest(r->conn, &r->target, chosen, body, media, &r->error);
    }
    json_decref(doc);
    return rc;
}

int regfacts_fetch(const struct registry_config *rc, const char *text, const struct platform *p,
                   char *dir, size_t dirlen, char digest[REG_DIGEST_MAX], char *err, size_t errlen)
{
    struct image_ref ref;
    if (image_ref_parse(text, &ref, err, errlen) != 0)
        return -1;
    if (!rc->settings)
        return errorf(err, errlen, "the registry layer is disabled in the configuration");
    if (reg_global_init() != 0)
        return errorf(err, errlen, "cannot initialise libcurl");
    struct job j = {.platforms = {.items = {*p}, .count = 1}};
    struct run r = {.job = &j, .conn = reg_conn_new(), .error = {.retry_after = -1}};
    if (!r.conn)
        return errorf(err, errlen, "out of memory");
    struct keyring *k = keyring_get(rc->credentials_file);
    reg_conn_bind(r.conn, rc->settings, k ? &k->creds : NULL,
                  reg_now_ms() + REGFACTS_JOB_TIMEOUT_MS);
    reg_target_for(rc->settings, &ref, &r.target);
    struct buf body = BUF_INIT;
    char media[REG_MEDIA_MAX] = "", child[REG_DIGEST_MAX] = "";
    struct spool s = {""};
    int result = manifest_for(&r, &ref, p, digest, &body, media);
    if (result == 0) {
        /* The digest of what was fetched: the platform's manifest. */
        result = reg_sha256_of(body.data, body.len, child) == 0
                     ? spool_image(&r, child, &body, media, text, &s)
                     : run_fail(&r, "cannot compute the manifest's digest");
    }
    if (result == 0)
        snprintf(dir, dirlen, "%s", s.dir);
    else {
        if (s.dir[0])
            spool_close(&s);
        errorf(err, errlen, "%s: %s", text, r.error.message[0] ? r.error.message : "failed");
    }
    buf_free(&body);
    keyring_drop(k);
    reg_conn_free(r.conn);
    return result;
}

void regfacts_spool_remove(const char *dir)
{
    struct spool s;
    snprintf(s.dir, sizeof(s.dir), "%s", dir);
    spool_close(&s);
}
