/*
 * seeds.c - writes the seed corpus of the fuzz targets: small, valid inputs
 * of each kind (ELF executables in several shapes, build info blobs, tar
 * archives plain, gzip and zstd, docker save and OCI archives), built with the
 * unit tests' builders. Usage: seeds OUTDIR (creates OUTDIR/<target>/).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testelf.h"
#include "testtar.h"

static const char *outdir;

static void save(const char *target, const char *name, const void *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", outdir, target);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

static uint8_t *go_elf(struct elf_spec *spec, const char *modinfo, size_t *len)
{
    size_t blen;
    uint8_t *blob = build_buildinfo("go1.26.8", modinfo, &blen);
    size_t i = 0;
    while (spec->section_names[i])
        i++;
    spec->section_names[i] = ".go.buildinfo";
    spec->section_data[i] = blob;
    spec->section_len[i] = blen;
    uint8_t *data = build_elf(spec, len);
    free(blob);
    return data;
}

static void elf_seeds(void)
{
    static const char pcln[] = "\0/usr/local/go/src/runtime/proc.go\0runtime/cgo.x\0"
                               "/src/app/vendor/a/b.go\0plugin.open\0__tsan_init\0";
    struct elf_spec specs[] = {
        {.symbols = {"runtime.main"}},
        {.type = 3,
         .interp = "/lib64/ld-linux-x86-64.so.2",
         .needed = {"libc.so.6"},
         .flags_1 = 0x08000000,
         .has_init = true,
         .symbols = {"runtime.main", "x_cgo_init"},
         .undef_dynsyms = {"go:link.abihash.libstd.so"}},
        {.interp = "/lib/ld-musl-x86_64.so.1",
         .needed = {"libc.so"},
         .section_names = {".gopclntab"},
         .section_data = {pcln},
         .section_len = {sizeof(pcln)}},
        {.no_section_headers = true, .interp = "/lib64/ld-linux-x86-64.so.2"},
    };
    const char *modinfo = "path\tx\nmod\tx\t(devel)\t\ndep\ta\tv1\t\n=>\t./a\t\n"
                          "build\t-ldflags=\"-s -linkmode=external\"\nbuild\t-race=true\n"
                          "build\tCGO_ENABLED=1\nbuild\tGOOS=linux\n";
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        size_t len;
        uint8_t *data = go_elf(&specs[i], modinfo, &len);
        char name[32];
        snprintf(name, sizeof(name), "elf-%zu", i);
        save("fuzz_elf", name, data, len);
        free(data);
    }
    size_t blen;
    uint8_t *blob = build_buildinfo("go1.22.0", modinfo, &blen);
    save("fuzz_buildinfo", "inline", blob, blen);
    blob[15] = 0; /* the pointer format, pointing into the blob (mapped at 0x1000) */
    blob[16] = 0x20;
    blob[17] = 0x10;
    save("fuzz_buildinfo", "pointers", blob, blen);
    save("fuzz_buildinfo", "modinfo", modinfo, strlen(modinfo));
    free(blob);
}

static void tar_seeds(void)
{
    struct buf b = BUF_INIT;
    char long_name[200];
    memset(long_name, 'l', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    tt_add(&b, "./", '5', NULL, NULL, 0, 0755);
    tt_file(&b, "etc/os-release", "ID=seed\n");
    tt_add(&b, "bin/sh", '2', "../usr/bin/dash", NULL, 0, 0777);
    tt_add(&b, "bin/hard", '1', "etc/os-release", NULL, 0, 0644);
    tt_add(&b, long_name, '0', NULL, "x", 1, 0644);
    tt_file(&b, "var/.wh.cache", "");
    tt_file(&b, "opt/.wh..wh..opq", "");
    const char pax[] = "27 path=pax/name/for/entry\n";
    tt_header(&b, "PaxHeader", 'x', NULL, sizeof(pax) - 1, 0644);
    tt_data(&b, pax, sizeof(pax) - 1);
    tt_file(&b, "short", "pax named");
    tt_end(&b);
    save("fuzz_tar", "plain", b.data, b.len);
    size_t zlen;
    uint8_t *z = tt_gzip(b.data, b.len, &zlen);
    save("fuzz_tar", "gzip", z, zlen);
    free(z);
    /* zstd: two frames with a skippable frame between them. */
    struct buf two = BUF_INIT;
    z = tt_zstd(b.data, b.len / 2, &zlen);
    buf_append(&two, z, zlen);
    free(z);
    buf_append(&two, "\x5e\x2a\x4d\x18\x03\x00\x00\x00pad", 11);
    z = tt_zstd(b.data + b.len / 2, b.len - b.len / 2, &zlen);
    buf_append(&two, z, zlen);
    free(z);
    save("fuzz_tar", "zstd", two.data, two.len);
    buf_free(&two);
    buf_free(&b);
}

static void image_seeds(void)
{
    struct buf layer = BUF_INIT, archive = BUF_INIT;
    struct elf_spec go = {.symbols = {"runtime.main"}};
    struct elf_spec sh = {.interp = "/lib64/ld-linux-x86-64.so.2", .needed = {"libc.so.6"}};
    size_t len;
    uint8_t *app = go_elf(&go, "path\tx\nbuild\tCGO_ENABLED=0\n", &len);
    tt_add(&layer, "app", '0', NULL, app, len, 0755);
    free(app);
    uint8_t *shell = build_elf(&sh, &len);
    tt_add(&layer, "usr/bin/dash", '0', NULL, shell, len, 0755);
    free(shell);
    tt_add(&layer, "bin", '2', "usr/bin", NULL, 0, 0777);
    tt_add(&layer, "usr/bin/sh", '2', "dash", NULL, 0, 0777);
    tt_file(&layer, "lib64/ld-linux-x86-64.so.2", "loader");
    tt_file(&layer, "lib/x86_64-linux-gnu/libc.so.6", "not an ELF");
    tt_file(&layer, "lib/ld-musl-x86_64.so.1", "musl");
    tt_end(&layer);
    size_t zlen, zstd_len;
    uint8_t *z = tt_gzip(layer.data, layer.len, &zlen);
    uint8_t *zstd = tt_zstd(layer.data, layer.len, &zstd_len);
    tt_add(&archive, "l0/layer.tar", '0', NULL, layer.data, layer.len, 0644);
    tt_add(&archive, "l1/layer.tar", '0', NULL, z, zlen, 0644);
    tt_add(&archive, "l2/layer.tar", '2', "../l0/layer.tar", NULL, 0, 0777);
    tt_add(&archive, "l3/layer.tar", '0', NULL, zstd, zstd_len, 0644);
    tt_file(&archive, "c.json",
            "{\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/bin\"],\"Entrypoint\":[\"/bin/sh\","
            "\"-c\",\"exec /app \\\"$@\\\"\"],\"Cmd\":[\"x\"]}}");
    tt_file(&archive, "manifest.json",
            "[{\"Config\":\"c.json\",\"RepoTags\":[\"seed:1\"],"
            "\"Layers\":[\"l0/layer.tar\",\"l1/layer.tar\",\"l2/layer.tar\",\"l3/layer.tar\"]}]");
    tt_end(&archive);
    save("fuzz_image", "docker", archive.data, archive.len);
    free(z);
    free(zstd);
    buf_free(&archive);
    /* An OCI layout tar; the digests do not need to be right for goinject to follow them. */
    const char *d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const char *d2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    const char *d3 = "sha256:3333333333333333333333333333333333333333333333333333333333333333";
    char index[512], manifest[512], path[128];
    snprintf(index, sizeof(index),
             "{\"manifests\":[{\"digest\":\"%s\",\"annotations\":{"
             "\"org.opencontainers.image.ref.name\":\"1.0\"}}]}",
             d1);
    snprintf(manifest, sizeof(manifest),
             "{\"config\":{\"digest\":\"%s\"},\"layers\":[{\"digest\":\"%s\","
             "\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\"}]}",
             d2, d3);
    tt_file(&archive, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
    tt_file(&archive, "index.json", index);
    snprintf(path, sizeof(path), "blobs/sha256/%s", d1 + 7);
    tt_file(&archive, path, manifest);
    snprintf(path, sizeof(path), "blobs/sha256/%s", d2 + 7);
    tt_file(&archive, path, "{\"config\":{\"Cmd\":[\"/app\"]}}");
    snprintf(path, sizeof(path), "blobs/sha256/%s", d3 + 7);
    tt_add(&archive, path, '0', NULL, layer.data, layer.len, 0644);
    tt_end(&archive);
    save("fuzz_image", "oci", archive.data, archive.len);
    save("fuzz_tar", "layer", layer.data, layer.len);
    buf_free(&archive);
    buf_free(&layer);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: seeds OUTDIR\n");
        return 2;
    }
    outdir = argv[1];
    mkdir(outdir, 0755);
    elf_seeds();
    tar_seeds();
    image_seeds();
    return 0;
}
