/*
 * config.h - the webhook's configuration: defaults, the JSON file, validation.
 *
 * Owns struct goinject_config and everything hanging off it. A config is built
 * once (defaults, then the file on top, then command-line overrides), validated
 * as a whole, and is immutable afterwards, so threads share it without locks.
 * Every validation error names the offending field ("agent.mountPath: ...").
 */
#ifndef GOINJECT_CONFIG_H
#define GOINJECT_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "catalog.h"
#include "regconfig.h"

struct jsonout_known;

/* A config file larger than this is refused (a catalog of thousands of images fits). */
#define CONFIG_MAX_BYTES (4 * 1024 * 1024)

enum inject_mode { MODE_CLASSIC, MODE_CLOUD_NATIVE };

/*
 * The cluster-wide Pod Security level: the PodSecurity admission configuration's
 * defaults.enforce, which applies to every namespace without an enforce label.
 */
enum pod_security_level { POD_SECURITY_PRIVILEGED, POD_SECURITY_BASELINE, POD_SECURITY_RESTRICTED };

/* What to do with a static Go entrypoint when the image's shell is unknown. */
enum unknown_shell_policy {
    UNKNOWN_SHELL_TINI,  /* wrap with tini from the agent volume (the contract's rule) */
    UNKNOWN_SHELL_SHELL, /* assume defaultShell exists and wrap with it */
    UNKNOWN_SHELL_SKIP,  /* leave the entrypoint alone and warn */
};

struct string_list {
    char **items;
    size_t count;
};

/*
 * The sets of agent.env. A handled container gets AGENT_ENV_ANY, and the set of
 * its libc when that is known to be glibc or musl: an LD_PRELOAD agent built
 * for one C library must never reach a program of the other.
 */
enum agent_env_set { AGENT_ENV_ANY, AGENT_ENV_GLIBC, AGENT_ENV_MUSL, AGENT_ENV_SETS };

struct agent_config {
    char *image;
    char *pull_policy;
    json_t *command;   /* array of strings: the init container's command */
    char *source_path; /* the agent bundle inside the agent image */
    char *mount_path;  /* where the bundle appears in app containers */
    json_t *resources; /* the init container's resources object */
    /* Arrays of EnvVar objects added to handled containers, by enum agent_env_set. */
    json_t *env[AGENT_ENV_SETS];
    char *init_container_name;
    char *volume_name;
    long long run_as_user;
    /*
     * The patch values made from the fields above, built with the configuration (by
     * config_new_default and config_parse) and shared, read-only, by every review.
     */
    json_t *init_container; /* copies the bundle into the volume */
    json_t *mount;          /* the volume, read-only at mount_path */
    json_t *volume;         /* the emptyDir */
    /* The three as compact JSON (jsonout.h), which an answer copies instead of writing them. */
    struct jsonout_known *texts; /* owned */
};

struct goinject_config {
    enum inject_mode mode;
    char *annotation_prefix;
    bool inject_by_default;
    struct string_list excluded_namespaces;
    struct string_list pod_security_namespaces;   /* known to enforce baseline/restricted */
    enum pod_security_level pod_security_default; /* privileged: no cluster-wide enforcement */
    struct string_list pod_security_exempt;       /* exempt from pod_security_default */
    bool ptrace_with_host_pid;                    /* SYS_PTRACE for static Go in hostPID pods */
    struct agent_config agent;
    char *tini_glibc; /* tini paths relative to agent.mount_path */
    char *tini_musl;
    enum unknown_shell_policy unknown_shell;
    char *default_shell;
    struct catalog catalog;          /* facts about images, after the annotations (catalog.h) */
    struct registry_config registry; /* facts read from registries, after the catalog */
};

/* The built-in defaults; NULL only when out of memory. */
struct goinject_config *config_new_default(void);
/*
 * Defaults overlaid with the JSON file at path (NULL: defaults only).
 * Returns NULL with a message naming the field in err.
 */
struct goinject_config *config_load(const char *path, char *err, size_t errlen);
/* Same, from JSON text already in memory. */
struct goinject_config *config_parse(const char *text, size_t len, char *err, size_t errlen);
void config_free(struct goinject_config *cfg);

/* The name of a set, as in the file: "any", "glibc" or "musl". */
const char *agent_env_set_name(enum agent_env_set set);
/* True when any set of agent.env holds a variable: handled containers' env is then read. */
bool config_has_agent_env(const struct goinject_config *cfg);
/* True when agent.env.glibc or agent.env.musl holds a variable: a container's libc then matters. */
bool config_has_libc_env(const struct goinject_config *cfg);

int config_parse_mode(const char *name, enum inject_mode *mode);
const char *config_mode_name(enum inject_mode mode);
bool config_namespace_excluded(const struct goinject_config *cfg, const char *ns);
/*
 * True when ns is known to enforce Pod Security baseline or restricted: it is
 * listed in podSecurityEnforcedNamespaces, or podSecurityDefault enforces one
 * of them and ns is not in podSecurityExemptNamespaces. A namespace labelled
 * enforce=privileged is not seen here (the webhook configuration routes it).
 */
bool config_namespace_enforces_pod_security(const struct goinject_config *cfg, const char *ns);
/* The effective configuration as JSON (for `goinject config` and the log). */
json_t *config_to_json(const struct goinject_config *cfg);

#endif
