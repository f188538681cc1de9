/*
 * catalog.h - the image catalog: facts about images, looked up by reference.
 *
 * Owns the rules of the configuration's "catalog" array (usually generated
 * by `goinject inspect --catalog` in a CI pipeline). A rule matches a
 * container's image in one of three ways:
 *   {"image": REF}     the same reference, both sides normalised the way
 *                      Docker does ("nginx" = "docker.io/library/nginx:latest",
 *                      imageref.h); a rule without a digest ignores the pod's
 *                      digest, and a pod image that is no valid reference
 *                      matches no image rule
 *   {"glob": PATTERN}  fnmatch(3) on the reference as written or normalised
 *                      ('*' also matches '/')
 *   {"digest": D}      the pod's reference pins that digest ("...@sha256:...")
 * and carries facts (staticGo, cgo, shell, libc, entrypoint, cmd,
 * user). The first
 * matching rule wins. Parsing is strict: every error names the field, such
 * as "catalog[3].match: must have exactly one of image, glob or digest".
 */
#ifndef GOINJECT_CATALOG_H
#define GOINJECT_CATALOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define CATALOG_MAX_RULES 10000
#define CATALOG_USER_MAX  255 /* the longest image USER a catalog rule may give */

enum catalog_match { CATALOG_IMAGE, CATALOG_GLOB, CATALOG_DIGEST };

/* A rule's facts; unset ones are -1 or NULL and leave the fact to the next layer. */
struct catalog_facts {
    int static_go;      /* -1 unset, 0 false, 1 true */
    int cgo;            /* -1 unset, 0 false, 1 true */
    char *shell;        /* owned; an absolute path or "none"; NULL unset */
    char *libc;         /* owned; "glibc", "musl" or "none"; NULL unset */
    json_t *entrypoint; /* owned array of strings; NULL unset */
    json_t *cmd;        /* owned array of strings; NULL unset */
    char *user;         /* owned; the image config's User ("" is root); NULL unset */
};

struct catalog_rule {
    enum catalog_match kind;
    char *pattern; /* owned; the reference (normalised), glob, or digest */
    struct catalog_facts facts;
};

struct catalog {
    struct catalog_rule *rules; /* owned array */
    size_t count;
    json_t *source; /* owned; the array as configured, for `goinject config` */
};

/*
 * Parses a rule's facts object (every member optional, at least one) into
 * out, whose tristates the caller set to -1. field names it in errors.
 */
int catalog_facts_parse(const json_t *facts, const char *field, struct catalog_facts *out,
                        char *err, size_t errlen);
/* Frees what out holds and leaves every fact unset. */
void catalog_facts_free(struct catalog_facts *facts);

/* Parses the configuration's catalog array into out (replacing it). -1 with err naming the field.
 */
int catalog_parse(const json_t *array, struct catalog *out, char *err, size_t errlen);
void catalog_free(struct catalog *catalog);
/* The first rule that matches image (a pod's container image), or NULL. */
const struct catalog_rule *catalog_match(const struct catalog *catalog, const char *image);
/*
 * The normalised form of an image reference (imageref.h): registry (docker.io
 * when none), repository (library/ for Docker Hub's single names), tag
 * (latest when neither tag nor digest), then "@digest". -1 when ref is not a
 * valid reference or the result does not fit.
 */
int catalog_normalize(const char *ref, char *out, size_t outlen);

#endif
