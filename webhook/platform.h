/*
 * platform.h - the platforms an image is read for.
 *
 * Owns struct platform (os/arch[/variant]) and struct platform_set: the
 * platforms a pod may run on, from its nodeSelector or required node
 * affinity on kubernetes.io/os and kubernetes.io/arch (their beta. names
 * when those are absent), else a configured default; and the entry of an
 * image index that serves a platform.
 */
#ifndef GOINJECT_PLATFORM_H
#define GOINJECT_PLATFORM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define PLATFORMS_MAX 4 /* platforms of one pod that are read; more are left out */

struct platform {
    char os[16];
    char arch[16];
    char variant[16]; /* "" when any */
};

struct platform_set {
    struct platform items[PLATFORMS_MAX];
    unsigned count;
};

/* Parses "os/arch[/variant]" (lowercase letters and digits); -1 when malformed. */
int platform_parse(const char *text, struct platform *out);
/* "linux/amd64,linux/arm64" */
void platform_set_text(const struct platform_set *set, char *out, size_t len);
/*
 * The platforms a pod may run on: its nodeSelector's kubernetes.io/os and
 * kubernetes.io/arch, or the In values of its required node affinity (every
 * term must constrain a key for it to count), else fallback (os/arch).
 */
void platforms_of_pod(const json_t *pod, const char *fallback, struct platform_set *out);
/*
 * The first entry of an image index's manifests for p (a variant matches
 * when either side leaves it out); attestation entries, whose platform is
 * unknown/unknown, never match. NULL when none does.
 */
const json_t *platform_choose(const json_t *index, const struct platform *p);

#endif
