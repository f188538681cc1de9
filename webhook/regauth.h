/*
 * regauth.h - how goinject proves who it is to an image registry.
 *
 * Owns three pure pieces the registry client (registry.h) puts together:
 *   - the parser of a WWW-Authenticate challenge (RFC 7235 auth-params:
 *     tokens or quoted strings, which may hold commas and backslash escapes,
 *     as in scope="repository:a/b:pull,push");
 *   - the credentials of a dockerconfigjson (or older dockercfg) file: one
 *     user and password per registry key, found for a host the way the
 *     kubelet matches them (scheme and path ignored, Docker Hub's names are
 *     one registry, a leading "*." matches one DNS label);
 *   - the parser of a Retry-After value (seconds, or an HTTP date).
 * Nothing here logs or prints a password.
 */
#ifndef GOINJECT_REGAUTH_H
#define GOINJECT_REGAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define REGAUTH_PARAM_MAX 1024 /* a realm, service or scope longer than this is refused */
/* A credentials file larger than this is refused (thousands of registries fit). */
#define REGAUTH_FILE_MAX    (1024 * 1024)
#define REGAUTH_MAX_ENTRIES 1000
#define REGAUTH_FIELD_MAX   4096 /* a user or password longer than this is refused */
/* A longer Retry-After is cut to this, so that callers may count it in milliseconds. */
#define REGAUTH_RETRY_MAX_S (7L * 24 * 3600)

enum reg_scheme { REG_SCHEME_NONE, REG_SCHEME_BASIC, REG_SCHEME_BEARER };

struct reg_challenge {
    enum reg_scheme scheme;
    char realm[REGAUTH_PARAM_MAX];
    char service[REGAUTH_PARAM_MAX];
    char scope[REGAUTH_PARAM_MAX];
};

/*
 * Parses a WWW-Authenticate value. Of several challenges the first Bearer
 * one is taken, else the first Basic one. Returns 0, or -1 when the value
 * names neither or is malformed (an unterminated quote, a parameter too long).
 */
int reg_challenge_parse(const char *header, struct reg_challenge *out);

struct reg_credential {
    char *key;      /* owned; the file's key reduced to host[:port] ("docker.io" for Docker Hub) */
    char *user;     /* owned */
    char *password; /* owned */
};

struct reg_credentials {
    struct reg_credential *items; /* owned array */
    size_t count;
};

/*
 * Parses a dockerconfigjson ({"auths": {KEY: {"auth": base64(user:password)}
 * or {"username", "password"}}}) or a dockercfg (the auths map alone).
 * Entries without usable credentials are skipped. -1 with err naming the
 * entry (never its secret) when the text is not such a file.
 */
int reg_credentials_parse(const char *text, size_t len, struct reg_credentials *out, char *err,
                          size_t errlen);
/* The same, read from path (at most REGAUTH_FILE_MAX bytes). */
int reg_credentials_load(const char *path, struct reg_credentials *out, char *err, size_t errlen);
void reg_credentials_free(struct reg_credentials *c);
/* Appends copies of src's credentials after dst's (which are found first). -1 when out of memory.
 */
int reg_credentials_append(struct reg_credentials *dst, const struct reg_credentials *src);
/*
 * The credential for registry (an image reference's registry, "docker.io"
 * for Docker Hub), or NULL. An exact key wins over a wildcard one.
 */
const struct reg_credential *reg_credentials_find(const struct reg_credentials *c,
                                                  const char *registry);

/*
 * Seconds to wait from a Retry-After value (delta-seconds, or an HTTP date
 * compared with now), at most REGAUTH_RETRY_MAX_S. -1 when it is neither.
 */
long reg_retry_after(const char *value, time_t now);

#endif
