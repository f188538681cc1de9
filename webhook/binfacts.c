/* binfacts.c - facts about one executable and its problems; see binfacts.h. */
#include "binfacts.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf.h"

/* ---- the problems table ---------------------------------------------------- */

enum problem_severity { SEVERITY_PARTIAL, SEVERITY_UNSUPPORTED };

struct problem_info {
    const char *code;
    enum problem_severity severity;
    const char *message;
};

static const struct problem_info problem_table[PROBLEM_COUNT] = {
    [PROBLEM_STATIC_CGO] = {"static-cgo", SEVERITY_UNSUPPORTED,
                            "static binary with cgo: its static C library would clash with the "
                            "agent's. Link the C library dynamically: -ldflags=-linkmode=external "
                            "without -extldflags=-static."},
    [PROBLEM_RACE] = {"race", SEVERITY_UNSUPPORTED,
                      "built with -race: the agent does not inject into race-detector builds. "
                      "Build without -race for images you want monitored."},
    [PROBLEM_LINKSHARED] = {"linkshared", SEVERITY_UNSUPPORTED,
                            "built with -linkshared (the Go standard library as a shared library): "
                            "the agent rejects it. Build without -linkshared."},
    [PROBLEM_PLUGIN] = {"plugin", SEVERITY_PARTIAL,
                        "links package plugin: deep monitoring stops once a Go plugin is opened. "
                        "Link that code into the binary instead of loading it as a plugin."},
    [PROBLEM_PIE_NO_LIBC] = {"pie-no-libc", SEVERITY_UNSUPPORTED,
                             "dynamically linked without the C library the agent needs "
                             "(-buildmode=pie with CGO_ENABLED=0). Drop -buildmode=pie, or build "
                             "with CGO_ENABLED=1 -ldflags=-linkmode=external."},
    [PROBLEM_STRIPPED] = {"stripped", SEVERITY_PARTIAL,
                          "no symbol table (-ldflags=-s, or strip): monitoring works today but is "
                          "not guaranteed. Build without -s and do not strip the binary."},
    [PROBLEM_VENDORED] = {"vendored", SEVERITY_PARTIAL,
                          "vendored dependencies: the agent does not instrument vendored "
                          "packages (such as gRPC). Build with modules (-mod=mod, no vendor/)."},
    [PROBLEM_MUSL_INTERNAL_LINKER] = {"musl-internal-linker", SEVERITY_UNSUPPORTED,
                                      "musl binary linked by Go's internal linker, which does not "
                                      "initialise musl for the agent. Build with "
                                      "-ldflags=-linkmode=external."},
    [PROBLEM_NON_GC_TOOLCHAIN] = {"non-gc-toolchain", SEVERITY_UNSUPPORTED,
                                  "not built by the official gc toolchain (gccgo): only gc "
                                  "builds are supported. Build with the go command's default "
                                  "compiler."},
    [PROBLEM_NOT_LINUX] = {"not-linux", SEVERITY_UNSUPPORTED,
                           "not a Linux binary: static Go monitoring is Linux-only. Build with "
                           "GOOS=linux."},
    [PROBLEM_NO_LIBC] = {"no-libc", SEVERITY_UNSUPPORTED,
                         "the image has no C library (FROM scratch), which the agent needs. Use a "
                         "base image with glibc or musl (distroless/base, alpine, debian)."},
};

bool problems_unsupported(uint32_t problems)
{
    for (int c = 0; c < PROBLEM_COUNT; c++)
        if ((problems & (1u << c)) && problem_table[c].severity == SEVERITY_UNSUPPORTED)
            return true;
    return false;
}

json_t *problems_to_json(uint32_t problems)
{
    json_t *list = json_array();
    for (int c = 0; c < PROBLEM_COUNT; c++) {
        if (!(problems & (1u << c)))
            continue;
        const struct problem_info *p = &problem_table[c];
        json_array_append_new(
            list, json_pack("{s:s,s:s,s:s}", "code", p->code, "severity",
                            p->severity == SEVERITY_UNSUPPORTED ? "unsupported" : "partial",
                            "message", p->message));
    }
    return list;
}

const char *bin_libc_name(enum bin_libc libc)
{
    static const char *const names[] = {"none", "glibc", "musl", "unknown"};
    return names[libc];
}

/* ---- evidence gathering ------------------------------------------------------- */

/* What one pass over the symbol tables saw. */
struct symbol_scan {
    bool runtime_main, cgo, tsan, plugin, gccgo;
    char linkshared_lib[96]; /* from an imported go:link.abihash.<lib> */
};

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void note(struct bin_facts *f, enum bin_evidence kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note(struct bin_facts *f, enum bin_evidence kind, const char *fmt, ...)
{
    if (f->evidence[kind][0])
        return; /* the first (strongest) evidence stays */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->evidence[kind], sizeof(f->evidence[kind]), fmt, ap);
    va_end(ap);
}

static int scan_symbol(const struct elf_symbol *sym, void *ctx)
{
    struct symbol_scan *s = ctx;
    const char *n = sym->name;
    bool defined = sym->shndx != ELF_SHN_UNDEF;
    if (defined && strcmp(n, "runtime.main") == 0)
        s->runtime_main = true;
    if (defined && (strcmp(n, "x_cgo_init") == 0 || strcmp(n, "crosscall2") == 0))
        s->cgo = true;
    if (starts_with(n, "__tsan_"))
        s->tsan = true;
    if (defined && starts_with(n, "plugin."))
        s->plugin = true;
    if (starts_with(n, "__go_"))
        s->gccgo = true;
    if (!defined && !s->linkshared_lib[0] &&
        (starts_with(n, "go:link.abihash.") || starts_with(n, "go.link.abihash.")))
        snprintf(s->linkshared_lib, sizeof(s->linkshared_lib), "%s", n + 16);
    return 0;
}

static void scan_symbols(const struct elf_file *elf, struct symbol_scan *scan, bool *has_symtab)
{
    struct elf_section sec;
    *has_symtab = false;
    for (size_t i = 1; elf_section_at(elf, i, &sec) == 0; i++) {
        if (sec.type != ELF_SHT_SYMTAB && sec.type != ELF_SHT_DYNSYM)
            continue;
        *has_symtab = *has_symtab || sec.type == ELF_SHT_SYMTAB;
        elf_each_symbol(elf, &sec, scan_symbol, scan);
    }
}

/* The pclntab holds every function and file name, even in a binary built with -s. */
struct region {
    const uint8_t *data;
    size_t len;
};

static struct region pclntab_region(const struct elf_file *elf)
{
    struct elf_section sec;
    struct region r = {NULL, 0};
    if (elf_find_section(elf, ".gopclntab", &sec) ||
        elf_find_section(elf, ".data.rel.ro.gopclntab", &sec))
        r.data = elf_section_bytes(elf, &sec, &r.len);
    if (!r.data && elf->shnum == 0) { /* no section headers at all: look everywhere */
        r.data = elf->data;
        r.len = elf->size;
    }
    return r;
}

/* True when some NUL-terminated string in the region starts with prefix. */
static bool region_has_name(struct region r, const char *prefix)
{
    size_t plen = strlen(prefix);
    if (!r.data || r.len < plen)
        return false;
    if (memcmp(r.data, prefix, plen) == 0)
        return true;
    char needle[64];
    needle[0] = '\0';
    snprintf(needle + 1, sizeof(needle) - 1, "%s", prefix);
    return memmem(r.data, r.len, needle, plen + 1) != NULL;
}

/* The NUL-terminated string around position at, copied (bounded) into out. */
static void string_around(struct region r, size_t at, char *out, size_t outlen)
{
    size_t start = at, end = at;
    while (start > 0 && r.data[start - 1] != '\0' && at - start < 1024)
        start--;
    while (end < r.len && r.data[end] != '\0' && end - at < 1024)
        end++;
    size_t n = end - start < outlen - 1 ? end - start : outlen - 1;
    memcpy(out, r.data + start, n);
    out[n] = '\0';
}

/* GOROOT, from the runtime's own source path ("/usr/local/go/src/runtime/proc.go"). */
static void find_goroot(struct region r, char *goroot, size_t len)
{
    static const char marker[] = "/src/runtime/proc.go";
    goroot[0] = '\0';
    const uint8_t *hit = r.data ? memmem(r.data, r.len, marker, sizeof(marker) - 1) : NULL;
    if (!hit)
        return;
    string_around(r, (size_t)(hit - r.data), goroot, len);
    char *cut = strstr(goroot, marker);
    if (cut)
        *cut = '\0';
}

/* A character that can continue an import path element (a '.' cannot end a "cmd" element). */
static bool path_char(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '/' || c == '~' || c == '+';
}

/*
 * True when the "/vendor/" at r.data[hit] is the Go distribution's own:
 * GOROOT/src/vendor and GOROOT/src/cmd/vendor in file paths, and the import
 * paths "cmd/vendor/..." (as in "cmd/vendor/golang.org/x/mod/semver.Max" or
 * "type:.eq.cmd/vendor/..."). The standard library's own import paths are
 * "vendor/...", which has no "/vendor/" at all.
 */
static bool is_goroot_vendor(struct region r, size_t hit, const char *name, const char *goroot)
{
    char prefix[560];
    if (hit >= 3 && memcmp(r.data + hit - 3, "cmd", 3) == 0 &&
        (hit == 3 || !path_char(r.data[hit - 4])))
        return true;
    if (!goroot[0])
        return strstr(name, "/src/vendor/") || strstr(name, "/src/cmd/vendor/");
    snprintf(prefix, sizeof(prefix), "%s/src/vendor/", goroot);
    if (starts_with(name, prefix))
        return true;
    snprintf(prefix, sizeof(prefix), "%s/src/cmd/vendor/", goroot);
    return starts_with(name, prefix);
}

/* A name with a /vendor/ directory that is not the Go distribution's own vendor tree. */
static bool find_vendor_name(struct region r, char *found, size_t len)
{
    char goroot[512];
    find_goroot(r, goroot, sizeof(goroot));
    size_t pos = 0;
    while (r.data && pos < r.len) {
        const uint8_t *hit = memmem(r.data + pos, r.len - pos, "/vendor/", 8);
        if (!hit)
            return false;
        pos = (size_t)(hit - r.data) + 8;
        string_around(r, (size_t)(hit - r.data), found, len);
        if (!is_goroot_vendor(r, (size_t)(hit - r.data), found, goroot))
            return true;
    }
    return false;
}

/* Module vendoring records dependencies without checksums (module mode always has one). */
static const struct go_module *dep_without_sum(const struct go_buildinfo *info)
{
    for (size_t i = 0; i < info->ndeps; i++) {
        const struct go_module *m = &info->deps[i];
        if (!m->sum[0] && !m->replace_path && strcmp(m->version, "(devel)") != 0)
            return m;
    }
    return NULL;
}

/* ---- the facts ---------------------------------------------------------------- */

static const char *arch_name(uint16_t machine)
{
    switch (machine) {
    case 3:
        return "386";
    case 8:
        return "mips";
    case 20:
        return "ppc";
    case 21:
        return "ppc64";
    case 22:
        return "s390x";
    case 40:
        return "arm";
    case 62:
        return "x86_64";
    case 183:
        return "aarch64";
    case 243:
        return "riscv64";
    case 258:
        return "loongarch64";
    default:
        return "unknown";
    }
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static bool is_libc_name(const char *needed)
{
    return starts_with(needed, "libc.so") || starts_with(needed, "libc.musl-");
}

/* The C library: which loader the binary names, and whether it needs a libc at all. */
static void decide_libc(struct bin_facts *f)
{
    bool needs = false, musl = false, glibc = false;
    for (size_t i = 0; i < f->nneeded; i++) {
        needs = needs || is_libc_name(f->needed[i]);
        musl = musl || starts_with(f->needed[i], "libc.musl-");
        glibc = glibc || strcmp(f->needed[i], "libc.so.6") == 0;
    }
    if (f->interpreter) {
        const char *base = base_name(f->interpreter);
        musl = musl || starts_with(base, "ld-musl");
        glibc = glibc || (!musl && (starts_with(base, "ld-linux") || starts_with(base, "ld64.so") ||
                                    starts_with(base, "ld.so")));
    }
    if (!needs)
        f->libc = BIN_LIBC_NONE;
    else
        f->libc = musl ? BIN_LIBC_MUSL : glibc ? BIN_LIBC_GLIBC : BIN_LIBC_UNKNOWN;
}

/* "-linkmode=external", "-linkmode external" or "--linkmode=..." among the -ldflags words. */
static const char *ldflags_linkmode(const char *ldflags)
{
    if (!ldflags)
        return NULL;
    const char *p = ldflags;
    while ((p = strstr(p, "linkmode"))) {
        const char *v = p + 8;
        bool word_start = p >= ldflags + 1 && p[-1] == '-';
        p = v;
        if (!word_start || (*v != '=' && *v != ' '))
            continue;
        v++;
        if (starts_with(v, "external"))
            return "external";
        if (starts_with(v, "internal"))
            return "internal";
    }
    return NULL;
}

static void decide_linker(const struct elf_file *elf, const struct elf_dynamic *dyn,
                          struct bin_facts *f)
{
    struct elf_section sec;
    const char *ldflags = f->has_info ? buildinfo_setting(&f->info, "-ldflags") : NULL;
    const char *mode = ldflags_linkmode(ldflags);
    f->linker = BIN_LINKER_INTERNAL;
    if (mode) {
        f->linker = strcmp(mode, "external") == 0 ? BIN_LINKER_EXTERNAL : BIN_LINKER_INTERNAL;
        note(f, EVIDENCE_LINKER, "-ldflags sets -linkmode=%s", mode);
    } else if (elf_find_section(elf, ".comment", &sec)) {
        f->linker = BIN_LINKER_EXTERNAL;
        note(f, EVIDENCE_LINKER,
             "a .comment section (written by the C toolchain, never by Go's "
             "linker)");
    } else if (elf_find_section(elf, ".init", &sec) || dyn->has_init) {
        f->linker = BIN_LINKER_EXTERNAL;
        note(f, EVIDENCE_LINKER, "C start-up code (.init / DT_INIT from crti.o)");
    } else if (f->toolchain == BIN_TOOLCHAIN_GCCGO) {
        f->linker = BIN_LINKER_EXTERNAL;
        note(f, EVIDENCE_LINKER, "gccgo always links with the system linker");
    } else {
        note(f, EVIDENCE_LINKER, "no C toolchain sections (.comment, .init)");
    }
}

static void decide_go(const struct elf_file *elf, const struct symbol_scan *syms,
                      const struct elf_dynamic *dyn, struct bin_facts *f)
{
    struct elf_section sec;
    const char *compiler = f->has_info ? buildinfo_setting(&f->info, "-compiler") : NULL;
    bool libgo = false;
    for (size_t i = 0; i < dyn->nneeded; i++)
        libgo = libgo || starts_with(dyn->needed[i], "libgo.so");
    if ((compiler && strcmp(compiler, "gccgo") == 0) || libgo ||
        elf_find_section(elf, ".go_export", &sec) || syms->gccgo) {
        f->go = true;
        f->toolchain = BIN_TOOLCHAIN_GCCGO;
        note(f, EVIDENCE_GO, "gccgo: %s",
             libgo      ? "needs libgo.so"
             : compiler ? "-compiler=gccgo"
                        : "gccgo sections or symbols");
    } else if (f->has_info) {
        f->go = true;
        note(f, EVIDENCE_GO, "Go build info (.go.buildinfo)");
    } else if (elf_find_section(elf, ".gopclntab", &sec) ||
               elf_find_section(elf, ".note.go.buildid", &sec)) {
        f->go = true;
        note(f, EVIDENCE_GO, "%s section", sec.name);
    } else if (syms->runtime_main) {
        f->go = true;
        note(f, EVIDENCE_GO, "runtime.main symbol");
    }
    if (f->go && f->toolchain == BIN_TOOLCHAIN_NONE)
        f->toolchain = BIN_TOOLCHAIN_GC;
}

static void decide_go_features(const struct symbol_scan *syms, struct region pcln,
                               const struct elf_dynamic *dyn, struct bin_facts *f)
{
    const char *race = f->has_info ? buildinfo_setting(&f->info, "-race") : NULL;
    char name[256];
    if (syms->cgo || region_has_name(pcln, "runtime/cgo.") || region_has_name(pcln, "x_cgo_"))
        note(f, EVIDENCE_CGO, "%s",
             syms->cgo ? "x_cgo_init / crosscall2 symbols"
                       : "runtime/cgo functions in the pclntab");
    if (race && strcmp(race, "true") == 0)
        note(f, EVIDENCE_RACE, "build setting -race=true");
    else if (syms->tsan || region_has_name(pcln, "__tsan_"))
        note(f, EVIDENCE_RACE, "ThreadSanitizer (__tsan_) functions");
    if (syms->plugin || region_has_name(pcln, "plugin."))
        note(f, EVIDENCE_PLUGIN, "package plugin is linked");
    if (find_vendor_name(pcln, name, sizeof(name)))
        note(f, EVIDENCE_VENDORED, "vendor path %.120s", name);
    const struct go_module *dep = f->has_info ? dep_without_sum(&f->info) : NULL;
    if (dep)
        note(f, EVIDENCE_VENDORED, "dependency %.100s recorded without a checksum", dep->path);
    if (syms->linkshared_lib[0])
        note(f, EVIDENCE_LINKSHARED, "imports go:link.abihash.%s", syms->linkshared_lib);
    for (size_t i = 0; i < dyn->nneeded; i++)
        if (strcmp(dyn->needed[i], "libstd.so") == 0)
            note(f, EVIDENCE_LINKSHARED, "needs libstd.so");
    f->cgo = f->evidence[EVIDENCE_CGO][0] != '\0';
    f->race = f->evidence[EVIDENCE_RACE][0] != '\0';
    f->plugin = f->evidence[EVIDENCE_PLUGIN][0] != '\0';
    f->vendored = f->evidence[EVIDENCE_VENDORED][0] != '\0';
    f->linkshared = f->evidence[EVIDENCE_LINKSHARED][0] != '\0';
}

static void decide_problems(const struct elf_file *elf, struct bin_facts *f)
{
    const char *goos = f->has_info ? buildinfo_setting(&f->info, "GOOS") : NULL;
    uint32_t p = 0;
    if (!f->go)
        return;
    if (f->static_linked && f->cgo)
        p |= 1u << PROBLEM_STATIC_CGO;
    if (f->race)
        p |= 1u << PROBLEM_RACE;
    if (f->linkshared)
        p |= 1u << PROBLEM_LINKSHARED;
    if (f->plugin)
        p |= 1u << PROBLEM_PLUGIN;
    if (!f->static_linked && f->libc == BIN_LIBC_NONE)
        p |= 1u << PROBLEM_PIE_NO_LIBC;
    if (f->stripped)
        p |= 1u << PROBLEM_STRIPPED;
    if (f->vendored)
        p |= 1u << PROBLEM_VENDORED;
    if (!f->static_linked && f->libc == BIN_LIBC_MUSL && f->linker == BIN_LINKER_INTERNAL)
        p |= 1u << PROBLEM_MUSL_INTERNAL_LINKER;
    if (f->toolchain == BIN_TOOLCHAIN_GCCGO)
        p |= 1u << PROBLEM_NON_GC_TOOLCHAIN;
    /* OS ABI 0 is System V (what Linux uses), 3 is Linux. */
    if ((goos && strcmp(goos, "linux") != 0) || (elf->osabi != 0 && elf->osabi != 3))
        p |= 1u << PROBLEM_NOT_LINUX;
    f->problems = p;
}

int binfacts_inspect(const uint8_t *data, size_t size, struct bin_facts *f, char *err,
                     size_t errlen)
{
    struct elf_file elf;
    memset(f, 0, sizeof(*f));
    if (elf_parse(&elf, data, size, err, errlen) != 0)
        return -1;
    if (elf.type != ELF_ET_EXEC && elf.type != ELF_ET_DYN) {
        snprintf(err, errlen, "ELF file is not an executable (type %u)", elf.type);
        return -1;
    }
    struct elf_dynamic dyn;
    struct symbol_scan syms;
    memset(&syms, 0, sizeof(syms));
    elf_read_dynamic(&elf, &dyn);
    for (size_t i = 0; i < dyn.nneeded; i++)
        if ((f->needed[f->nneeded] = strdup(dyn.needed[i])))
            f->nneeded++;
    f->arch = arch_name(elf.machine);
    f->interpreter = elf_interpreter(&elf);
    f->static_linked = f->interpreter == NULL;
    f->pie = elf.type == ELF_ET_DYN && (f->interpreter || (dyn.flags_1 & ELF_DF_1_PIE));
    char ignored[128];
    f->has_info = buildinfo_from_elf(&elf, &f->info, ignored, sizeof(ignored)) == 1;
    scan_symbols(&elf, &syms, &f->stripped);
    f->stripped = !f->stripped;
    decide_go(&elf, &syms, &dyn, f);
    decide_libc(f);
    decide_linker(&elf, &dyn, f);
    if (f->go)
        decide_go_features(&syms, pclntab_region(&elf), &dyn, f);
    decide_problems(&elf, f);
    return 0;
}

void binfacts_free(struct bin_facts *f)
{
    for (size_t i = 0; i < f->nneeded; i++)
        free(f->needed[i]);
    buildinfo_free(&f->info);
    memset(f, 0, sizeof(*f));
}

/* ---- output ----------------------------------------------------------------- */

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *settings_json(const struct go_buildinfo *info)
{
    json_t *settings = json_object();
    for (size_t i = 0; i < info->nsettings; i++)
        json_object_set_new(settings, info->settings[i].key, json_string(info->settings[i].value));
    return settings;
}

static json_t *evidence_json(const struct bin_facts *f)
{
    static const char *const names[EVIDENCE_COUNT] = {"go",       "cgo",    "race",      "linker",
                                                      "vendored", "plugin", "linkshared"};
    json_t *evidence = json_object();
    for (int e = 0; e < EVIDENCE_COUNT; e++)
        if (f->evidence[e][0])
            json_object_set_new(evidence, names[e], json_string(f->evidence[e]));
    return evidence;
}

static const char *toolchain_name(enum bin_toolchain t)
{
    return t == BIN_TOOLCHAIN_GC ? "gc" : t == BIN_TOOLCHAIN_GCCGO ? "gccgo" : NULL;
}

json_t *binfacts_to_json(const struct bin_facts *f)
{
    json_t *needed = json_array();
    for (size_t i = 0; i < f->nneeded; i++)
        json_array_append_new(needed, json_string(f->needed[i]));
    json_t *o = json_pack(
        "{s:b,s:o,s:o,s:b,s:b,s:o,s:s,s:o,s:s,s:b,s:b,s:b,s:s,s:b,s:b,s:b,s:o}", "go", f->go,
        "goVersion", string_or_null(f->info.go_version), "toolchain",
        string_or_null(toolchain_name(f->toolchain)), "static", f->static_linked, "pie", f->pie,
        "interpreter", string_or_null(f->interpreter), "libc", bin_libc_name(f->libc), "needed",
        needed, "arch", f->arch, "cgo", f->cgo, "race", f->race, "stripped", f->stripped, "linker",
        f->linker == BIN_LINKER_EXTERNAL ? "external" : "internal", "plugin", f->plugin, "vendored",
        f->vendored, "linkshared", f->linkshared, "problems", problems_to_json(f->problems));
    json_object_set_new(o, "mainModule",
                        string_or_null(f->info.has_main ? f->info.main.path : f->info.main_path));
    json_object_set_new(o, "settings", settings_json(&f->info));
    json_object_set_new(o, "evidence", evidence_json(f));
    return o;
}

static const char *yes_no(bool b)
{
    return b ? "yes" : "no";
}

static void line(FILE *out, int indent, const char *label, const char *value, const char *why)
{
    fprintf(out, "%*s%-12s %s", indent, "", label, value);
    if (why && *why)
        fprintf(out, "  (%s)", why);
    fputc('\n', out);
}

void binfacts_print(FILE *out, const struct bin_facts *f, int indent)
{
    char go[160];
    if (f->go)
        snprintf(go, sizeof(go), "yes, %s%s%s", toolchain_name(f->toolchain),
                 f->info.go_version ? " " : "", f->info.go_version ? f->info.go_version : "");
    line(out, indent, "go", f->go ? go : "no", f->evidence[EVIDENCE_GO]);
    if (f->info.has_main)
        line(out, indent, "main module", f->info.main.path, NULL);
    line(out, indent, "linking", f->static_linked ? "static" : "dynamic", NULL);
    line(out, indent, "pie", yes_no(f->pie), NULL);
    line(out, indent, "interpreter", f->interpreter ? f->interpreter : "none", NULL);
    line(out, indent, "libc", bin_libc_name(f->libc), NULL);
    line(out, indent, "linker", f->linker == BIN_LINKER_EXTERNAL ? "external" : "internal",
         f->evidence[EVIDENCE_LINKER]);
    line(out, indent, "stripped", yes_no(f->stripped), NULL);
    if (!f->go)
        return;
    line(out, indent, "cgo", yes_no(f->cgo), f->evidence[EVIDENCE_CGO]);
    line(out, indent, "race", yes_no(f->race), f->evidence[EVIDENCE_RACE]);
    line(out, indent, "plugin", yes_no(f->plugin), f->evidence[EVIDENCE_PLUGIN]);
    line(out, indent, "vendored", yes_no(f->vendored), f->evidence[EVIDENCE_VENDORED]);
    line(out, indent, "linkshared", yes_no(f->linkshared), f->evidence[EVIDENCE_LINKSHARED]);
    for (size_t i = 0; i < f->info.nsettings; i++)
        if (strcmp(f->info.settings[i].key, "DefaultGODEBUG") != 0)
            fprintf(out, "%*s%-12s %s=%s\n", indent, "", i == 0 ? "settings" : "",
                    f->info.settings[i].key, f->info.settings[i].value);
}
