/*
 * imagefacts.h - the contract's facts about a container image.
 *
 * Owns struct image_facts: from an opened image (image.h) it takes the
 * ENTRYPOINT, CMD, PATH and WorkingDir of the config; resolves the program
 * they start through PATH and symlinks inside the image; analyses that
 * binary (binfacts.h); finds a dynamically linked shell and the C library
 * the image provides; and collects the problems. When E[0] is a shell with
 * -c or an init (tini, dumb-init), the program it starts is analysed, since
 * that is what the static-go fact is about. It renders the facts as JSON,
 * as the pod annotations of one container, and as a catalog rule.
 */
#ifndef GOINJECT_IMAGEFACTS_H
#define GOINJECT_IMAGEFACTS_H

#include <jansson.h>
#include <stdbool.h>

#include "binfacts.h"
#include "image.h"

/* An executable larger than this is not read (Go binaries are tens of MiB). */
#define BINARY_MAX_BYTES (512u * 1024 * 1024)

#define IMAGE_FACTS_USER_MAX 255 /* a longer User is left unknown, with a note */

struct image_facts {
    json_t *entrypoint;             /* owned array of strings ([] when the config has none) */
    json_t *cmd;                    /* owned array of strings */
    char executable[TREE_PATH_MAX]; /* the analysed program in the image; "" when unknown */
    char parent[TREE_PATH_MAX];     /* E[0] when a shell or init starts that program */
    bool has_binary;
    struct bin_facts binary;
    struct image_bytes binary_bytes; /* owned; binary.interpreter points into it */
    bool static_go_known;
    bool static_go;
    char shell[TREE_PATH_MAX]; /* a dynamically linked shell, "" for none */
    enum bin_libc libc;        /* the C library the image provides */
    bool user_known;
    char user[IMAGE_FACTS_USER_MAX + 1]; /* the config's User, "" (root) when it has none */
    uint32_t problems;                   /* bits of enum problem_code */
    json_t *notes;     /* owned array of strings: what could not be decided, and why */
    size_t binary_max; /* an executable larger than this is not read */
};

/* Computes the facts of img. Never fails: what cannot be known becomes a note. */
void image_facts_compute(const struct image *img, struct image_facts *facts);
/* The same, reading an executable of at most binary_max bytes (a server's memory bound). */
void image_facts_compute_max(const struct image *img, struct image_facts *facts, size_t binary_max);
void image_facts_free(struct image_facts *facts);

/* The JSON object of `goinject inspect --json IMAGE`. */
json_t *image_facts_to_json(const struct image *img, const struct image_facts *facts);
/* People's version of the same. */
void image_facts_print(FILE *out, const struct image *img, const struct image_facts *facts);
/* The contract's per-container annotations for container (known facts only). */
json_t *image_facts_annotations(const struct image_facts *facts, const char *prefix,
                                const char *container);
/*
 * A catalog rule for the config's catalog array: matching name (exactly, or
 * as a glob when it has * ? or [), or the digest when name is NULL.
 * NULL when neither is known.
 */
json_t *image_facts_catalog_rule(const struct image_facts *facts, const char *name,
                                 const char *digest);

#endif
