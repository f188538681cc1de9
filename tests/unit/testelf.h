/*
 * testelf.h - builds small ELF64 little-endian executables for the tests.
 *
 * Header-only, like testutil.h. build_elf lays out, in one PT_LOAD segment
 * at 0x400000: the program headers, an interpreter, the dynamic segment
 * (DT_NEEDED, DT_FLAGS_1, DT_INIT), dynamic symbols, extra named sections,
 * the symbol table and the section headers, as the spec asks. The result is
 * owned by the caller (free).
 */
#ifndef GOINJECT_TESTELF_H
#define GOINJECT_TESTELF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define TEST_ELF_BASE 0x400000ull

struct elf_spec {
    uint16_t type; /* 2 EXEC (default when 0), 3 DYN */
    uint8_t osabi;
    const char *interp;
    const char *needed[8];
    uint64_t flags_1;
    bool has_init;
    const char *symbols[16];      /* defined symbols, in .symtab */
    const char *undef_dynsyms[8]; /* imported symbols, in .dynsym */
    const char *section_names[8]; /* extra PROGBITS sections */
    const void *section_data[8];
    size_t section_len[8];
    bool no_section_headers;
};

static inline void tb_u16(struct buf *b, uint16_t v)
{
    uint8_t p[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    buf_append(b, p, 2);
}

static inline void tb_u32(struct buf *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        buf_append_char(b, (char)(v >> (8 * i)));
}

static inline void tb_u64(struct buf *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        buf_append_char(b, (char)(v >> (8 * i)));
}

static inline void tb_zeros(struct buf *b, size_t n)
{
    while (n--)
        buf_append_char(b, 0);
}

static inline void tb_align(struct buf *b, size_t a)
{
    while (b->len % a)
        buf_append_char(b, 0);
}

static inline void tb_put64(struct buf *b, size_t at, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b->data[at + i] = (char)(v >> (8 * i));
}

static inline void tb_put32(struct buf *b, size_t at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b->data[at + i] = (char)(v >> (8 * i));
}

static inline void tb_put16(struct buf *b, size_t at, uint16_t v)
{
    b->data[at] = (char)v;
    b->data[at + 1] = (char)(v >> 8);
}

/* A string table: offsets of each added string. */
static inline uint32_t tb_str(struct buf *table, const char *s)
{
    uint32_t off = (uint32_t)table->len;
    buf_append(table, s, strlen(s) + 1);
    return off;
}

struct tb_section {
    uint32_t name, type, link;
    uint64_t flags, offset, size, entsize;
};

static inline void tb_symbol(struct buf *b, uint32_t name, uint16_t shndx, uint64_t value)
{
    tb_u32(b, name);
    buf_append_char(b, shndx ? 0x12 : 0x10); /* global func, or global notype */
    buf_append_char(b, 0);
    tb_u16(b, shndx);
    tb_u64(b, value);
    tb_u64(b, 0);
}

static inline uint8_t *build_elf(const struct elf_spec *spec, size_t *len)
{
    struct buf b = BUF_INIT, shstr = BUF_INIT, dynstr = BUF_INIT, strtab = BUF_INIT;
    struct tb_section secs[24];
    size_t nsec = 1, nphdr = 1 + (spec->interp ? 1 : 0);
    bool dynamic = spec->needed[0] || spec->flags_1 || spec->has_init || spec->undef_dynsyms[0];
    nphdr += dynamic ? 1 : 0;
    memset(secs, 0, sizeof(secs));
    tb_str(&shstr, "");
    tb_str(&dynstr, "");
    tb_str(&strtab, "");
    tb_zeros(&b, 64);
    size_t phoff = b.len;
    tb_zeros(&b, 56 * nphdr);
    size_t interp_off = 0, dyn_off = 0, dyn_len = 0;
    if (spec->interp) {
        interp_off = b.len;
        buf_append(&b, spec->interp, strlen(spec->interp) + 1);
        secs[nsec++] = (struct tb_section){tb_str(&shstr, ".interp"), 1, 0, 2, interp_off,
                                           strlen(spec->interp) + 1,  0};
    }
    if (dynamic) {
        uint32_t needed[8], undef[8];
        size_t nn = 0, nu = 0;
        for (; nn < 8 && spec->needed[nn]; nn++)
            needed[nn] = tb_str(&dynstr, spec->needed[nn]);
        for (; nu < 8 && spec->undef_dynsyms[nu]; nu++)
            undef[nu] = tb_str(&dynstr, spec->undef_dynsyms[nu]);
        tb_align(&b, 8);
        size_t dynstr_off = b.len;
        buf_append(&b, dynstr.data, dynstr.len);
        size_t dynstr_idx = nsec;
        secs[nsec++] =
            (struct tb_section){tb_str(&shstr, ".dynstr"), 3, 0, 2, dynstr_off, dynstr.len, 0};
        tb_align(&b, 8);
        dyn_off = b.len;
        for (size_t i = 0; i < nn; i++) {
            tb_u64(&b, 1);
            tb_u64(&b, needed[i]);
        }
        tb_u64(&b, 5); /* DT_STRTAB */
        tb_u64(&b, TEST_ELF_BASE + dynstr_off);
        tb_u64(&b, 10); /* DT_STRSZ */
        tb_u64(&b, dynstr.len);
        if (spec->flags_1) {
            tb_u64(&b, 0x6ffffffb);
            tb_u64(&b, spec->flags_1);
        }
        if (spec->has_init) {
            tb_u64(&b, 12);
            tb_u64(&b, TEST_ELF_BASE);
        }
        tb_u64(&b, 0);
        tb_u64(&b, 0);
        dyn_len = b.len - dyn_off;
        secs[nsec++] = (struct tb_section){
            tb_str(&shstr, ".dynamic"), 6, (uint32_t)dynstr_idx, 3, dyn_off, dyn_len, 16};
        size_t dynsym_off = b.len;
        tb_zeros(&b, 24);
        for (size_t i = 0; i < nu; i++)
            tb_symbol(&b, undef[i], 0, 0);
        secs[nsec++] =
            (struct tb_section){tb_str(&shstr, ".dynsym"), 11, (uint32_t)dynstr_idx, 2, dynsym_off,
                                b.len - dynsym_off,        24};
    }
    for (size_t i = 0; i < 8 && spec->section_names[i]; i++) {
        tb_align(&b, 16);
        size_t off = b.len;
        buf_append(&b, spec->section_data[i], spec->section_len[i]);
        secs[nsec++] = (struct tb_section){
            tb_str(&shstr, spec->section_names[i]), 1, 0, 2, off, spec->section_len[i], 0};
    }
    if (spec->symbols[0]) {
        uint32_t names[16];
        size_t ns = 0;
        for (; ns < 16 && spec->symbols[ns]; ns++)
            names[ns] = tb_str(&strtab, spec->symbols[ns]);
        tb_align(&b, 8);
        size_t symtab_off = b.len;
        tb_zeros(&b, 24);
        for (size_t i = 0; i < ns; i++)
            tb_symbol(&b, names[i], 1, TEST_ELF_BASE + 0x1000 + i);
        size_t symtab_idx = nsec++;
        size_t strtab_off = b.len;
        buf_append(&b, strtab.data, strtab.len);
        secs[symtab_idx] =
            (struct tb_section){tb_str(&shstr, ".symtab"), 2, (uint32_t)nsec, 0, symtab_off,
                                strtab_off - symtab_off,   24};
        secs[nsec++] =
            (struct tb_section){tb_str(&shstr, ".strtab"), 3, 0, 0, strtab_off, strtab.len, 0};
    }
    size_t shstr_idx = nsec;
    uint32_t shstr_name = tb_str(&shstr, ".shstrtab");
    size_t shstr_off = b.len;
    buf_append(&b, shstr.data, shstr.len);
    secs[nsec++] = (struct tb_section){shstr_name, 3, 0, 0, shstr_off, shstr.len, 0};
    tb_align(&b, 8);
    size_t shoff = b.len;
    for (size_t i = 0; i < nsec; i++) {
        tb_u32(&b, secs[i].name);
        tb_u32(&b, secs[i].type);
        tb_u64(&b, secs[i].flags);
        tb_u64(&b, secs[i].type ? TEST_ELF_BASE + secs[i].offset : 0);
        tb_u64(&b, secs[i].offset);
        tb_u64(&b, secs[i].size);
        tb_u32(&b, secs[i].link);
        tb_u32(&b, 0);
        tb_u64(&b, 1);
        tb_u64(&b, secs[i].entsize);
    }
    /* The ELF header. */
    memcpy(b.data, "\177ELF\2\1\1", 7);
    b.data[7] = (char)spec->osabi;
    tb_put16(&b, 16, spec->type ? spec->type : 2);
    tb_put16(&b, 18, 62); /* x86-64 */
    tb_put32(&b, 20, 1);
    tb_put64(&b, 24, TEST_ELF_BASE + 0x1000);
    tb_put64(&b, 32, phoff);
    tb_put64(&b, 40, spec->no_section_headers ? 0 : shoff);
    tb_put16(&b, 52, 64);
    tb_put16(&b, 54, 56);
    tb_put16(&b, 56, (uint16_t)nphdr);
    tb_put16(&b, 58, 64);
    tb_put16(&b, 60, spec->no_section_headers ? 0 : (uint16_t)nsec);
    tb_put16(&b, 62, spec->no_section_headers ? 0 : (uint16_t)shstr_idx);
    /* Program headers: the whole file as one segment, then INTERP and DYNAMIC. */
    size_t ph = phoff;
    tb_put32(&b, ph, 1);
    tb_put32(&b, ph + 4, 5);
    tb_put64(&b, ph + 8, 0);
    tb_put64(&b, ph + 16, TEST_ELF_BASE);
    tb_put64(&b, ph + 32, b.len);
    tb_put64(&b, ph + 40, b.len);
    ph += 56;
    if (spec->interp) {
        tb_put32(&b, ph, 3);
        tb_put64(&b, ph + 8, interp_off);
        tb_put64(&b, ph + 16, TEST_ELF_BASE + interp_off);
        tb_put64(&b, ph + 32, strlen(spec->interp) + 1);
        tb_put64(&b, ph + 40, strlen(spec->interp) + 1);
        ph += 56;
    }
    if (dynamic) {
        tb_put32(&b, ph, 2);
        tb_put64(&b, ph + 8, dyn_off);
        tb_put64(&b, ph + 16, TEST_ELF_BASE + dyn_off);
        tb_put64(&b, ph + 32, dyn_len);
        tb_put64(&b, ph + 40, dyn_len);
    }
    buf_free(&shstr);
    buf_free(&dynstr);
    buf_free(&strtab);
    *len = b.len;
    return (uint8_t *)buf_steal(&b);
}

/* Appends a uvarint. */
static inline void tb_uvarint(struct buf *b, uint64_t v)
{
    while (v >= 0x80) {
        buf_append_char(b, (char)(0x80 | (v & 0x7f)));
        v >>= 7;
    }
    buf_append_char(b, (char)v);
}

/* A Go 1.18+ build info blob: header, inline version, module info framed by 16 bytes each side. */
static inline uint8_t *build_buildinfo(const char *version, const char *modinfo, size_t *len)
{
    struct buf b = BUF_INIT;
    buf_append(&b, "\xff Go buildinf:", 14);
    buf_append_char(&b, 8);
    buf_append_char(&b, 2);
    tb_zeros(&b, 16);
    tb_uvarint(&b, strlen(version));
    buf_append_str(&b, version);
    tb_uvarint(&b, strlen(modinfo) + 32);
    buf_append(&b, "0123456789abcdef", 16);
    buf_append_str(&b, modinfo);
    buf_append(&b, "fedcba9876543210", 16);
    *len = b.len;
    return (uint8_t *)buf_steal(&b);
}

#endif
