/*
 * regconfig.h - the configuration's "registry" block.
 *
 * Owns struct registry_config: its defaults, its validation (every error
 * names the field, "registry.budgetMs: ..."), its JSON form for `goinject
 * config`, and the client settings built from it (registry.h), which read
 * the CA file at load so that a bad one is refused like any bad field.
 */
#ifndef GOINJECT_REGCONFIG_H
#define GOINJECT_REGCONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define REGCONFIG_DEFAULT_BUDGET_MS 2000
#define REGCONFIG_MIN_BUDGET_MS     100
#define REGCONFIG_MAX_BUDGET_MS     29000 /* the API server's largest webhook timeout less 1 s */
#define REGCONFIG_DEFAULT_TTL_S     300
#define REGCONFIG_MAX_TTL_S         86400
#define REGCONFIG_MAX_HOSTS         256

struct reg_settings;

struct registry_config {
    bool enabled;
    unsigned budget_ms;
    char platform[64];     /* os/arch[/variant] */
    char *ca_file;         /* owned, NULL when none */
    char **insecure_hosts; /* owned */
    size_t ninsecure;
    char *credentials_file; /* owned, NULL when none */
    bool pod_pull_secrets;
    char **mirror_from, **mirror_to; /* owned */
    size_t nmirrors;
    unsigned tag_ttl_s;
    struct reg_settings *settings; /* one reference, built by registry_config_finish */
};

void registry_config_defaults(struct registry_config *rc);
/* Applies the block v over rc. -1 with err naming the field. */
int registry_config_parse(json_t *v, struct registry_config *rc, char *err, size_t errlen);
/* Builds the client settings (reads caFile). -1 with err naming the field. */
int registry_config_finish(struct registry_config *rc, char *err, size_t errlen);
void registry_config_free(struct registry_config *rc);
json_t *registry_config_to_json(const struct registry_config *rc);

#endif
