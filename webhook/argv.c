/* argv.c - the Kubernetes argv table and the wrappers; see argv.h. */
#include "argv.h"

#include <stdlib.h>
#include <string.h>

static const char *const parent_programs[] = {"sh", "bash", "ash", "dash", "tini", "dumb-init"};

bool argv_is_valid_field(const json_t *field)
{
    if (!field || json_is_null(field))
        return true;
    if (!json_is_array(field))
        return false;
    size_t i;
    json_t *item;
    json_array_foreach(field, i, item)
    {
        if (!json_is_string(item))
            return false;
    }
    return true;
}

/* The kubelet and the runtime treat an empty list exactly like an absent one. */
static bool is_set(const json_t *field)
{
    return json_is_array(field) && json_array_size(field) > 0;
}

static void append_all(json_t *to, const json_t *from)
{
    json_array_extend(to, (json_t *)from);
}

json_t *argv_literal_for_pod(json_t *s)
{
    const char *v = json_string_value(s);
    size_t n = json_string_length(s), dollars = 0;
    for (size_t i = 0; i < n; i++)
        dollars += v[i] == '$';
    if (dollars == 0)
        return json_incref(s);
    char *buf = malloc(n + dollars);
    if (!buf)
        return NULL;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '$')
            buf[len++] = '$';
        buf[len++] = v[i];
    }
    json_t *out = json_stringn(buf, len);
    free(buf);
    return out;
}

/* Appends strings that come from the image, in the form the pod spec needs (see argv.h). */
static void append_image(json_t *to, const json_t *from)
{
    size_t i;
    json_t *item;
    json_array_foreach(from, i, item)
    {
        json_array_append_new(to, argv_literal_for_pod(item));
    }
}

json_t *argv_effective(const json_t *command, const json_t *args, const json_t *entrypoint,
                       const json_t *cmd, const char **missing)
{
    json_t *argv;
    if (is_set(command)) {
        argv = json_array();
        append_all(argv, command);
        if (is_set(args))
            append_all(argv, args);
    } else {
        if (!entrypoint) {
            *missing = "entrypoint";
            return NULL;
        }
        if (!is_set(args) && !cmd) {
            *missing = "cmd";
            return NULL;
        }
        argv = json_array();
        append_image(argv, entrypoint);
        if (is_set(args))
            append_all(argv, args);
        else
            append_image(argv, cmd);
    }
    if (json_array_size(argv) == 0) {
        json_decref(argv);
        *missing = "command";
        return NULL;
    }
    return argv;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

bool argv_starts_with_parent(const json_t *argv)
{
    const char *first = json_string_value(json_array_get(argv, 0));
    if (!first)
        return false;
    const char *name = base_name(first);
    for (size_t i = 0; i < sizeof(parent_programs) / sizeof(parent_programs[0]); i++)
        if (strcmp(name, parent_programs[i]) == 0)
            return true;
    return false;
}

/* E[1:] as a new array, or NULL when there is nothing after E[0]. */
static json_t *tail_args(const json_t *argv)
{
    size_t n = json_array_size(argv);
    if (n < 2)
        return NULL;
    json_t *args = json_array();
    for (size_t i = 1; i < n; i++)
        json_array_append(args, json_array_get(argv, i));
    return args;
}

/* A literal path (the image's shell, tini in the agent volume) as a command string. */
static json_t *literal_path(const char *path)
{
    json_t *s = json_string(path);
    json_t *out = s ? argv_literal_for_pod(s) : NULL;
    json_decref(s);
    return out;
}

json_t *argv_shell_wrapper(const char *shell, const json_t *argv, json_t **args)
{
    json_t *command = json_array();
    json_array_append_new(command, literal_path(shell));
    json_array_append_new(command, json_string("-c"));
    json_array_append_new(command, json_string(SHELL_WRAPPER_SCRIPT));
    json_array_append(command, json_array_get(argv, 0));
    *args = tail_args(argv);
    return command;
}

json_t *argv_tini_wrapper(const char *tini, const json_t *argv, json_t **args)
{
    json_t *command = json_array();
    json_array_append_new(command, literal_path(tini));
    json_array_append_new(command, json_string("--"));
    json_array_append(command, json_array_get(argv, 0));
    *args = tail_args(argv);
    return command;
}
