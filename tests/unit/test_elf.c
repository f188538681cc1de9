/* test_elf.c - the ELF reader and the Go build info parser, on crafted and hostile input. */
#include "buildinfo.h"
#include "elf.h"
#include "testelf.h"
#include "testutil.h"

static char err[256];

/* ---- the ELF reader -------------------------------------------------------- */

START_TEST(rejects_what_is_not_elf)
{
    struct elf_file elf;
    ck_assert_int_eq(elf_parse(&elf, (const uint8_t *)"#!/bin/sh\n", 10, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "not an ELF file");
    ck_assert_int_eq(elf_parse(&elf, (const uint8_t *)"\177ELF", 4, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "truncated ELF header");
    uint8_t bad_class[64] = {0x7f, 'E', 'L', 'F', 9, 1};
    ck_assert_int_eq(elf_parse(&elf, bad_class, sizeof(bad_class), err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "class"));
}
END_TEST

START_TEST(reads_interpreter_needed_and_flags)
{
    struct elf_spec spec = {.type = 3,
                            .interp = "/lib64/ld-linux-x86-64.so.2",
                            .needed = {"libc.so.6", "libpthread.so.0"},
                            .flags_1 = 0x08000000,
                            .has_init = true};
    size_t len;
    uint8_t *data = build_elf(&spec, &len);
    struct elf_file elf;
    struct elf_dynamic dyn;
    ck_assert_int_eq(elf_parse(&elf, data, len, err, sizeof(err)), 0);
    ck_assert_uint_eq(elf.type, 3);
    ck_assert_str_eq(elf_interpreter(&elf), "/lib64/ld-linux-x86-64.so.2");
    elf_read_dynamic(&elf, &dyn);
    ck_assert(dyn.present);
    ck_assert_uint_eq(dyn.nneeded, 2);
    ck_assert_str_eq(dyn.needed[0], "libc.so.6");
    ck_assert_str_eq(dyn.needed[1], "libpthread.so.0");
    ck_assert_uint_eq(dyn.flags_1, 0x08000000);
    ck_assert(dyn.has_init);
    free(data);
}
END_TEST

static int count_symbol(const struct elf_symbol *sym, void *ctx)
{
    (*(int *)ctx)++;
    return strcmp(sym->name, "stop") == 0 ? 7 : 0;
}

START_TEST(finds_sections_and_symbols)
{
    struct elf_spec spec = {.symbols = {"runtime.main", "main.main", "stop", "after"},
                            .section_names = {".go.buildinfo", ".comment"},
                            .section_data = {"\xff Go buildinf:", "GCC: (Debian) 12"},
                            .section_len = {14, 17}};
    size_t len, n;
    uint8_t *data = build_elf(&spec, &len);
    struct elf_file elf;
    struct elf_section sec;
    ck_assert_int_eq(elf_parse(&elf, data, len, err, sizeof(err)), 0);
    ck_assert(elf_find_section(&elf, ".comment", &sec));
    const uint8_t *bytes = elf_section_bytes(&elf, &sec, &n);
    ck_assert_uint_eq(n, 17);
    ck_assert_int_eq(memcmp(bytes, "GCC:", 4), 0);
    ck_assert(!elf_find_section(&elf, ".gopclntab", &sec));
    ck_assert(elf_find_section(&elf, ".symtab", &sec));
    int count = 0;
    ck_assert_int_eq(elf_each_symbol(&elf, &sec, count_symbol, &count), 7);
    ck_assert_int_eq(count, 3); /* the walk stops at "stop" */
    ck_assert_ptr_null(elf_interpreter(&elf));
    free(data);
}
END_TEST

START_TEST(program_headers_outside_the_file_are_an_error)
{
    struct elf_spec spec = {.interp = "/lib/ld-musl-x86_64.so.1"};
    size_t len;
    uint8_t *data = build_elf(&spec, &len);
    struct elf_file elf;
    tb_put64(&(struct buf){(char *)data, len, len, 0}, 32, (uint64_t)len - 10);
    ck_assert_int_eq(elf_parse(&elf, data, len, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "program headers"));
    tb_put64(&(struct buf){(char *)data, len, len, 0}, 32, UINT64_MAX - 8);
    ck_assert_int_eq(elf_parse(&elf, data, len, err, sizeof(err)), -1);
    free(data);
}
END_TEST

START_TEST(hostile_section_table_means_no_sections)
{
    struct elf_spec spec = {.symbols = {"x"}};
    size_t len;
    uint8_t *data = build_elf(&spec, &len);
    struct buf view = {(char *)data, len, len, 0};
    struct elf_file elf;
    struct elf_section sec;
    tb_put64(&view, 40, UINT64_MAX - 4); /* e_shoff far past the end */
    ck_assert_int_eq(elf_parse(&elf, data, len, err, sizeof(err)), 0);
    ck_assert_uint_eq(elf.shnum, 0);
    ck_assert(!elf_find_section(&elf, ".symtab", &sec));
    free(data);
}
END_TEST

START_TEST(every_truncation_of_a_real_layout_is_safe)
{
    struct elf_spec spec = {.type = 3,
                            .interp = "/lib64/ld-linux-x86-64.so.2",
                            .needed = {"libc.so.6"},
                            .symbols = {"x_cgo_init", "runtime.main"},
                            .undef_dynsyms = {"go:link.abihash.libstd.so"},
                            .section_names = {".gopclntab"},
                            .section_data = {"\0runtime/cgo.x\0"},
                            .section_len = {15}};
    size_t len;
    uint8_t *data = build_elf(&spec, &len);
    for (size_t cut = 0; cut <= len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1); /* exact size, so ASan sees any overrun */
        memcpy(copy, data, cut);
        struct elf_file elf;
        struct elf_dynamic dyn;
        struct elf_section sec;
        if (elf_parse(&elf, copy, cut, err, sizeof(err)) == 0) {
            elf_interpreter(&elf);
            elf_read_dynamic(&elf, &dyn);
            for (size_t i = 0; elf_section_at(&elf, i, &sec) == 0; i++) {
                size_t n;
                elf_section_bytes(&elf, &sec, &n);
                int count = 0;
                if (sec.type == ELF_SHT_SYMTAB || sec.type == ELF_SHT_DYNSYM)
                    elf_each_symbol(&elf, &sec, count_symbol, &count);
            }
        }
        free(copy);
    }
    free(data);
}
END_TEST

START_TEST(vaddr_mapping_is_bounded)
{
    struct elf_spec spec = {0};
    size_t len, avail;
    uint8_t *data = build_elf(&spec, &len);
    struct elf_file elf;
    ck_assert_int_eq(elf_parse(&elf, data, len, err, sizeof(err)), 0);
    ck_assert_ptr_eq(elf_vaddr_bytes(&elf, TEST_ELF_BASE, 4), data);
    ck_assert_ptr_null(elf_vaddr_bytes(&elf, TEST_ELF_BASE + len - 2, 4));
    ck_assert_ptr_null(elf_vaddr_bytes(&elf, TEST_ELF_BASE - 1, 1));
    ck_assert_ptr_null(elf_vaddr_bytes(&elf, UINT64_MAX, 1));
    ck_assert_ptr_nonnull(elf_vaddr_span(&elf, TEST_ELF_BASE + 10, &avail));
    ck_assert_uint_eq(avail, len - 10);
    free(data);
}
END_TEST

START_TEST(string_at_needs_a_terminator_inside)
{
    const uint8_t table[] = {'a', 0, 'b', 'c'};
    ck_assert_str_eq(elf_string_at(table, 4, 0), "a");
    ck_assert_ptr_null(elf_string_at(table, 4, 2));
    ck_assert_ptr_null(elf_string_at(table, 4, 4));
    ck_assert_ptr_null(elf_string_at(table, 4, UINT64_MAX));
    ck_assert_ptr_null(elf_string_at(NULL, 0, 0));
}
END_TEST

/* ---- Go build info ----------------------------------------------------------- */

static const char modinfo[] = "path\texample.com/app/cmd/server\n"
                              "mod\texample.com/app\tv1.2.3\th1:abc=\n"
                              "dep\tgolang.org/x/net\tv0.20.0\th1:net=\n"
                              "dep\texample.com/fork\tv1.0.0\n"
                              "=>\t../fork\t(devel)\t\n"
                              "build\t-buildmode=exe\n"
                              "build\t-ldflags=\"-s -X \\\"main.v=1 2\\\"\"\n"
                              "build\t\"weird key\"=v\n"
                              "build\tCGO_ENABLED=1\n"
                              "build\tvcs.revision=0123abc\n";

START_TEST(inline_format_with_every_record)
{
    size_t len;
    uint8_t *blob = build_buildinfo("go1.22.3", modinfo, &len);
    struct go_buildinfo info;
    ck_assert_int_eq(buildinfo_decode(blob, len, NULL, NULL, &info, err, sizeof(err)), 0);
    ck_assert_str_eq(info.go_version, "go1.22.3");
    ck_assert_str_eq(info.main_path, "example.com/app/cmd/server");
    ck_assert(info.has_main);
    ck_assert_str_eq(info.main.path, "example.com/app");
    ck_assert_str_eq(info.main.version, "v1.2.3");
    ck_assert_uint_eq(info.ndeps, 2);
    ck_assert_str_eq(info.deps[0].sum, "h1:net=");
    ck_assert_str_eq(info.deps[1].sum, "");
    ck_assert_str_eq(info.deps[1].replace_path, "../fork");
    ck_assert_str_eq(buildinfo_setting(&info, "-ldflags"), "-s -X \"main.v=1 2\"");
    ck_assert_str_eq(buildinfo_setting(&info, "weird key"), "v");
    ck_assert_str_eq(buildinfo_setting(&info, "CGO_ENABLED"), "1");
    ck_assert_ptr_null(buildinfo_setting(&info, "-race"));
    ck_assert_uint_eq(info.dropped, 0);
    buildinfo_free(&info);
    free(blob);
}
END_TEST

struct fake_memory {
    uint64_t base;
    const uint8_t *data;
    size_t len;
};

static const uint8_t *fake_map(void *ctx, uint64_t addr, size_t len)
{
    struct fake_memory *m = ctx;
    if (addr < m->base || addr - m->base > m->len || len > m->len - (addr - m->base))
        return NULL;
    return m->data + (addr - m->base);
}

/* The pre-1.18 format: pointers to string headers, here 4-byte big-endian ones. */
START_TEST(pointer_format_big_endian)
{
    uint8_t mem[256];
    memset(mem, 0, sizeof(mem));
    memcpy(mem, "\xff Go buildinf:", 14);
    mem[14] = 4;
    mem[15] = 1;
    const uint32_t base = 0x1000;
    /* header[16] -> string header at 64 -> "go1.16" at 96; header[20] -> header at 72 -> text at
     * 112 */
    const char *text = "0123456789abcdefpath\tx/y\n\nfedcba9876543210";
    uint32_t words[] = {base + 64, base + 72};
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++)
            mem[16 + 4 * i + j] = (uint8_t)(words[i] >> (24 - 8 * j));
    uint32_t headers[] = {base + 96, 6, base + 112, (uint32_t)strlen(text)};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            mem[64 + 4 * i + j] = (uint8_t)(headers[i] >> (24 - 8 * j));
    memcpy(mem + 96, "go1.16", 6);
    memcpy(mem + 112, text, strlen(text));
    struct fake_memory m = {base, mem, sizeof(mem)};
    struct go_buildinfo info;
    ck_assert_int_eq(buildinfo_decode(mem, sizeof(mem), fake_map, &m, &info, err, sizeof(err)), 0);
    ck_assert_str_eq(info.go_version, "go1.16");
    ck_assert_str_eq(info.main_path, "x/y");
    buildinfo_free(&info);
    /* A header that points outside memory is an error, not a read. */
    mem[16] = 0x7f;
    ck_assert_int_eq(buildinfo_decode(mem, sizeof(mem), fake_map, &m, &info, err, sizeof(err)), -1);
    buildinfo_free(&info);
    mem[14] = 3; /* neither 4 nor 8 */
    ck_assert_int_eq(buildinfo_decode(mem, sizeof(mem), fake_map, &m, &info, err, sizeof(err)), -1);
    buildinfo_free(&info);
}
END_TEST

START_TEST(inline_lengths_past_the_end_are_errors)
{
    size_t len;
    uint8_t *blob = build_buildinfo("go1.22.3", modinfo, &len);
    struct go_buildinfo info;
    for (size_t cut = 0; cut < len; cut++) {
        int rc = buildinfo_decode(blob, cut, NULL, NULL, &info, err, sizeof(err));
        ck_assert_int_eq(rc, -1);
        buildinfo_free(&info);
    }
    blob[32] = 0xff; /* a uvarint that never ends within 10 bytes */
    memset(blob + 33, 0xff, 10);
    ck_assert_int_eq(buildinfo_decode(blob, len, NULL, NULL, &info, err, sizeof(err)), -1);
    buildinfo_free(&info);
    free(blob);
}
END_TEST

START_TEST(malformed_modinfo_lines_are_dropped)
{
    static const char text[] = "nonsense\n"
                               "=>\torphan\tv1\n"
                               "build\tnoequals\n"
                               "build\t\"unterminated=x\n"
                               "build\tk=\"bad \\q escape\"\n"
                               "build\tgood=\"tab\\there\\u00e9\\x41\\101\"\n"
                               "dep\n"
                               "\n";
    struct go_buildinfo info;
    memset(&info, 0, sizeof(info));
    buildinfo_parse_modinfo(text, sizeof(text) - 1, &info);
    ck_assert_uint_eq(info.nsettings, 1);
    ck_assert_str_eq(buildinfo_setting(&info, "good"), "tab\there\xc3\xa9"
                                                       "AA");
    ck_assert_uint_eq(info.dropped, 6);
    buildinfo_free(&info);
}
END_TEST

/* Found by fuzzing: a setting with an empty value as the last bytes of the text. */
START_TEST(empty_value_at_the_very_end)
{
    static const char text[] = {'b', 'u', 'i', 'l', 'd', '\t', 'K', '='};
    struct go_buildinfo info;
    memset(&info, 0, sizeof(info));
    char *exact = malloc(sizeof(text)); /* no NUL after it, so ASan sees any overrun */
    memcpy(exact, text, sizeof(text));
    buildinfo_parse_modinfo(exact, sizeof(text), &info);
    ck_assert_str_eq(buildinfo_setting(&info, "K"), "");
    buildinfo_free(&info);
    free(exact);
}
END_TEST

START_TEST(found_in_an_elf_section_or_by_scanning)
{
    size_t blen, len;
    uint8_t *blob = build_buildinfo("go1.26.8", "path\tp\nbuild\tGOOS=linux\n", &blen);
    struct elf_spec spec = {
        .section_names = {".go.buildinfo"}, .section_data = {blob}, .section_len = {blen}};
    uint8_t *data = build_elf(&spec, &len);
    struct elf_file elf;
    struct go_buildinfo info;
    ck_assert_int_eq(elf_parse(&elf, data, len, err, sizeof(err)), 0);
    ck_assert_int_eq(buildinfo_from_elf(&elf, &info, err, sizeof(err)), 1);
    ck_assert_str_eq(info.go_version, "go1.26.8");
    ck_assert_str_eq(buildinfo_setting(&info, "GOOS"), "linux");
    buildinfo_free(&info);
    free(data);
    spec.no_section_headers = true; /* found by the 16-byte aligned scan instead */
    data = build_elf(&spec, &len);
    ck_assert_int_eq(elf_parse(&elf, data, len, err, sizeof(err)), 0);
    ck_assert_int_eq(buildinfo_from_elf(&elf, &info, err, sizeof(err)), 1);
    ck_assert_str_eq(info.go_version, "go1.26.8");
    buildinfo_free(&info);
    free(data);
    struct elf_spec plain = {0};
    data = build_elf(&plain, &len);
    ck_assert_int_eq(elf_parse(&elf, data, len, err, sizeof(err)), 0);
    ck_assert_int_eq(buildinfo_from_elf(&elf, &info, err, sizeof(err)), 0);
    buildinfo_free(&info);
    free(data);
    free(blob);
}
END_TEST

static Suite *elf_suite(void)
{
    Suite *s = suite_create("elf");
    TCase *reader = tcase_create("reader");
    tcase_add_test(reader, rejects_what_is_not_elf);
    tcase_add_test(reader, reads_interpreter_needed_and_flags);
    tcase_add_test(reader, finds_sections_and_symbols);
    tcase_add_test(reader, program_headers_outside_the_file_are_an_error);
    tcase_add_test(reader, hostile_section_table_means_no_sections);
    tcase_add_test(reader, every_truncation_of_a_real_layout_is_safe);
    tcase_add_test(reader, vaddr_mapping_is_bounded);
    tcase_add_test(reader, string_at_needs_a_terminator_inside);
    suite_add_tcase(s, reader);
    TCase *info = tcase_create("buildinfo");
    tcase_add_test(info, inline_format_with_every_record);
    tcase_add_test(info, pointer_format_big_endian);
    tcase_add_test(info, inline_lengths_past_the_end_are_errors);
    tcase_add_test(info, malformed_modinfo_lines_are_dropped);
    tcase_add_test(info, empty_value_at_the_very_end);
    tcase_add_test(info, found_in_an_elf_section_or_by_scanning);
    suite_add_tcase(s, info);
    return s;
}

int main(void)
{
    return run_suite(elf_suite());
}
