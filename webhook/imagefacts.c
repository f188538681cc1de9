/* imagefacts.c - entrypoint, shell, libc and binary facts of an image; see imagefacts.h. */
#include "imagefacts.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "argv.h"
#include "elf.h"

/* What the runtime uses when the image sets no PATH (Docker's and containerd's default). */
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* Shells are small; libc.so.6 is about 2 MiB. Enough of either to see its ELF headers. */
#define SMALL_BINARY_MAX (64u * 1024 * 1024)

static const char *const shell_candidates[] = {"/bin/sh",       "/usr/bin/sh", "/bin/bash",
                                               "/usr/bin/bash", "/bin/dash",   "/bin/ash"};

static void add_note(struct image_facts *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void add_note(struct image_facts *f, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    json_array_append_new(f->notes, json_string(text));
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* ---- the config ------------------------------------------------------------------ */

static const json_t *container_config(const struct image *img)
{
    const json_t *config = json_object_get(img->config, "config");
    return config ? config : json_object_get(img->config, "container_config");
}

/* ENTRYPOINT or CMD as an array of strings ([] for null or absent). */
static json_t *argv_field(const json_t *config, const char *key, struct image_facts *f)
{
    const json_t *value = json_object_get(config, key);
    if (!value || json_is_null(value))
        return json_array();
    if (argv_is_valid_field(value))
        return json_deep_copy(value);
    add_note(f, "the image config's %s is not an array of strings; taken as empty", key);
    return json_array();
}

/* PATH from the config's Env, else the runtime's default. */
static const char *env_path(const json_t *config)
{
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(config, "Env"), i, item)
    {
        const char *kv = json_string_value(item);
        if (kv && strncmp(kv, "PATH=", 5) == 0)
            return kv + 5;
    }
    return DEFAULT_PATH;
}

static const char *working_dir(const json_t *config)
{
    const char *dir = json_string_value(json_object_get(config, "WorkingDir"));
    return dir && dir[0] == '/' ? dir : "/";
}

/* ---- finding programs ------------------------------------------------------------- */

/* Resolves path to a regular file; fills out with the resolved path. */
static const struct tree_node *regular_file(const struct image *img, const char *path, char *out,
                                            size_t outlen, enum resolve_result *why)
{
    const struct tree_node *node;
    *why = tree_resolve(&img->files, path, true, out, outlen, &node);
    if (*why == RESOLVE_OK && (!node || node->type != NODE_FILE))
        *why = RESOLVE_MISSING; /* a directory, a device: not a program */
    return *why == RESOLVE_OK ? node : NULL;
}

/*
 * The program name runs: a path (relative ones from the working directory),
 * or the first executable regular file named name in a PATH directory, as
 * the runtime looks it up. Returns the node, with its resolved path in out.
 */
static const struct tree_node *lookup_program(const struct image *img, const char *name,
                                              const json_t *config, char *out, size_t outlen,
                                              struct image_facts *f)
{
    char candidate[TREE_PATH_MAX * 2];
    enum resolve_result why = RESOLVE_MISSING;
    const char *workdir = working_dir(config);
    if (strchr(name, '/')) {
        snprintf(candidate, sizeof(candidate), "%s/%s", name[0] == '/' ? "" : workdir, name);
        const struct tree_node *node = regular_file(img, candidate, out, outlen, &why);
        if (!node)
            add_note(f, "%.200s: %s in the image", name, resolve_result_text(why));
        return node;
    }
    const char *path = env_path(config);
    const struct tree_node *fallback = NULL;
    char fallback_path[TREE_PATH_MAX];
    for (const char *dir = path; dir; dir = strchr(dir, ':') ? strchr(dir, ':') + 1 : NULL) {
        size_t n = strcspn(dir, ":");
        snprintf(candidate, sizeof(candidate), "%.*s/%s", (int)n, n ? dir : workdir, name);
        const struct tree_node *node = regular_file(img, candidate, out, outlen, &why);
        if (node && (node->mode & 0111))
            return node;
        if (node && !fallback) {
            fallback = node;
            snprintf(fallback_path, sizeof(fallback_path), "%s", out);
        }
    }
    if (fallback) {
        snprintf(out, outlen, "%s", fallback_path);
        add_note(f, "%.200s has no execute permission in the image", fallback_path);
        return fallback;
    }
    add_note(f, "%.200s: not found in PATH (%.200s)", name, path);
    return NULL;
}

/* The option of a shell's argv that carries -c: its index, or 0 when there is none. */
static size_t shell_c_option(const json_t *argv)
{
    for (size_t i = 1; i < json_array_size(argv); i++) {
        const char *arg = json_string_value(json_array_get(argv, i));
        if (arg[0] != '-' || strcmp(arg, "--") == 0 || strcmp(arg, "-") == 0)
            return 0;
        if (arg[1] != '-' && strchr(arg, 'c'))
            return i;
    }
    return 0;
}

/*
 * The program a -c script runs: its first word, when the script is one
 * simple command (no lists, pipes, redirections or substitutions) whose first
 * word is a plain program name, or "$0". Anything else is left unknown.
 */
static bool script_program(const char *script, char *word, size_t len)
{
    static const char *const builtins[] = {"cd",     "set",  "export", "eval", ".",
                                           "source", "[",    "test",   "if",   "for",
                                           "while",  "case", "exec",   NULL};
    if (strpbrk(script, ";&|\n`<>") || strstr(script, "$("))
        return false;
    const char *p = script + strspn(script, " \t");
    if (strncmp(p, "exec ", 5) == 0)
        p += 5 + strspn(p + 5, " \t");
    size_t n = strcspn(p, " \t");
    if (n == 0 || n >= len)
        return false;
    memcpy(word, p, n);
    word[n] = '\0';
    if (strcmp(word, "$0") == 0 || strcmp(word, "\"$0\"") == 0) {
        strcpy(word, "$0");
        return true;
    }
    for (const char *const *b = builtins; *b; b++)
        if (strcmp(word, *b) == 0)
            return false;
    return strspn(word, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./+-@:") ==
           n;
}

/* The argument an init (tini, dumb-init) starts: the first one that is not an option. */
static const char *init_child(const json_t *argv)
{
    for (size_t i = 1; i < json_array_size(argv); i++) {
        const char *arg = json_string_value(json_array_get(argv, i));
        if (strcmp(arg, "--") == 0)
            return json_string_value(json_array_get(argv, i + 1));
        /* These options of tini (-p, -e) and dumb-init (-r) take a value. */
        if (strcmp(arg, "-p") == 0 || strcmp(arg, "-e") == 0 || strcmp(arg, "-r") == 0 ||
            strcmp(arg, "--rewrite") == 0)
            i++;
        else if (arg[0] != '-')
            return arg;
    }
    return NULL;
}

/*
 * The program E really runs, when E[0] is a shell or an init: the child's
 * name, NULL when it cannot be told, or E[0] itself for a shell without -c.
 */
static const char *child_program(const json_t *argv, char *word, size_t len, bool *unknown)
{
    const char *first = json_string_value(json_array_get(argv, 0));
    const char *base = base_name(first);
    *unknown = false;
    if (strcmp(base, "tini") == 0 || strcmp(base, "dumb-init") == 0) {
        const char *child = init_child(argv);
        *unknown = child == NULL;
        return child;
    }
    size_t c = shell_c_option(argv);
    if (c == 0)
        return first; /* an interactive or script-file shell: the shell is the program */
    const char *script = json_string_value(json_array_get(argv, c + 1));
    if (!script || !script_program(script, word, len)) {
        *unknown = true;
        return NULL;
    }
    if (strcmp(word, "$0") == 0) {
        const char *dollar0 = json_string_value(json_array_get(argv, c + 2));
        *unknown = dollar0 == NULL;
        return dollar0;
    }
    return word;
}

/* ---- the binary -------------------------------------------------------------------- */

static void analyse_binary(const struct image *img, const struct tree_node *node,
                           struct image_facts *f)
{
    char err[256];
    struct image_bytes *b = &f->binary_bytes;
    if (image_file_bytes(img, node, f->binary_max, b, err, sizeof(err)) != 0) {
        add_note(f, "%s", err);
        return;
    }
    if (b->truncated) {
        add_note(f, "%s is larger than %zu bytes; not analysed", f->executable, f->binary_max);
    } else if (b->len >= 2 && memcmp(b->data, "#!", 2) == 0) {
        f->static_go_known = true; /* a script: the kernel starts its interpreter instead */
        add_note(f, "%s is a script, not a binary", f->executable);
    } else if (binfacts_inspect(b->data, b->len, &f->binary, err, sizeof(err)) != 0) {
        add_note(f, "%s: %s", f->executable, err);
    } else {
        f->has_binary = true;
        f->static_go_known = true;
        f->static_go = f->binary.go && f->binary.static_linked;
        f->problems |= f->binary.problems;
    }
}

static void find_executable(const struct image *img, const json_t *config, struct image_facts *f)
{
    json_t *argv = json_array();
    json_array_extend(argv, f->entrypoint);
    json_array_extend(argv, f->cmd);
    const char *program = json_string_value(json_array_get(argv, 0));
    char word[TREE_PATH_MAX];
    bool unknown = false;
    if (!program) {
        add_note(f, "the image has neither ENTRYPOINT nor CMD: it runs nothing by itself");
    } else if (argv_starts_with_parent(argv)) {
        const char *child = child_program(argv, word, sizeof(word), &unknown);
        if (child != program)
            snprintf(f->parent, sizeof(f->parent), "%s", program);
        if (unknown)
            add_note(f, "%.200s starts a program goinject cannot tell from its arguments", program);
        program = child;
    }
    const struct tree_node *node =
        program ? lookup_program(img, program, config, f->executable, sizeof(f->executable), f)
                : NULL;
    if (node)
        analyse_binary(img, node, f);
    else
        f->executable[0] = '\0';
    json_decref(argv);
}

/* ---- shell and libc ------------------------------------------------------------------ */

/* Parses an ELF file of the image (at most SMALL_BINARY_MAX bytes); false when it is none. */
static bool read_elf(const struct image *img, const struct tree_node *node, struct elf_file *elf,
                     struct image_bytes *bytes)
{
    char err[256];
    if (image_file_bytes(img, node, SMALL_BINARY_MAX, bytes, err, sizeof(err)) != 0 ||
        elf_parse(elf, bytes->data, bytes->len, err, sizeof(err)) != 0) {
        image_bytes_release(bytes);
        return false;
    }
    return true;
}

/* A dynamically linked ELF whose loader the image has: an agent can load into it. */
static bool usable_shell(const struct image *img, const char *path, struct image_facts *f)
{
    char resolved[TREE_PATH_MAX], loader[TREE_PATH_MAX];
    enum resolve_result why;
    struct elf_file elf;
    struct image_bytes bytes;
    const struct tree_node *node = regular_file(img, path, resolved, sizeof(resolved), &why);
    if (!node || !read_elf(img, node, &elf, &bytes))
        return false;
    const char *interp = elf_interpreter(&elf);
    bool ok = interp && regular_file(img, interp, loader, sizeof(loader), &why);
    if (!interp)
        add_note(f, "%s (%s) is statically linked: it does not count as a shell for the agent",
                 path, resolved);
    else if (!ok)
        add_note(f, "%s needs %.200s, which the image lacks", path, interp);
    image_bytes_release(&bytes);
    return ok;
}

static void find_shell(const struct image *img, struct image_facts *f)
{
    for (size_t i = 0; i < sizeof(shell_candidates) / sizeof(shell_candidates[0]); i++) {
        if (usable_shell(img, shell_candidates[i], f)) {
            snprintf(f->shell, sizeof(f->shell), "%s", shell_candidates[i]);
            return;
        }
    }
}

struct libc_scan {
    char glibc[8][TREE_PATH_MAX / 4]; /* libc.so.6 candidates */
    size_t nglibc;
    bool musl_loader;
};

/* Library directories: lib, lib64, usr/lib, usr/lib64, and one level below them. */
static bool in_lib_dir(const char *path)
{
    const char *p = strncmp(path, "usr/", 4) == 0 ? path + 4 : path;
    if (strncmp(p, "lib/", 4) != 0 && strncmp(p, "lib64/", 6) != 0 && strncmp(p, "lib32/", 6) != 0)
        return false;
    const char *rest = strchr(p, '/') + 1;
    const char *slash = strchr(rest, '/');
    return !slash || !strchr(slash + 1, '/');
}

static int scan_libc(const struct tree_node *node, void *ctx)
{
    struct libc_scan *s = ctx;
    const char *base = base_name(node->path);
    if (node->type == NODE_DIR || !in_lib_dir(node->path))
        return 0;
    if (strncmp(base, "ld-musl-", 8) == 0)
        s->musl_loader = true;
    if (strcmp(base, "libc.so.6") == 0 && s->nglibc < 8 && strlen(node->path) < sizeof(s->glibc[0]))
        strcpy(s->glibc[s->nglibc++], node->path);
    return 0;
}

/* libc.so.6 is glibc's, unless it is a compatibility shim over musl (Alpine's gcompat). */
static bool real_glibc(const struct image *img, const char *path)
{
    char resolved[TREE_PATH_MAX];
    enum resolve_result why;
    struct elf_file elf;
    struct elf_dynamic dyn;
    struct image_bytes bytes;
    const struct tree_node *node = regular_file(img, path, resolved, sizeof(resolved), &why);
    if (!node || !read_elf(img, node, &elf, &bytes))
        return false;
    elf_read_dynamic(&elf, &dyn);
    bool musl = false;
    for (size_t i = 0; i < dyn.nneeded; i++)
        musl = musl || strncmp(dyn.needed[i], "libc.musl", 9) == 0 ||
               strcmp(dyn.needed[i], "libc.so") == 0;
    image_bytes_release(&bytes);
    return !musl;
}

static void find_libc(const struct image *img, struct image_facts *f)
{
    struct libc_scan *scan = calloc(1, sizeof(*scan));
    f->libc = BIN_LIBC_NONE;
    if (!scan)
        return;
    tree_each(&img->files, scan_libc, scan);
    for (size_t i = 0; i < scan->nglibc && f->libc == BIN_LIBC_NONE; i++)
        if (real_glibc(img, scan->glibc[i]))
            f->libc = BIN_LIBC_GLIBC;
    if (f->libc == BIN_LIBC_NONE && scan->musl_loader)
        f->libc = BIN_LIBC_MUSL;
    free(scan);
}

void image_facts_compute(const struct image *img, struct image_facts *f)
{
    image_facts_compute_max(img, f, BINARY_MAX_BYTES);
}

/* The config's User as written ("" when it has none); unknown, with a note, when odd. */
static void find_user(const json_t *config, struct image_facts *f)
{
    const json_t *v = json_object_get(config, "User");
    const char *s = v && !json_is_null(v) ? json_string_value(v) : "";
    if (!s || strlen(s) > IMAGE_FACTS_USER_MAX || strchr(s, '/') || strpbrk(s, " \t\n")) {
        add_note(f, "the image config's User is not a user name or UID; taken as unknown");
        return;
    }
    f->user_known = true;
    snprintf(f->user, sizeof(f->user), "%s", s);
}

void image_facts_compute_max(const struct image *img, struct image_facts *f, size_t binary_max)
{
    const json_t *config = container_config(img);
    memset(f, 0, sizeof(*f));
    f->binary_max = binary_max;
    f->notes = json_array();
    f->entrypoint = argv_field(config, "Entrypoint", f);
    f->cmd = argv_field(config, "Cmd", f);
    find_executable(img, config, f);
    find_shell(img, f);
    find_libc(img, f);
    find_user(config, f);
    if (f->static_go && f->libc == BIN_LIBC_NONE)
        f->problems |= 1u << PROBLEM_NO_LIBC;
}

void image_facts_free(struct image_facts *f)
{
    json_decref(f->entrypoint);
    json_decref(f->cmd);
    json_decref(f->notes);
    if (f->has_binary)
        binfacts_free(&f->binary);
    image_bytes_release(&f->binary_bytes);
    memset(f, 0, sizeof(*f));
}

/* ---- output ----------------------------------------------------------------------------- */

static json_t *string_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static json_t *tristate(bool known, bool value)
{
    return known ? json_boolean(value) : json_null();
}

json_t *image_facts_to_json(const struct image *img, const struct image_facts *f)
{
    const json_t *cfg = img->config;
    bool cgo_known = f->has_binary;
    return json_pack(
        "{s:o,s:o,s:s,s:o,s:o,s:O,s:O,s:o,s:o,s:o,s:o,s:s,s:s,s:o,s:o,s:o,s:O}", "image",
        string_or_null(img->name), "digest", string_or_null(img->digest), "format",
        img->format == IMAGE_OCI_LAYOUT ? "oci-layout" : "docker-archive", "os",
        string_or_null(json_string_value(json_object_get(cfg, "os"))), "architecture",
        string_or_null(json_string_value(json_object_get(cfg, "architecture"))), "entrypoint",
        f->entrypoint, "cmd", f->cmd, "executable", string_or_null(f->executable), "parent",
        string_or_null(f->parent), "staticGo", tristate(f->static_go_known, f->static_go), "cgo",
        tristate(cgo_known, f->binary.cgo), "shell", f->shell[0] ? f->shell : "none", "libc",
        bin_libc_name(f->libc), "user", f->user_known ? json_string(f->user) : json_null(),
        "binary", f->has_binary ? binfacts_to_json(&f->binary) : json_null(), "problems",
        problems_to_json(f->problems), "notes", f->notes);
}

static void print_argv(FILE *out, const char *label, const json_t *argv)
{
    char *text = json_dumps(argv, JSON_COMPACT);
    fprintf(out, "  %-12s %s\n", label, text ? text : "?");
    arena_text_free(text);
}

void image_facts_print(FILE *out, const struct image *img, const struct image_facts *f)
{
    fprintf(out, "image %s (%s)\n", img->name ? img->name : "(unnamed)",
            img->format == IMAGE_OCI_LAYOUT ? "OCI layout" : "docker save archive");
    print_argv(out, "entrypoint", f->entrypoint);
    print_argv(out, "cmd", f->cmd);
    fprintf(out, "  %-12s %s%s%s\n", "executable", f->executable[0] ? f->executable : "unknown",
            f->parent[0] ? ", started by " : "", f->parent);
    fprintf(out, "  %-12s %s\n", "static Go",
            f->static_go_known ? (f->static_go ? "yes" : "no") : "unknown");
    fprintf(out, "  %-12s %s\n", "shell", f->shell[0] ? f->shell : "none");
    fprintf(out, "  %-12s %s\n", "libc", bin_libc_name(f->libc));
    fprintf(out, "  %-12s %s\n", "user",
            !f->user_known ? "unknown"
            : f->user[0]   ? f->user
                           : "(none: root)");
    if (f->has_binary) {
        fprintf(out, "binary %s\n", f->executable);
        binfacts_print(out, &f->binary, 2);
    }
    size_t i;
    json_t *note;
    json_array_foreach(f->notes, i, note)
    {
        fprintf(out, "note: %s\n", json_string_value(note));
    }
}

static void set_annotation(json_t *out, const char *fact, const char *prefix, const char *container,
                           json_t *value)
{
    char key[512];
    snprintf(key, sizeof(key), "%s.%s/%s", fact, prefix, container);
    json_object_set_new(out, key, value);
}

static json_t *argv_text(const json_t *argv)
{
    char *text = json_dumps(argv, JSON_COMPACT | JSON_ENCODE_ANY);
    json_t *value = json_string(text ? text : "[]");
    arena_text_free(text); /* a registry lookup runs in an arena scope */
    return value;
}

json_t *image_facts_annotations(const struct image_facts *f, const char *prefix,
                                const char *container)
{
    json_t *out = json_object();
    if (f->static_go_known)
        set_annotation(out, "static-go", prefix, container,
                       json_string(f->static_go ? "true" : "false"));
    if (f->has_binary)
        set_annotation(out, "cgo", prefix, container,
                       json_string(f->binary.cgo ? "true" : "false"));
    set_annotation(out, "shell", prefix, container, json_string(f->shell[0] ? f->shell : "none"));
    set_annotation(out, "libc", prefix, container, json_string(bin_libc_name(f->libc)));
    set_annotation(out, "entrypoint", prefix, container, argv_text(f->entrypoint));
    set_annotation(out, "cmd", prefix, container, argv_text(f->cmd));
    return out;
}

json_t *image_facts_catalog_rule(const struct image_facts *f, const char *name, const char *digest)
{
    json_t *match;
    if (name)
        match = json_pack("{s:s}", strpbrk(name, "*?[") ? "glob" : "image", name);
    else if (digest)
        match = json_pack("{s:s}", "digest", digest);
    else
        return NULL;
    json_t *facts = json_object();
    if (f->static_go_known)
        json_object_set_new(facts, "staticGo", json_boolean(f->static_go));
    if (f->has_binary)
        json_object_set_new(facts, "cgo", json_boolean(f->binary.cgo));
    json_object_set_new(facts, "shell", json_string(f->shell[0] ? f->shell : "none"));
    json_object_set_new(facts, "libc", json_string(bin_libc_name(f->libc)));
    json_object_set(facts, "entrypoint", f->entrypoint);
    json_object_set(facts, "cmd", f->cmd);
    if (f->user_known)
        json_object_set_new(facts, "user", json_string(f->user));
    return json_pack("{s:o,s:o}", "match", match, "facts", facts);
}
