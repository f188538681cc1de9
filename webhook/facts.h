/*
 * facts.h - what goinject knows about a container's image.
 *
 * Owns struct container_facts and the precedence that fills it, per fact:
 *   1. the per-container annotation  <fact>.<prefix>/<container>
 *   2. the pod-wide annotation       <prefix>/<fact>   (not entrypoint/cmd)
 *   3. the image catalog             the first rule matching the container's image
 *                                    (catalog.h) fills what is still unknown
 *   4. the image's registry          facts_fill_registry, with what the registry
 *                                    layer (regfacts.h) found for the image
 *   5. otherwise unknown.
 * An annotation with a malformed value is ignored with a warning naming it.
 * The image's USER (user) has no annotation: the pod's runAsUser says the same
 * thing better, so only the catalog and the registry give it.
 */
#ifndef GOINJECT_FACTS_H
#define GOINJECT_FACTS_H

#include <jansson.h>
#include <stdbool.h>

#include "config.h"
#include "warn.h"

enum fact_bool { FACT_UNKNOWN = 0, FACT_FALSE, FACT_TRUE };
enum shell_fact { SHELL_UNKNOWN = 0, SHELL_NONE, SHELL_PATH };
enum libc_fact { LIBC_UNKNOWN = 0, LIBC_GLIBC, LIBC_MUSL, LIBC_NONE };

/* The layers that gave a container at least one fact (bits). */
enum fact_source { FROM_ANNOTATIONS = 1, FROM_CATALOG = 2, FROM_REGISTRY = 4 };

struct container_facts {
    enum fact_bool static_go;
    enum fact_bool cgo;
    enum shell_fact shell;
    char *shell_path; /* owned; set when shell == SHELL_PATH */
    enum libc_fact libc;
    json_t *entrypoint; /* owned array of strings, NULL when unknown */
    json_t *cmd;        /* owned array of strings, NULL when unknown */
    char *user;         /* owned; the image's USER ("" is root), NULL when unknown */
    unsigned sources;   /* enum fact_source bits */
};

/*
 * Fills facts for the container named name, whose image is image (may be
 * NULL), from the pod's annotations object (may be NULL), then the catalog.
 * Malformed annotations add a warning and count as absent.
 */
void facts_resolve(const struct goinject_config *cfg, const json_t *annotations, const char *name,
                   const char *image, struct container_facts *facts, struct warnings *w);
void facts_clear(struct container_facts *facts);
/*
 * True when the registry could change nothing the rules decide for
 * container: static-go is known false (nothing else matters then), or it
 * is known true with cgo, libc, shell and whatever E needs of the image
 * (ENTRYPOINT unless the pod sets command, CMD unless it also sets args).
 * With need_libc (the agent env has libc-specific sets), an unknown libc
 * is never settled, whatever static-go is.
 */
bool facts_settled(const struct container_facts *facts, const json_t *container, bool need_libc);
/*
 * Fills what is still unknown from the registry layer's facts (catalog
 * form), taking found's ENTRYPOINT and CMD where they are used (found keeps
 * what it still owns; free it as usual).
 */
void facts_fill_registry(struct container_facts *facts, struct catalog_facts *found);
/*
 * True when an image USER starts the process as root: "", "0", "root", and those with
 * a group ("0:0", "root:root"). Any other name or UID is a non-root user.
 */
bool facts_user_is_root(const char *user);
/* The name of one enum fact_source bit: "annotations", "catalog" or "registry". */
const char *fact_source_name(unsigned bit);

const char *libc_fact_name(enum libc_fact libc);

#endif
