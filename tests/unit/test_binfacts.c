/* test_binfacts.c - facts and problems of crafted executables, one limitation at a time. */
#include "binfacts.h"
#include "testelf.h"
#include "testutil.h"

static struct bin_facts facts;
static uint8_t *data, *blob;
static char err[256];

static void teardown(void)
{
    binfacts_free(&facts);
    free(data);
    free(blob);
    data = blob = NULL;
}

/* Inspects spec, with a build info section holding settings (NULL: none). */
static void inspect(struct elf_spec *spec, const char *modinfo)
{
    size_t len, blen;
    if (modinfo) {
        blob = build_buildinfo("go1.26.8", modinfo, &blen);
        size_t i = 0;
        while (spec->section_names[i])
            i++;
        spec->section_names[i] = ".go.buildinfo";
        spec->section_data[i] = blob;
        spec->section_len[i] = blen;
    }
    data = build_elf(spec, &len);
    ck_assert_msg(binfacts_inspect(data, len, &facts, err, sizeof(err)) == 0, "%s", err);
}

static bool has_problem(enum problem_code code)
{
    return facts.problems & (1u << code);
}

#define GO_STATIC "path\tx\nmod\tx\t(devel)\t\nbuild\tCGO_ENABLED=0\nbuild\tGOOS=linux\n"

START_TEST(plain_static_go_has_no_problem)
{
    struct elf_spec spec = {.symbols = {"runtime.main", "_cgo_init"}};
    inspect(&spec, GO_STATIC);
    ck_assert(facts.go);
    ck_assert_int_eq(facts.toolchain, BIN_TOOLCHAIN_GC);
    ck_assert(facts.static_linked);
    ck_assert(!facts.pie);
    ck_assert_int_eq(facts.libc, BIN_LIBC_NONE);
    ck_assert(!facts.cgo); /* _cgo_init alone is in every Go binary */
    ck_assert(!facts.stripped);
    ck_assert_int_eq(facts.linker, BIN_LINKER_INTERNAL);
    ck_assert_uint_eq(facts.problems, 0);
    ck_assert_str_eq(facts.info.main.path, "x");
    json_t *j = binfacts_to_json(&facts);
    ck_assert_str_eq(json_string_value(json_object_get(j, "goVersion")), "go1.26.8");
    ck_assert(json_is_null(json_object_get(j, "interpreter")));
    ck_assert_str_eq(json_string_value(json_object_get(j, "libc")), "none");
    ck_assert_str_eq(json_string_value(json_object_get(j, "linker")), "internal");
    ck_assert_uint_eq(json_array_size(json_object_get(j, "problems")), 0);
    json_decref(j);
}
END_TEST

START_TEST(not_go_at_all)
{
    struct elf_spec spec = {.interp = "/lib64/ld-linux-x86-64.so.2",
                            .needed = {"libc.so.6"},
                            .symbols = {"main"},
                            .section_names = {".comment"},
                            .section_data = {"GCC: 12"},
                            .section_len = {8}};
    inspect(&spec, NULL);
    ck_assert(!facts.go);
    ck_assert(!facts.static_linked);
    ck_assert_int_eq(facts.libc, BIN_LIBC_GLIBC);
    ck_assert_int_eq(facts.linker, BIN_LINKER_EXTERNAL);
    ck_assert_uint_eq(facts.problems, 0); /* the limitations are about Go binaries */
}
END_TEST

START_TEST(static_cgo)
{
    struct elf_spec spec = {.symbols = {"runtime.main", "x_cgo_init", "crosscall2"},
                            .section_names = {".comment"},
                            .section_data = {"GCC: 12"},
                            .section_len = {8}};
    inspect(&spec, "build\tCGO_ENABLED=1\n");
    ck_assert(facts.cgo);
    ck_assert(facts.static_linked);
    ck_assert_int_eq(facts.linker, BIN_LINKER_EXTERNAL);
    ck_assert(has_problem(PROBLEM_STATIC_CGO));
    ck_assert(problems_unsupported(facts.problems));
}
END_TEST

START_TEST(stripped_cgo_is_seen_in_the_pclntab)
{
    static const char pcln[] = "\0main.main\0runtime/cgo.set_crosscall2\0";
    struct elf_spec spec = {
        .section_names = {".gopclntab"}, .section_data = {pcln}, .section_len = {sizeof(pcln)}};
    inspect(&spec, "build\t-ldflags=\"-s -linkmode external -extldflags=-static\"\n");
    ck_assert(facts.stripped);
    ck_assert(facts.cgo);
    ck_assert_int_eq(facts.linker, BIN_LINKER_EXTERNAL);
    ck_assert(has_problem(PROBLEM_STATIC_CGO));
    ck_assert(has_problem(PROBLEM_STRIPPED));
    json_t *stripped = problems_to_json(1u << PROBLEM_STRIPPED);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(stripped, 0), "severity")),
                     "partial");
    json_decref(stripped);
}
END_TEST

START_TEST(race_by_setting_or_by_tsan)
{
    struct elf_spec spec = {.interp = "/lib64/ld-linux-x86-64.so.2",
                            .needed = {"libc.so.6"},
                            .symbols = {"runtime.main", "x_cgo_init"}};
    inspect(&spec, "build\t-race=true\n");
    ck_assert(facts.race);
    ck_assert(has_problem(PROBLEM_RACE));
    ck_assert_ptr_nonnull(strstr(facts.evidence[EVIDENCE_RACE], "-race=true"));
    teardown();
    struct elf_spec tsan = {.symbols = {"runtime.main", "__tsan_go_start"}};
    inspect(&tsan, NULL);
    ck_assert(facts.go);
    ck_assert(facts.race);
}
END_TEST

START_TEST(pie_without_libc)
{
    struct elf_spec spec = {.type = 3,
                            .interp = "/lib64/ld-linux-x86-64.so.2",
                            .flags_1 = 0x08000000,
                            .symbols = {"runtime.main"}};
    inspect(&spec, "build\t-buildmode=pie\nbuild\tCGO_ENABLED=0\n");
    ck_assert(facts.pie);
    ck_assert(!facts.static_linked);
    ck_assert_int_eq(facts.libc, BIN_LIBC_NONE);
    ck_assert(has_problem(PROBLEM_PIE_NO_LIBC));
}
END_TEST

START_TEST(pie_with_libc_is_fine)
{
    struct elf_spec spec = {.type = 3,
                            .interp = "/lib64/ld-linux-x86-64.so.2",
                            .needed = {"libc.so.6"},
                            .flags_1 = 0x08000000,
                            .has_init = true,
                            .symbols = {"runtime.main", "x_cgo_init"}};
    inspect(&spec, "build\t-buildmode=pie\n");
    ck_assert(facts.pie);
    ck_assert_int_eq(facts.libc, BIN_LIBC_GLIBC);
    ck_assert_int_eq(facts.linker, BIN_LINKER_EXTERNAL); /* DT_INIT */
    ck_assert_uint_eq(facts.problems, 0);
}
END_TEST

START_TEST(musl_internal_and_external)
{
    struct elf_spec spec = {.interp = "/lib/ld-musl-x86_64.so.1",
                            .needed = {"libc.so"},
                            .symbols = {"runtime.main", "x_cgo_init"}};
    inspect(&spec, "build\t-ldflags=-linkmode=internal\n");
    ck_assert_int_eq(facts.libc, BIN_LIBC_MUSL);
    ck_assert_int_eq(facts.linker, BIN_LINKER_INTERNAL);
    ck_assert(has_problem(PROBLEM_MUSL_INTERNAL_LINKER));
    teardown();
    struct elf_spec alpine = {.interp = "/lib/ld-musl-x86_64.so.1",
                              .needed = {"libc.musl-x86_64.so.1"},
                              .symbols = {"runtime.main", "x_cgo_init"},
                              .section_names = {".init"},
                              .section_data = {"\xc3"},
                              .section_len = {1}};
    inspect(&alpine, NULL);
    ck_assert_int_eq(facts.libc, BIN_LIBC_MUSL);
    ck_assert_int_eq(facts.linker, BIN_LINKER_EXTERNAL);
    ck_assert_uint_eq(facts.problems, 0);
}
END_TEST

START_TEST(linkshared_by_abihash_import)
{
    struct elf_spec spec = {.type = 3,
                            .interp = "/lib64/ld-linux-x86-64.so.2",
                            .needed = {"libstd.so", "libc.so.6"},
                            .undef_dynsyms = {"go:link.abihash.libstd.so"},
                            .symbols = {"main.main"}};
    inspect(&spec, "build\t-buildmode=exe\n");
    ck_assert(facts.linkshared);
    ck_assert_ptr_nonnull(strstr(facts.evidence[EVIDENCE_LINKSHARED], "libstd.so"));
    ck_assert(has_problem(PROBLEM_LINKSHARED));
}
END_TEST

START_TEST(plugin_loader)
{
    static const char pcln[] = "\0main.main\0plugin.open\0";
    struct elf_spec spec = {.interp = "/lib64/ld-linux-x86-64.so.2",
                            .needed = {"libc.so.6"},
                            .symbols = {"runtime.main", "x_cgo_init"},
                            .section_names = {".gopclntab"},
                            .section_data = {pcln},
                            .section_len = {sizeof(pcln)}};
    inspect(&spec, NULL);
    ck_assert(facts.plugin);
    ck_assert(has_problem(PROBLEM_PLUGIN));
    ck_assert(!problems_unsupported(facts.problems)); /* partial */
}
END_TEST

START_TEST(vendored_by_path_or_by_missing_sum)
{
    static const char pcln[] = "\0/usr/local/go/src/runtime/proc.go\0"
                               "/usr/local/go/src/vendor/golang.org/x/net/dns/msg.go\0"
                               "/usr/local/go/src/cmd/vendor/golang.org/x/mod/semver/s.go\0"
                               "cmd/vendor/golang.org/x/mod/semver.Canonical\0"
                               "type:.eq.cmd/vendor/golang.org/x/telemetry/t.Dir\0"
                               "vendor/golang.org/x/net/dns/dnsmessage.(*Parser).Start\0";
    struct elf_spec std_only = {.symbols = {"runtime.main"},
                                .section_names = {".gopclntab"},
                                .section_data = {pcln},
                                .section_len = {sizeof(pcln)}};
    inspect(&std_only, "dep\texample.com/a\tv1.0.0\th1:x=\n");
    ck_assert(!facts.vendored); /* the Go distribution's own vendor trees do not count */
    teardown();
    static const char vend[] = "\0/usr/local/go/src/runtime/proc.go\0"
                               "/src/app/vendor/example.com/greet/greet.go\0";
    struct elf_spec spec = {.symbols = {"runtime.main"},
                            .section_names = {".gopclntab"},
                            .section_data = {vend},
                            .section_len = {sizeof(vend)}};
    inspect(&spec, NULL);
    ck_assert(facts.vendored);
    ck_assert_ptr_nonnull(strstr(facts.evidence[EVIDENCE_VENDORED], "vendor/example.com"));
    ck_assert(has_problem(PROBLEM_VENDORED));
    teardown();
    static const char gopath[] = "\0github.com/containerd/containerd/vendor/github.com/x/y.New\0";
    struct elf_spec old = {.symbols = {"runtime.main"},
                           .section_names = {".gopclntab"},
                           .section_data = {gopath},
                           .section_len = {sizeof(gopath)}};
    inspect(&old, NULL); /* GOPATH-era vendoring: the import path names vendor/ */
    ck_assert(facts.vendored);
    teardown();
    struct elf_spec trimmed = {.symbols = {"runtime.main"}};
    inspect(&trimmed, "dep\texample.com/a\tv1.0.0\t\ndep\texample.com/b\tv1.0.0\n=>\t./b\t\n");
    ck_assert(facts.vendored);
    ck_assert_ptr_nonnull(strstr(facts.evidence[EVIDENCE_VENDORED], "example.com/a"));
    teardown();
    struct elf_spec replaced = {.symbols = {"runtime.main"}};
    inspect(&replaced, "dep\texample.com/b\tv1.0.0\t\n=>\t./b\t(devel)\t\n");
    ck_assert(!facts.vendored); /* a local replacement has no sum in any mode */
}
END_TEST

START_TEST(gccgo_is_not_gc)
{
    struct elf_spec spec = {.type = 3,
                            .interp = "/lib64/ld-linux-x86-64.so.2",
                            .needed = {"libgo.so.21", "libc.so.6"},
                            .undef_dynsyms = {"__go_go"},
                            .symbols = {"main.main"}};
    inspect(&spec, NULL);
    ck_assert(facts.go);
    ck_assert_int_eq(facts.toolchain, BIN_TOOLCHAIN_GCCGO);
    ck_assert_int_eq(facts.linker, BIN_LINKER_EXTERNAL);
    ck_assert(has_problem(PROBLEM_NON_GC_TOOLCHAIN));
    teardown();
    struct elf_spec by_setting = {.symbols = {"runtime.main"}};
    inspect(&by_setting, "build\t-compiler=gccgo\n");
    ck_assert_int_eq(facts.toolchain, BIN_TOOLCHAIN_GCCGO);
}
END_TEST

START_TEST(not_linux)
{
    struct elf_spec spec = {.symbols = {"runtime.main"}};
    inspect(&spec, "build\tGOOS=freebsd\n");
    ck_assert(has_problem(PROBLEM_NOT_LINUX));
    teardown();
    struct elf_spec abi = {.osabi = 9, .symbols = {"runtime.main"}};
    inspect(&abi, NULL);
    ck_assert(has_problem(PROBLEM_NOT_LINUX));
}
END_TEST

START_TEST(relocatable_objects_are_refused)
{
    struct elf_spec spec = {.type = 1};
    size_t len;
    data = build_elf(&spec, &len);
    ck_assert_int_eq(binfacts_inspect(data, len, &facts, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "not an executable"));
}
END_TEST

START_TEST(problem_table_is_complete)
{
    json_t *all = problems_to_json((1u << PROBLEM_COUNT) - 1);
    ck_assert_uint_eq(json_array_size(all), PROBLEM_COUNT);
    for (size_t c = 0; c < PROBLEM_COUNT; c++) {
        const json_t *problem = json_array_get(all, c);
        ck_assert_ptr_nonnull(json_string_value(json_object_get(problem, "code")));
        ck_assert_ptr_nonnull(json_string_value(json_object_get(problem, "severity")));
        const char *message = json_string_value(json_object_get(problem, "message"));
        ck_assert_ptr_nonnull(message);
        ck_assert_uint_gt(strlen(message), 20);
    }
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(all, 0), "code")),
                     "static-cgo");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(all, 0), "severity")),
                     "unsupported");
    json_decref(all);
}
END_TEST

static Suite *binfacts_suite(void)
{
    Suite *s = suite_create("binfacts");
    TCase *tc = tcase_create("limitations");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, plain_static_go_has_no_problem);
    tcase_add_test(tc, not_go_at_all);
    tcase_add_test(tc, static_cgo);
    tcase_add_test(tc, stripped_cgo_is_seen_in_the_pclntab);
    tcase_add_test(tc, race_by_setting_or_by_tsan);
    tcase_add_test(tc, pie_without_libc);
    tcase_add_test(tc, pie_with_libc_is_fine);
    tcase_add_test(tc, musl_internal_and_external);
    tcase_add_test(tc, linkshared_by_abihash_import);
    tcase_add_test(tc, plugin_loader);
    tcase_add_test(tc, vendored_by_path_or_by_missing_sum);
    tcase_add_test(tc, gccgo_is_not_gc);
    tcase_add_test(tc, not_linux);
    tcase_add_test(tc, relocatable_objects_are_refused);
    tcase_add_test(tc, problem_table_is_complete);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(binfacts_suite());
}
