/*
 * regfacts.h - the registry facts layer: image facts read from the image's
 * registry, cached, within a budget, failing open.
 *
 * Owns the lookups, the worker threads that run them and three bounded
 * caches:
 *   tags      reference (registry/repository:tag) -> manifest digest, for
 *             tagTTLSeconds;
 *   facts     manifest digest + platforms -> facts, immutable, least recently
 *             used evicted;
 *   failures  reference + platforms -> why it failed, until a backoff ends
 *             (auth and not-found a minute, rate limits their Retry-After,
 *             timeouts and 5xx seconds that double with each failure);
 * and one on disk, the layer store: layer digest -> its unpacked tar, so
 * that a base layer many images share is fetched once (STORE_BYTES,
 * least recently used evicted).
 * A lookup fetches the manifest (an index is resolved to each platform the
 * pod may land on), the config and the layers, verified, into a spool
 * directory laid out as an OCI image layout, and computes the facts with
 * the code `goinject inspect` runs on a layout (image.h, imagefacts.h).
 * Facts that differ between the platforms are unknown.
 *
 * Concurrency: a review asks for all its containers at once and waits for
 * them until one deadline (the pod's budget). Reviews that ask for the same
 * reference and platforms while a lookup runs share it (one manifest
 * request). A lookup not done by the deadline goes on in the background, up
 * to REGFACTS_JOB_TIMEOUT_MS, so the next pod of the image finds its facts
 * in the cache. A review's wait never exceeds its deadline.
 */
#ifndef GOINJECT_REGFACTS_H
#define GOINJECT_REGFACTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "platform.h"
#include "regconfig.h"
#include "registry.h"

#define REGFACTS_WORKERS        4  /* lookups that run at once */
#define REGFACTS_MAX_JOBS       64 /* lookups queued or running; more are refused */
#define REGFACTS_JOB_TIMEOUT_MS 60000
#define REGFACTS_TAG_ENTRIES    4096
#define REGFACTS_FACT_ENTRIES   4096
#define REGFACTS_FAIL_ENTRIES   4096
/*
 * Bounds of what one lookup fetches (a layer, and all the layers of one
 * platform, as the registry sends them) and of the tars they unpack to in
 * its spool. With SPOOL_SLOTS spools at once and the layer store
 * (spool.h), /tmp holds at most SPOOL_SLOTS * REGFACTS_MAX_UNPACKED_BYTES
 * + STORE_BYTES: under 2 GiB, the chart's size limit of that emptyDir.
 */
#define REGFACTS_MAX_LAYER_BYTES    (512ull * 1024 * 1024)
#define REGFACTS_MAX_IMAGE_BYTES    (512ull * 1024 * 1024)
#define REGFACTS_MAX_UNPACKED_BYTES (640ull * 1024 * 1024)
/*
 * What analysing one image may cost in memory (one image is analysed at a
 * time): its file index (tree.h; about 100 bytes a file, plus the paths)
 * and the JSON of its manifests and config, parsed in an arena with this
 * ceiling per lookup (arena.h). The executables are mapped from the
 * unpacked layers in the spool, not read into memory (image.h).
 */
#define REGFACTS_MAX_FILES      200000
#define REGFACTS_MAX_PATH_BYTES (16u * 1024 * 1024)
#define REGFACTS_ARENA_MAX      (8u * 1024 * 1024)

enum regfacts_status {
    REGFACTS_HIT,     /* from the cache */
    REGFACTS_FETCHED, /* looked up within the budget */
    REGFACTS_PENDING, /* still running when the budget ended */
    REGFACTS_FAILED,  /* the registry refused, failed, or the image cannot be read */
};

enum regfacts_result {
    RESULT_HIT,
    RESULT_MISS,
    RESULT_TIMEOUT,
    RESULT_AUTH,
    RESULT_NOT_FOUND,
    RESULT_RATE_LIMITED,
    RESULT_ERROR,
    RESULT_COUNT
};

struct regfacts_query {
    const char *image; /* borrowed: the container's image */
    /* Filled by regfacts_lookup: */
    enum regfacts_status status;
    char digest[REG_DIGEST_MAX]; /* the manifest digest used, "" when unknown */
    char reason[REG_REASON_MAX]; /* why, when FAILED */
    struct catalog_facts facts;  /* owned; unset facts are -1 / NULL */
};

/* Starts the workers; once per process. -1 when they cannot be started. */
int regfacts_start(void);
/* Stops the workers; lookups still running are abandoned. */
void regfacts_stop(void);
/* True between regfacts_start and regfacts_stop: a process that never started it has no registry
 * layer. */
bool regfacts_running(void);

struct pull_secrets;

/*
 * Looks up the facts of each query's image for the platforms, with the
 * pod's pull secrets (NULL: goinject's own credentials only), waiting until
 * deadline_ms (reg_now_ms's clock) at most. Every query gets a status; free
 * each query's facts with catalog_facts_free.
 */
void regfacts_lookup(const struct registry_config *rc, const struct platform_set *platforms,
                     const struct pull_secrets *secrets, struct regfacts_query *queries, size_t n,
                     uint64_t deadline_ms);

const char *regfacts_result_name(enum regfacts_result r);

/*
 * For `goinject inspect REF`: fetches ref's image for platform p (through
 * its index when it has one) into a new spool directory laid out as an OCI
 * image layout, its path into dir, and the digest ref resolved to (the
 * index's, when there is one) into digest. Remove the directory with
 * regfacts_spool_remove. -1 with a reason in err.
 */
int regfacts_fetch(const struct registry_config *rc, const char *ref, const struct platform *p,
                   char *dir, size_t dirlen, char digest[REG_DIGEST_MAX], char *err, size_t errlen);
void regfacts_spool_remove(const char *dir);

/* Entries in each cache (layers: tars in the layer store), and lookups pending, for /metrics. */
void regfacts_counts(size_t *tags, size_t *facts, size_t *failures, size_t *layers,
                     size_t *pending);

#endif
