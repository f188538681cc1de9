/* elf.c - bounds-checked ELF reading; see elf.h. */
#include "elf.h"

#include <stdio.h>
#include <string.h>

#define EI_CLASS   4
#define EI_DATA    5
#define EI_VERSION 6
#define EI_OSABI   7

/* No real executable has more program headers than this; more is a hostile file. */
#define MAX_SEGMENTS 4096
/* Dynamic entries read at most (a real one has a few dozen). */
#define MAX_DYNAMIC_ENTRIES 4096

/* True when [off, off+len) lies inside [0, size). Written so nothing can overflow. */
static bool in_bounds(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

uint16_t elf_u16(const struct elf_file *elf, const uint8_t *p)
{
    return elf->big_endian ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

uint32_t elf_u32(const struct elf_file *elf, const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[elf->big_endian ? 3 - i : i] << (8 * i);
    return v;
}

uint64_t elf_u64(const struct elf_file *elf, const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[elf->big_endian ? 7 - i : i] << (8 * i);
    return v;
}

/* A word of the file's class: 8 bytes in ELF64, 4 in ELF32. */
static uint64_t word(const struct elf_file *elf, const uint8_t *p)
{
    return elf->is64 ? elf_u64(elf, p) : elf_u32(elf, p);
}

static int fail(char *err, size_t errlen, const char *reason)
{
    snprintf(err, errlen, "%s", reason);
    return -1;
}

/* Reads the section header table's place; an unusable table just means "no sections". */
static void parse_section_table(struct elf_file *elf, const uint8_t *h)
{
    size_t min_entsize = elf->is64 ? 64 : 40;
    elf->shoff = word(elf, h + (elf->is64 ? 40 : 32));
    elf->shentsize = elf_u16(elf, h + (elf->is64 ? 58 : 46));
    uint64_t shnum = elf_u16(elf, h + (elf->is64 ? 60 : 48));
    uint64_t shstrndx = elf_u16(elf, h + (elf->is64 ? 62 : 50));
    elf->shnum = 0;
    if (elf->shoff == 0 || elf->shentsize < min_entsize ||
        !in_bounds(elf->shoff, elf->shentsize, elf->size))
        return;
    /* More than 0xff00 sections: the real counts live in section 0 (ELF's extended numbering). */
    const uint8_t *first = elf->data + elf->shoff;
    if (shnum == 0)
        shnum = word(elf, first + (elf->is64 ? 32 : 20));
    if (shstrndx == 0xffff)
        shstrndx = elf_u32(elf, first + (elf->is64 ? 44 : 28));
    if (shnum > UINT32_MAX || !in_bounds(elf->shoff, shnum * elf->shentsize, elf->size))
        return;
    elf->shnum = (uint32_t)shnum;
    elf->shstrndx = shstrndx < shnum ? (uint32_t)shstrndx : 0;
}

int elf_parse(struct elf_file *elf, const uint8_t *data, size_t size, char *err, size_t errlen)
{
    memset(elf, 0, sizeof(*elf));
    if (size < 4 || memcmp(data, "\177ELF", 4) != 0)
        return fail(err, errlen, "not an ELF file");
    if (size < 52)
        return fail(err, errlen, "truncated ELF header");
    if ((data[EI_CLASS] != 1 && data[EI_CLASS] != 2) || (data[EI_DATA] != 1 && data[EI_DATA] != 2))
        return fail(err, errlen, "ELF header has an unknown class or byte order");
    elf->data = data;
    elf->size = size;
    elf->is64 = data[EI_CLASS] == 2;
    elf->big_endian = data[EI_DATA] == 2;
    elf->osabi = data[EI_OSABI];
    if (elf->is64 && size < 64)
        return fail(err, errlen, "truncated ELF header");
    elf->type = elf_u16(elf, data + 16);
    elf->machine = elf_u16(elf, data + 18);
    elf->phoff = word(elf, data + (elf->is64 ? 32 : 28));
    elf->phentsize = elf_u16(elf, data + (elf->is64 ? 54 : 42));
    elf->phnum = elf_u16(elf, data + (elf->is64 ? 56 : 44));
    size_t min_phentsize = elf->is64 ? 56 : 32;
    if (elf->phnum > 0 && (elf->phentsize < min_phentsize || elf->phnum > MAX_SEGMENTS ||
                           !in_bounds(elf->phoff, (uint64_t)elf->phnum * elf->phentsize, size)))
        return fail(err, errlen, "ELF program headers lie outside the file");
    parse_section_table(elf, data);
    return 0;
}

int elf_segment_at(const struct elf_file *elf, size_t i, struct elf_segment *out)
{
    if (i >= elf->phnum)
        return -1;
    const uint8_t *p = elf->data + elf->phoff + i * elf->phentsize;
    out->type = elf_u32(elf, p);
    if (elf->is64) {
        out->flags = elf_u32(elf, p + 4);
        out->offset = elf_u64(elf, p + 8);
        out->vaddr = elf_u64(elf, p + 16);
        out->filesz = elf_u64(elf, p + 32);
        out->memsz = elf_u64(elf, p + 40);
    } else {
        out->offset = elf_u32(elf, p + 4);
        out->vaddr = elf_u32(elf, p + 8);
        out->filesz = elf_u32(elf, p + 16);
        out->memsz = elf_u32(elf, p + 20);
        out->flags = elf_u32(elf, p + 24);
    }
    return 0;
}

const char *elf_string_at(const uint8_t *table, size_t len, uint64_t off)
{
    if (!table || off >= len)
        return NULL;
    if (!memchr(table + off, '\0', len - off))
        return NULL;
    return (const char *)table + off;
}

/* The raw header of section i, without its name. */
static int section_header(const struct elf_file *elf, size_t i, struct elf_section *out,
                          uint32_t *name_off)
{
    if (i >= elf->shnum)
        return -1;
    const uint8_t *p = elf->data + elf->shoff + i * elf->shentsize;
    *name_off = elf_u32(elf, p);
    out->type = elf_u32(elf, p + 4);
    if (elf->is64) {
        out->flags = elf_u64(elf, p + 8);
        out->addr = elf_u64(elf, p + 16);
        out->offset = elf_u64(elf, p + 24);
        out->size = elf_u64(elf, p + 32);
        out->link = elf_u32(elf, p + 40);
        out->entsize = elf_u64(elf, p + 56);
    } else {
        out->flags = elf_u32(elf, p + 8);
        out->addr = elf_u32(elf, p + 12);
        out->offset = elf_u32(elf, p + 16);
        out->size = elf_u32(elf, p + 20);
        out->link = elf_u32(elf, p + 24);
        out->entsize = elf_u32(elf, p + 36);
    }
    out->name = "";
    return 0;
}

int elf_section_at(const struct elf_file *elf, size_t i, struct elf_section *out)
{
    uint32_t name_off, ignored;
    struct elf_section names;
    if (section_header(elf, i, out, &name_off) != 0)
        return -1;
    if (section_header(elf, elf->shstrndx, &names, &ignored) == 0) {
        size_t len;
        const uint8_t *table = elf_section_bytes(elf, &names, &len);
        const char *name = elf_string_at(table, len, name_off);
        out->name = name ? name : "";
    }
    return 0;
}

bool elf_find_section(const struct elf_file *elf, const char *name, struct elf_section *out)
{
    for (size_t i = 1; i < elf->shnum; i++)
        if (elf_section_at(elf, i, out) == 0 && strcmp(out->name, name) == 0)
            return true;
    return false;
}

const uint8_t *elf_section_bytes(const struct elf_file *elf, const struct elf_section *sec,
                                 size_t *len)
{
    *len = 0;
    if (sec->type == ELF_SHT_NOBITS || !in_bounds(sec->offset, sec->size, elf->size))
        return NULL;
    *len = (size_t)sec->size;
    return elf->data + sec->offset;
}

const uint8_t *elf_vaddr_span(const struct elf_file *elf, uint64_t addr, size_t *avail)
{
    struct elf_segment seg;
    *avail = 0;
    for (size_t i = 0; elf_segment_at(elf, i, &seg) == 0; i++) {
        if (seg.type != ELF_PT_LOAD || addr < seg.vaddr || addr - seg.vaddr >= seg.filesz)
            continue;
        uint64_t delta = addr - seg.vaddr;
        uint64_t off = seg.offset + delta;
        if (off < seg.offset || off >= elf->size)
            continue;
        uint64_t left = seg.filesz - delta;
        if (left > elf->size - off)
            left = elf->size - off; /* a segment that claims more than the file holds */
        *avail = (size_t)left;
        return elf->data + off;
    }
    return NULL;
}

const uint8_t *elf_vaddr_bytes(const struct elf_file *elf, uint64_t addr, size_t len)
{
    size_t avail;
    const uint8_t *p = elf_vaddr_span(elf, addr, &avail);
    return p && len <= avail ? p : NULL;
}

int elf_each_symbol(const struct elf_file *elf, const struct elf_section *symtab, elf_symbol_fn fn,
                    void *ctx)
{
    size_t entsize = elf->is64 ? 24 : 16;
    size_t len, strlen_;
    struct elf_section strsec;
    const uint8_t *syms = elf_section_bytes(elf, symtab, &len);
    const uint8_t *strs = NULL;
    if (elf_section_at(elf, symtab->link, &strsec) == 0)
        strs = elf_section_bytes(elf, &strsec, &strlen_);
    if (!syms || !strs)
        return 0;
    for (size_t off = entsize; off + entsize <= len; off += entsize) { /* entry 0 is null */
        const uint8_t *p = syms + off;
        struct elf_symbol sym;
        const char *name = elf_string_at(strs, strlen_, elf_u32(elf, p));
        sym.name = name ? name : "";
        sym.info = p[elf->is64 ? 4 : 12];
        sym.shndx = elf_u16(elf, p + (elf->is64 ? 6 : 14));
        sym.value = elf->is64 ? elf_u64(elf, p + 8) : elf_u32(elf, p + 4);
        int rc = fn(&sym, ctx);
        if (rc)
            return rc;
    }
    return 0;
}

static bool find_segment(const struct elf_file *elf, uint32_t type, struct elf_segment *out)
{
    for (size_t i = 0; elf_segment_at(elf, i, out) == 0; i++)
        if (out->type == type)
            return true;
    return false;
}

const char *elf_interpreter(const struct elf_file *elf)
{
    struct elf_segment seg;
    if (!find_segment(elf, ELF_PT_INTERP, &seg) || seg.filesz == 0 ||
        !in_bounds(seg.offset, seg.filesz, elf->size))
        return NULL;
    return elf_string_at(elf->data + seg.offset, (size_t)seg.filesz, 0);
}

/*
 * The string table the dynamic segment names: DT_STRTAB is an address and
 * DT_STRSZ its size; a size that overshoots the segment is cut to what the file has.
 */
static const uint8_t *dynamic_strings(const struct elf_file *elf, uint64_t addr, uint64_t size,
                                      size_t *len)
{
    size_t avail;
    const uint8_t *table = elf_vaddr_span(elf, addr, &avail);
    *len = table ? (size < avail ? (size_t)size : avail) : 0;
    return table;
}

void elf_read_dynamic(const struct elf_file *elf, struct elf_dynamic *out)
{
    struct elf_segment seg;
    memset(out, 0, sizeof(*out));
    if (!find_segment(elf, ELF_PT_DYNAMIC, &seg) || !in_bounds(seg.offset, seg.filesz, elf->size))
        return;
    out->present = true;
    size_t entsize = elf->is64 ? 16 : 8;
    const uint8_t *dyn = elf->data + seg.offset;
    size_t count = (size_t)(seg.filesz / entsize);
    if (count > MAX_DYNAMIC_ENTRIES)
        count = MAX_DYNAMIC_ENTRIES;
    uint64_t strtab = 0, strsz = 0;
    uint64_t needed_off[64];
    size_t nneeded = 0;
    for (size_t i = 0; i < count; i++) {
        uint64_t tag = word(elf, dyn + i * entsize);
        uint64_t val = word(elf, dyn + i * entsize + entsize / 2);
        if (tag == ELF_DT_NULL)
            break;
        if (tag == ELF_DT_NEEDED && nneeded < 64)
            needed_off[nneeded++] = val;
        else if (tag == ELF_DT_NEEDED)
            out->needed_truncated = true;
        else if (tag == ELF_DT_STRTAB)
            strtab = val;
        else if (tag == ELF_DT_STRSZ)
            strsz = val;
        else if (tag == ELF_DT_FLAGS_1)
            out->flags_1 = val;
        else if (tag == ELF_DT_INIT)
            out->has_init = true;
    }
    size_t len;
    const uint8_t *strs = dynamic_strings(elf, strtab, strsz, &len);
    for (size_t i = 0; i < nneeded; i++) {
        const char *name = elf_string_at(strs, len, needed_off[i]);
        if (name)
            out->needed[out->nneeded++] = name;
    }
}
