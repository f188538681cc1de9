/*
 * elf.h - a bounds-checked reader of ELF files held in memory.
 *
 * Owns nothing: every structure it fills points into the caller's buffer,
 * which must outlive it. Every size, offset, count and address comes from an
 * untrusted file, so each one is checked against the buffer before it is
 * used: a value that does not fit makes that part absent (or elf_parse fail),
 * never a read out of bounds. ELF32 and ELF64, little and big endian.
 */
#ifndef GOINJECT_ELF_H
#define GOINJECT_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ELF_ET_EXEC 2
#define ELF_ET_DYN  3

#define ELF_PT_LOAD    1
#define ELF_PT_DYNAMIC 2
#define ELF_PT_INTERP  3

#define ELF_SHT_SYMTAB 2
#define ELF_SHT_NOBITS 8
#define ELF_SHT_DYNSYM 11

#define ELF_DT_NULL    0
#define ELF_DT_NEEDED  1
#define ELF_DT_STRTAB  5
#define ELF_DT_STRSZ   10
#define ELF_DT_INIT    12
#define ELF_DT_FLAGS_1 0x6ffffffb
#define ELF_DF_1_PIE   0x08000000

#define ELF_SHN_UNDEF 0

struct elf_file {
    const uint8_t *data; /* borrowed */
    size_t size;
    bool is64;
    bool big_endian;
    uint8_t osabi;
    uint16_t type;
    uint16_t machine;
    uint64_t phoff;
    uint16_t phentsize;
    uint16_t phnum;
    uint64_t shoff;
    uint16_t shentsize;
    uint32_t shnum;    /* 0 when the section header table is absent or out of bounds */
    uint32_t shstrndx; /* index of the section-name string table */
};

struct elf_segment {
    uint32_t type;
    uint32_t flags;
    uint64_t offset;
    uint64_t vaddr;
    uint64_t filesz;
    uint64_t memsz;
};

struct elf_section {
    const char *name; /* never NULL; "" when unnamed or the name is out of bounds */
    uint32_t type;
    uint64_t flags;
    uint64_t addr;
    uint64_t offset;
    uint64_t size;
    uint32_t link;
    uint64_t entsize;
};

struct elf_symbol {
    const char *name; /* never NULL */
    uint64_t value;
    uint16_t shndx; /* ELF_SHN_UNDEF for a symbol the file imports */
    uint8_t info;
};

/*
 * Checks the ELF header of data[0..size) and fills elf. A program header
 * table that does not fit is an error; a section header table that does not
 * fit (a truncated prefix, or a file that never had one) leaves shnum 0.
 * Returns 0, or -1 with a one-line reason in err.
 */
int elf_parse(struct elf_file *elf, const uint8_t *data, size_t size, char *err, size_t errlen);

/* The i-th program header; -1 when i is out of range or the header does not fit. */
int elf_segment_at(const struct elf_file *elf, size_t i, struct elf_segment *out);
/* The i-th section header; -1 when i is out of range or the header does not fit. */
int elf_section_at(const struct elf_file *elf, size_t i, struct elf_section *out);
/* The first section named name; false when there is none. */
bool elf_find_section(const struct elf_file *elf, const char *name, struct elf_section *out);
/* The section's bytes, or NULL for NOBITS and sections outside the buffer. */
const uint8_t *elf_section_bytes(const struct elf_file *elf, const struct elf_section *sec,
                                 size_t *len);
/*
 * The file bytes at virtual address addr, as far as its PT_LOAD segment holds
 * them in the file (*avail bytes), or NULL when no segment does.
 */
const uint8_t *elf_vaddr_span(const struct elf_file *elf, uint64_t addr, size_t *avail);
/* len bytes at virtual address addr, when a PT_LOAD segment has them in the file; else NULL. */
const uint8_t *elf_vaddr_bytes(const struct elf_file *elf, uint64_t addr, size_t len);
/* The NUL-terminated string at off in table[0..len), or NULL when it runs past the end. */
const char *elf_string_at(const uint8_t *table, size_t len, uint64_t off);

/* Reads an integer of the file's byte order. */
uint16_t elf_u16(const struct elf_file *elf, const uint8_t *p);
uint32_t elf_u32(const struct elf_file *elf, const uint8_t *p);
uint64_t elf_u64(const struct elf_file *elf, const uint8_t *p);

/* Called per symbol; a nonzero return stops the walk and is returned. */
typedef int (*elf_symbol_fn)(const struct elf_symbol *sym, void *ctx);
/* Walks the symbols of a SYMTAB or DYNSYM section (names from its linked string table). */
int elf_each_symbol(const struct elf_file *elf, const struct elf_section *symtab, elf_symbol_fn fn,
                    void *ctx);

/* Called per DT_NEEDED name and for the other entries of the dynamic segment. */
struct elf_dynamic {
    bool present;           /* there is a PT_DYNAMIC segment inside the file */
    uint64_t flags_1;       /* DT_FLAGS_1 */
    bool has_init;          /* DT_INIT: start-up code of a C toolchain's crti.o */
    const char *needed[64]; /* DT_NEEDED names, in order, borrowed */
    size_t nneeded;
    bool needed_truncated; /* more than fit in needed[] */
};
/* Reads the dynamic segment (found through the program headers, not the sections). */
void elf_read_dynamic(const struct elf_file *elf, struct elf_dynamic *out);
/* The PT_INTERP path, or NULL when there is none (or it is not a string inside the file). */
const char *elf_interpreter(const struct elf_file *elf);

#endif
