/*
 * binfacts.h - facts about one executable, and the limitations they hit.
 *
 * Owns struct bin_facts: what `goinject inspect FILE` reports about an ELF
 * executable held in memory (linking, interpreter, C library, whether it is
 * Go and how it was built), the evidence for each, and the problems of the
 * contract's limitations list, each with a stable code, a severity and what
 * to do. It reads through elf.h and buildinfo.h, so every offset is checked.
 *
 * Evidence, strongest first, where a fact has more than one source:
 *   go        the build info blob; .gopclntab / .note.go.buildid; runtime.main;
 *             gccgo: libgo.so needed, a .go_export section or __go_ symbols
 *   cgo       runtime/cgo linked: the x_cgo_init or crosscall2 symbols, or
 *             runtime/cgo. and x_cgo_ names in the pclntab (kept by -s)
 *   race      build setting -race=true; __tsan_ symbols or pclntab names
 *   linker    -linkmode in -ldflags; else a C toolchain's marks: a .comment
 *             section, an .init section or DT_INIT (Go's linker writes none)
 *   vendored  a pclntab file path with a /vendor/ directory outside GOROOT;
 *             an import path with /vendor/ (GOPATH vendoring); a dependency
 *             recorded without a checksum (module vendoring, even with -trimpath)
 *   plugin    package plugin linked: plugin. symbols or pclntab names
 *   linkshared an imported go:link.abihash.<lib> symbol, or libstd.so needed
 */
#ifndef GOINJECT_BINFACTS_H
#define GOINJECT_BINFACTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buildinfo.h"

enum bin_libc { BIN_LIBC_NONE, BIN_LIBC_GLIBC, BIN_LIBC_MUSL, BIN_LIBC_UNKNOWN };
enum bin_linker { BIN_LINKER_INTERNAL, BIN_LINKER_EXTERNAL };
enum bin_toolchain { BIN_TOOLCHAIN_NONE, BIN_TOOLCHAIN_GC, BIN_TOOLCHAIN_GCCGO };

/* The limitations list, one stable code each. */
enum problem_code {
    PROBLEM_STATIC_CGO,
    PROBLEM_RACE,
    PROBLEM_LINKSHARED,
    PROBLEM_PLUGIN,
    PROBLEM_PIE_NO_LIBC,
    PROBLEM_STRIPPED,
    PROBLEM_VENDORED,
    PROBLEM_MUSL_INTERNAL_LINKER,
    PROBLEM_NON_GC_TOOLCHAIN,
    PROBLEM_NOT_LINUX,
    PROBLEM_NO_LIBC, /* image level: a static Go entrypoint in an image without a C library */
    PROBLEM_COUNT
};

/* Why a fact holds, for the evidence object; NULL when it does not hold. */
enum bin_evidence {
    EVIDENCE_GO,
    EVIDENCE_CGO,
    EVIDENCE_RACE,
    EVIDENCE_LINKER,
    EVIDENCE_VENDORED,
    EVIDENCE_PLUGIN,
    EVIDENCE_LINKSHARED,
    EVIDENCE_COUNT
};

struct bin_facts {
    bool go;
    enum bin_toolchain toolchain;
    bool static_linked; /* no PT_INTERP: the dynamic loader never runs */
    bool pie;
    const char *interpreter; /* points into the inspected buffer; NULL when none */
    enum bin_libc libc;      /* the C library the binary needs at run time */
    const char *arch;        /* static string, e.g. "x86_64" */
    bool cgo, race, stripped, plugin, vendored, linkshared;
    enum bin_linker linker;
    char *needed[64]; /* owned copies of DT_NEEDED */
    size_t nneeded;
    struct go_buildinfo info; /* empty when the binary has none */
    bool has_info;
    char evidence[EVIDENCE_COUNT][160];
    uint32_t problems; /* bit per enum problem_code */
};

/*
 * Inspects the ELF executable in data[0..size) (borrowed; facts->interpreter
 * points into it). Returns 0, or -1 with a one-line reason in err when the
 * data is not an ELF file this can read.
 */
int binfacts_inspect(const uint8_t *data, size_t size, struct bin_facts *facts, char *err,
                     size_t errlen);
void binfacts_free(struct bin_facts *facts);

/* True when one of the problems in the mask is unsupported. */
bool problems_unsupported(uint32_t problems);
/*
 * The problems in mask as a JSON array of {code, severity ("partial" or
 * "unsupported"), message: what it means and what to do, in a sentence or two}.
 */
json_t *problems_to_json(uint32_t problems);

const char *bin_libc_name(enum bin_libc libc);
/* The facts as the JSON object of `goinject inspect --json FILE` (without "file"). */
json_t *binfacts_to_json(const struct bin_facts *facts);
/* The same facts for people, one per line, each indented by indent spaces. */
void binfacts_print(FILE *out, const struct bin_facts *facts, int indent);

#endif
