/*
 * registry.h - an OCI distribution client on libcurl: manifests and blobs.
 *
 * Owns:
 *   - struct reg_settings: what every request shares for one configuration
 *     (extra CAs, hosts allowed plain HTTP, the mirror map), immutable once
 *     built;
 *   - struct reg_conn: one curl easy handle, used by one thread at a time,
 *     so that thread's requests reuse their connections (HTTP/2 where the
 *     registry offers it);
 *   - the token cache, shared by every connection (a mutex; bounded).
 * Every request has an absolute deadline and a byte ceiling. Redirects are
 * followed here, not by curl: at most REG_MAX_REDIRECTS, never from https
 * to plain http (unless that host is insecure), and Authorization is sent
 * only to the registry's own origin, never to the host a redirect names.
 * Manifests and blobs are fetched by digest and their sha256 is checked;
 * a mismatch is an error, never a fact.
 */
#ifndef GOINJECT_REGISTRY_H
#define GOINJECT_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "imageref.h"
#include "regauth.h"

#define REG_MAX_REDIRECTS     5
#define REG_MAX_MANIFEST      (4u * 1024 * 1024) /* manifests, indexes and configs */
#define REG_CONNECT_MS        2000
#define REG_DIGEST_MAX        (IMAGE_REF_DIGEST_MAX + 1)
#define REG_MEDIA_MAX         128
#define REG_REASON_MAX        256
#define REG_TOKEN_CACHE       256 /* tokens kept, one per registry and repository */
#define REG_MAX_TOKEN_SECONDS 3600

enum reg_result {
    REG_OK,
    REG_AUTH,         /* 401 or 403 after the credentials we have */
    REG_NOT_FOUND,    /* 404: no such repository, tag or blob */
    REG_RATE_LIMITED, /* 429 */
    REG_TIMEOUT,      /* the deadline passed */
    REG_UNAVAILABLE,  /* 5xx, or the connection failed */
    REG_INVALID,      /* a digest mismatch, a document too large or malformed */
    REG_RESULT_COUNT
};

struct reg_error {
    enum reg_result result;
    long status;      /* the last HTTP status, 0 when none */
    long retry_after; /* seconds, from a 429 or 503; -1 when not given */
    char message[REG_REASON_MAX];
};

struct reg_settings {
    _Atomic int refs;
    struct curl_blob *ca; /* owned; the system bundle and caFile, NULL: curl's default */
    char **insecure;      /* owned; host[:port] allowed plain HTTP */
    size_t ninsecure;
    char **mirror_from, **mirror_to; /* owned; registry -> host that serves it instead */
    size_t nmirrors;
};

/* Where one repository is served: after the mirror map and Docker Hub's API host. */
struct reg_target {
    char registry[IMAGE_REF_REGISTRY_MAX + 1]; /* as the reference names it, for metrics */
    /* The host[:port] requests go to, and whose credentials they carry (a mirror's own). */
    char host[IMAGE_REF_REGISTRY_MAX + 1];
    char repository[IMAGE_REF_REPOSITORY_MAX + 1];
    bool plain_http;
};

/*
 * Settings from a configuration's registry fields (ca_file may be NULL),
 * with one reference. NULL with a reason in err (an unreadable CA file).
 * A lookup that outlives its configuration holds its own reference.
 */
struct reg_settings *reg_settings_new(const char *ca_file, char *const *insecure, size_t ninsecure,
                                      char *const *mirror_from, char *const *mirror_to,
                                      size_t nmirrors, char *err, size_t errlen);
struct reg_settings *reg_settings_hold(struct reg_settings *s);
/* Drops a reference; the last one frees. NULL is ignored. */
void reg_settings_drop(struct reg_settings *s);
void reg_target_for(const struct reg_settings *s, const struct image_ref *ref,
                    struct reg_target *t);

struct reg_conn;

/* A connection bound to settings and credentials (both borrowed; creds may be NULL). */
struct reg_conn *reg_conn_new(void);
void reg_conn_bind(struct reg_conn *c, const struct reg_settings *s,
                   const struct reg_credentials *creds, uint64_t deadline_ms);
void reg_conn_free(struct reg_conn *c);
/* Bytes of bodies received since the last bind. */
uint64_t reg_conn_bytes(const struct reg_conn *c);

/* Milliseconds on CLOCK_MONOTONIC: the clock of every deadline here. */
uint64_t reg_now_ms(void);

/*
 * The digest of t's manifest named reference (a tag), by HEAD with the
 * full Accept list (a GET when the registry sends no Docker-Content-Digest).
 */
int reg_resolve_tag(struct reg_conn *c, const struct reg_target *t, const char *tag,
                    char digest[REG_DIGEST_MAX], struct reg_error *e);
/*
 * The manifest or index with that digest, verified, into body (replacing what
 * it held; at most REG_MAX_MANIFEST bytes, its ceiling from then on); its
 * media type into media.
 */
int reg_get_manifest(struct reg_conn *c, const struct reg_target *t, const char *digest,
                     struct buf *body, char media[REG_MEDIA_MAX], struct reg_error *e);
/*
 * The blob with that digest, verified, written to fd (from its start; the
 * file is truncated first), at most max bytes. kind names it in metrics
 * and errors ("config", "layer").
 */
int reg_get_blob(struct reg_conn *c, const struct reg_target *t, const char *kind,
                 const char *digest, int fd, uint64_t max, struct reg_error *e);

/* True for "sha256:" and 64 lowercase hex digits, the only digests fetched. */
bool reg_valid_sha256(const char *digest);
/* The digest ("sha256:<hex>") of data into out. -1 when it cannot be computed. */
int reg_sha256_of(const void *data, size_t len, char out[REG_DIGEST_MAX]);

/* While on, every transfer in progress is cut short (the process is stopping). */
void reg_abort_all(bool on);

/* Once per process, before any thread starts: curl's global state. */
int reg_global_init(void);

#endif
