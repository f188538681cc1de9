/* facts.c - image facts from annotations and the catalog, by precedence; see facts.h. */
#include "facts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonin.h"
#include "validate.h"

/* One annotation layer: where a fact's value is looked up, and how it is named in warnings. */
struct layer {
    const json_t *annotations;
    const char *prefix;
    const char *container; /* NULL for the pod-wide layer */
};

enum fact_kind { FACT_STATIC_GO, FACT_CGO, FACT_SHELL, FACT_LIBC, FACT_ENTRYPOINT, FACT_CMD };

static const char *const fact_names[] = {"static-go", "cgo", "shell", "libc", "entrypoint", "cmd"};

const char *libc_fact_name(enum libc_fact libc)
{
    static const char *const names[] = {"unknown", "glibc", "musl", "none"};
    return names[libc];
}

static void annotation_key(const struct layer *layer, enum fact_kind kind, char *key, size_t len)
{
    if (layer->container)
        str_join(key, len, fact_names[kind], ".", layer->prefix, "/", layer->container, NULL);
    else
        str_join(key, len, layer->prefix, "/", fact_names[kind], NULL);
}

/* The annotation's string value for this fact, or NULL when the layer does not set it. */
static const char *layer_value(const struct layer *layer, enum fact_kind kind, char *key,
                               size_t keylen)
{
    annotation_key(layer, kind, key, keylen);
    return json_string_value(json_object_get(layer->annotations, key));
}

static void warn_bad_value(struct warnings *w, const char *container, const char *key,
                           const char *value, const char *expect)
{
    if (container)
        warnings_addf(w, "container \"%s\": annotation %s=\"%.40s\" ignored: expected %s",
                      container, key, value, expect);
    else
        warnings_addf(w, "pod annotation %s=\"%.40s\" ignored: expected %s", key, value, expect);
}

static void fill_bool(enum fact_bool *slot, const char *value, const char *key,
                      const char *container, struct warnings *w)
{
    if (strcmp(value, "true") == 0)
        *slot = FACT_TRUE;
    else if (strcmp(value, "false") == 0)
        *slot = FACT_FALSE;
    else
        warn_bad_value(w, container, key, value, "true or false");
}

static void fill_shell(struct container_facts *facts, const char *value, const char *key,
                       const char *container, struct warnings *w)
{
    if (strcmp(value, "none") == 0) {
        facts->shell = SHELL_NONE;
    } else if (valid_absolute_path(value) && strcmp(value, "/") != 0) {
        char *copy = strdup(value);
        if (!copy)
            return;
        free(facts->shell_path);
        facts->shell_path = copy;
        facts->shell = SHELL_PATH;
    } else {
        warn_bad_value(w, container, key, value, "an absolute path or none");
    }
}

static void fill_libc(enum libc_fact *slot, const char *value, const char *key,
                      const char *container, struct warnings *w)
{
    if (strcmp(value, "glibc") == 0)
        *slot = LIBC_GLIBC;
    else if (strcmp(value, "musl") == 0)
        *slot = LIBC_MUSL;
    else if (strcmp(value, "none") == 0)
        *slot = LIBC_NONE;
    else
        warn_bad_value(w, container, key, value, "glibc, musl or none");
}

/* A JSON array of strings, as in the image config's Entrypoint and Cmd. */
static void fill_argv(json_t **slot, const char *value, const char *key, const char *container,
                      struct warnings *w)
{
    json_t *array = jsonin_parse_body(value, strlen(value), NULL, NULL);
    size_t i;
    json_t *item;
    int ok = json_is_array(array);
    json_array_foreach(array, i, item) ok = ok && json_is_string(item);
    if (!ok) {
        json_decref(array);
        warn_bad_value(w, container, key, value, "a JSON array of strings");
        return;
    }
    *slot = array;
}

static void fill_fact(struct container_facts *facts, enum fact_kind kind, const char *value,
                      const char *key, const char *container, struct warnings *w)
{
    switch (kind) {
    case FACT_STATIC_GO:
        fill_bool(&facts->static_go, value, key, container, w);
        break;
    case FACT_CGO:
        fill_bool(&facts->cgo, value, key, container, w);
        break;
    case FACT_SHELL:
        fill_shell(facts, value, key, container, w);
        break;
    case FACT_LIBC:
        fill_libc(&facts->libc, value, key, container, w);
        break;
    case FACT_ENTRYPOINT:
        fill_argv(&facts->entrypoint, value, key, container, w);
        break;
    case FACT_CMD:
        fill_argv(&facts->cmd, value, key, container, w);
        break;
    }
}

static int fact_known(const struct container_facts *facts, enum fact_kind kind)
{
    switch (kind) {
    case FACT_STATIC_GO:
        return facts->static_go != FACT_UNKNOWN;
    case FACT_CGO:
        return facts->cgo != FACT_UNKNOWN;
    case FACT_SHELL:
        return facts->shell != SHELL_UNKNOWN;
    case FACT_LIBC:
        return facts->libc != LIBC_UNKNOWN;
    case FACT_ENTRYPOINT:
        return facts->entrypoint != NULL;
    case FACT_CMD:
        return facts->cmd != NULL;
    }
    return 0;
}

/* Fills every fact this layer sets and an earlier layer did not. */
static void fill_from_layer(struct container_facts *facts, const struct layer *layer,
                            struct warnings *w)
{
    char key[512];
    for (int kind = FACT_STATIC_GO; kind <= FACT_CMD; kind++) {
        /* The image's argv differs per container: a pod-wide value would be a guess. */
        if (!layer->container && (kind == FACT_ENTRYPOINT || kind == FACT_CMD))
            continue;
        if (fact_known(facts, (enum fact_kind)kind))
            continue;
        const char *value = layer_value(layer, (enum fact_kind)kind, key, sizeof(key));
        if (value)
            fill_fact(facts, (enum fact_kind)kind, value, key, layer->container, w);
    }
}

/* Copies a rule's fact unless an annotation already set it; the values were checked at load. */
static void fill_known(struct container_facts *facts, const struct catalog_facts *rule)
{
    if (facts->static_go == FACT_UNKNOWN && rule->static_go >= 0)
        facts->static_go = rule->static_go ? FACT_TRUE : FACT_FALSE;
    if (facts->cgo == FACT_UNKNOWN && rule->cgo >= 0)
        facts->cgo = rule->cgo ? FACT_TRUE : FACT_FALSE;
    if (facts->shell == SHELL_UNKNOWN && rule->shell && strcmp(rule->shell, "none") == 0)
        facts->shell = SHELL_NONE;
    else if (facts->shell == SHELL_UNKNOWN && rule->shell &&
             (facts->shell_path = strdup(rule->shell)))
        facts->shell = SHELL_PATH;
    if (facts->libc == LIBC_UNKNOWN && rule->libc)
        facts->libc = strcmp(rule->libc, "glibc") == 0  ? LIBC_GLIBC
                      : strcmp(rule->libc, "musl") == 0 ? LIBC_MUSL
                                                        : LIBC_NONE;
    if (!facts->entrypoint && rule->entrypoint)
        facts->entrypoint = json_deep_copy(rule->entrypoint);
    if (!facts->cmd && rule->cmd)
        facts->cmd = json_deep_copy(rule->cmd);
    if (!facts->user && rule->user)
        facts->user = strdup(rule->user);
}

static int facts_count_known(const struct container_facts *facts)
{
    int n = 0;
    for (int kind = FACT_STATIC_GO; kind <= FACT_CMD; kind++)
        n += fact_known(facts, (enum fact_kind)kind);
    return n;
}

/* Fills from a catalog-form layer and records the layer when it gave anything. */
static void fill_layer(struct container_facts *facts, const struct catalog_facts *layer,
                       unsigned source)
{
    int before = facts_count_known(facts);
    bool had_user = facts->user != NULL;
    fill_known(facts, layer);
    if (facts_count_known(facts) > before || (!had_user && facts->user))
        facts->sources |= source;
}

void facts_resolve(const struct goinject_config *cfg, const json_t *annotations, const char *name,
                   const char *image, struct container_facts *facts, struct warnings *w)
{
    memset(facts, 0, sizeof(*facts));
    if (json_is_object(annotations)) {
        const struct layer per_container = {annotations, cfg->annotation_prefix, name};
        const struct layer pod_wide = {annotations, cfg->annotation_prefix, NULL};
        fill_from_layer(facts, &per_container, w);
        fill_from_layer(facts, &pod_wide, w);
    }
    if (facts_count_known(facts))
        facts->sources |= FROM_ANNOTATIONS;
    const struct catalog_rule *rule = catalog_match(&cfg->catalog, image);
    if (rule)
        fill_layer(facts, &rule->facts, FROM_CATALOG);
}

bool facts_settled(const struct container_facts *facts, const json_t *container, bool need_libc)
{
    if (need_libc && facts->libc == LIBC_UNKNOWN)
        return false;
    if (facts->static_go != FACT_TRUE)
        return facts->static_go == FACT_FALSE;
    if (facts->cgo == FACT_UNKNOWN || facts->libc == LIBC_UNKNOWN || facts->shell == SHELL_UNKNOWN)
        return false;
    /* E: the pod's command, else the image's ENTRYPOINT with the pod's args or the image's CMD. */
    if (json_object_get(container, "command"))
        return true;
    return facts->entrypoint && (json_object_get(container, "args") || facts->cmd);
}

void facts_fill_registry(struct container_facts *facts, struct catalog_facts *found)
{
    /* found is the caller's own copy: its arrays change hands instead of being copied again. */
    if (!facts->entrypoint && found->entrypoint) {
        facts->entrypoint = found->entrypoint;
        found->entrypoint = NULL;
        facts->sources |= FROM_REGISTRY;
    }
    if (!facts->cmd && found->cmd) {
        facts->cmd = found->cmd;
        found->cmd = NULL;
        facts->sources |= FROM_REGISTRY;
    }
    fill_layer(facts, found, FROM_REGISTRY);
}

bool facts_user_is_root(const char *user)
{
    size_t len = strcspn(user, ":");
    return len == 0 || (len == 1 && user[0] == '0') || (len == 4 && strncmp(user, "root", 4) == 0);
}

const char *fact_source_name(unsigned bit)
{
    switch (bit) {
    case FROM_ANNOTATIONS:
        return "annotations";
    case FROM_CATALOG:
        return "catalog";
    case FROM_REGISTRY:
        return "registry";
    }
    return "unknown";
}

void facts_clear(struct container_facts *facts)
{
    free(facts->shell_path);
    json_decref(facts->entrypoint);
    json_decref(facts->cmd);
    free(facts->user);
    memset(facts, 0, sizeof(*facts));
}
