/*
 * argv.h - what a container executes, and the wrappers that preserve it.
 *
 * Owns the Kubernetes argv table (pod command/args against the image's
 * ENTRYPOINT/CMD) and the two wrappers of the contract. Strings are moved as
 * json_t references, never re-encoded, so every byte of every argument
 * (quotes, spaces, $(VAR), $$, newlines, empty strings) survives unchanged.
 */
#ifndef GOINJECT_ARGV_H
#define GOINJECT_ARGV_H

#include <jansson.h>
#include <stdbool.h>

/* The shell wrapper's script: exec keeps the PID, the signals and the exit status. */
#define SHELL_WRAPPER_SCRIPT "exec \"$0\" \"$@\""

/* A pod's command or args: a JSON array of strings, or null/absent. */
bool argv_is_valid_field(const json_t *field);

/*
 * The executed argv E for a container whose command and args are given
 * (borrowed; NULL or empty means unset) and whose image ENTRYPOINT and CMD
 * are entrypoint and cmd (NULL when unknown). Returns a new array, or NULL
 * when E depends on an unknown fact or is empty; *missing then names what
 * is missing ("entrypoint", "cmd", or "command" when nothing is executed).
 *
 * E is returned as the pod spec must state it to execute those bytes: pod
 * strings as they are, strings of the image through argv_literal_for_pod,
 * because the kubelet expands $(VAR) in command and args but never in the
 * image's ENTRYPOINT and CMD, which a wrapper moves into command and args.
 */
json_t *argv_effective(const json_t *command, const json_t *args, const json_t *entrypoint,
                       const json_t *cmd, const char **missing);

/*
 * A literal string (borrowed) as command or args must hold it so that the
 * kubelet's $(VAR) expansion gives it back unchanged: every '$' doubled, "$$"
 * being the kubelet's escape for '$'. Returns a new reference (the same
 * string when it has no '$'), or NULL when out of memory.
 */
json_t *argv_literal_for_pod(json_t *s);

/* True when E[0]'s base name is a shell or an init: sh, bash, ash, dash, tini, dumb-init. */
bool argv_starts_with_parent(const json_t *argv);

/*
 * The shell wrapper: command [shell, "-c", SHELL_WRAPPER_SCRIPT, E[0]], args E[1:].
 * The tini wrapper:  command [tini, "--", E[0]], args E[1:].
 * shell and tini are literal paths and pass through argv_literal_for_pod.
 * Both return the new command (owned) and set *args to E[1:] (owned), or to
 * NULL when E has a single element and the args field must be omitted.
 */
json_t *argv_shell_wrapper(const char *shell, const json_t *argv, json_t **args);
json_t *argv_tini_wrapper(const char *tini, const json_t *argv, json_t **args);

#endif
