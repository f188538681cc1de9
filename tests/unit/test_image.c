/*
 * test_image.c - images assembled in code: docker save archives and OCI
 * layouts (directory and tar), plain, gzip and zstd layers, whiteouts, opaque
 * directories, PATH and symlink lookups, shells, C libraries, and hostile
 * manifests; then the facts, annotations and catalog rules drawn from them.
 */
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"
#include "image_memory.h"
#include "imagefacts.h"
#include "testelf.h"
#include "testtar.h"
#include "testutil.h"

static char err[512];
static struct image img;
static struct image_facts facts;
static struct buf archive;

static void setup(void)
{
    memset(&img, 0, sizeof(img));
    memset(&facts, 0, sizeof(facts));
    memset(&archive, 0, sizeof(archive));
    img.fd = -1;
}

static void teardown(void)
{
    image_facts_free(&facts);
    image_close(&img);
    buf_free(&archive);
}

/* ---- the programs in the images ------------------------------------------ */

static void add_elf(struct buf *layer, const char *path, struct elf_spec *spec, const char *modinfo)
{
    size_t len, blen;
    uint8_t *blob = NULL;
    if (modinfo) {
        blob = build_buildinfo("go1.26.8", modinfo, &blen);
        spec->section_names[0] = ".go.buildinfo";
        spec->section_data[0] = blob;
        spec->section_len[0] = blen;
    }
    uint8_t *data = build_elf(spec, &len);
    tt_add(layer, path, '0', NULL, data, len, 0755);
    free(data);
    free(blob);
}

static void add_static_go(struct buf *layer, const char *path)
{
    struct elf_spec spec = {.symbols = {"runtime.main"}};
    add_elf(layer, path, &spec, "path\texample.com/app\nbuild\tCGO_ENABLED=0\nbuild\tGOOS=linux\n");
}

static void add_dynamic_shell(struct buf *layer, const char *path)
{
    struct elf_spec spec = {
        .type = 3, .interp = "/lib64/ld-linux-x86-64.so.2", .needed = {"libc.so.6"}};
    add_elf(layer, path, &spec, NULL);
}

/* A Debian-like base: merged /usr, dash as /bin/sh, glibc. */
static void add_glibc_base(struct buf *layer)
{
    struct elf_spec libc = {.type = 3, .needed = {"ld-linux-x86-64.so.2"}};
    tt_add(layer, "./", '5', NULL, NULL, 0, 0755);
    tt_add(layer, "./bin", '2', "usr/bin", NULL, 0, 0777);
    tt_add(layer, "./lib64", '2', "usr/lib64", NULL, 0, 0777);
    tt_add(layer, "./usr/bin/", '5', NULL, NULL, 0, 0755);
    add_dynamic_shell(layer, "./usr/bin/dash");
    tt_add(layer, "./usr/bin/sh", '2', "dash", NULL, 0, 0777);
    tt_file(layer, "./usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "loader");
    tt_add(layer, "./usr/lib64/ld-linux-x86-64.so.2", '2',
           "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", NULL, 0, 0777);
    add_elf(layer, "./usr/lib/x86_64-linux-gnu/libc.so.6", &libc, NULL);
}

/* ---- archives ------------------------------------------------------------- */

static void add_json(struct buf *tar, const char *name, const char *text)
{
    tt_file(tar, name, text);
}

/* data[0..len) compressed with codec, into a fresh buffer (owned by the caller). */
static uint8_t *compress_as(enum reader_codec codec, const void *data, size_t len, size_t *out_len)
{
    if (codec == READER_GZIP)
        return tt_gzip(data, len, out_len);
    if (codec == READER_ZSTD)
        return tt_zstd(data, len, out_len);
    uint8_t *copy = malloc(len);
    memcpy(copy, data, len);
    *out_len = len;
    return copy;
}

/* A docker save archive of these layers (compressed with codec), with config and one tag. */
static void docker_archive(struct buf *layers, size_t n, const char *config,
                           enum reader_codec codec)
{
    struct buf manifest = BUF_INIT;
    buf_printf(&manifest, "[{\"Config\":\"cfg.json\",\"RepoTags\":[\"example.com/app:1.0\"],"
                          "\"Layers\":[");
    for (size_t i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof(name), "l%zu/layer.tar", i);
        buf_printf(&manifest, "%s\"%s\"", i ? "," : "", name);
        tt_end(&layers[i]);
        size_t zlen;
        uint8_t *z = compress_as(codec, layers[i].data, layers[i].len, &zlen);
        tt_add(&archive, name, '0', NULL, z, zlen, 0644);
        free(z);
        buf_free(&layers[i]);
    }
    buf_append_str(&manifest, "]}]");
    add_json(&archive, "cfg.json", config);
    add_json(&archive, "manifest.json", manifest.data);
    tt_end(&archive);
    buf_free(&manifest);
}

static void open_archive(void)
{
    ck_assert_msg(
        image_open_memory(&img, (uint8_t *)archive.data, archive.len, NULL, err, sizeof(err)) == 0,
        "%s", err);
    image_facts_compute(&img, &facts);
}

static const char *note_text(size_t i)
{
    return json_string_value(json_array_get(facts.notes, i));
}

static bool has_note(const char *needle)
{
    for (size_t i = 0; i < json_array_size(facts.notes); i++)
        if (strstr(note_text(i), needle))
            return true;
    return false;
}

/* ---- docker save ------------------------------------------------------------ */

static void static_go_on_debian(enum reader_codec codec)
{
    struct buf layers[2] = {BUF_INIT, BUF_INIT};
    add_glibc_base(&layers[0]);
    add_static_go(&layers[1], "app/server");
    docker_archive(layers, 2,
                   "{\"os\":\"linux\",\"architecture\":\"amd64\",\"config\":{"
                   "\"Entrypoint\":[\"/app/server\"],\"Cmd\":[\"--port\",\"8080\"]}}",
                   codec);
    open_archive();
    ck_assert_int_eq(img.format, IMAGE_DOCKER_ARCHIVE);
    ck_assert_str_eq(img.name, "example.com/app:1.0");
    ck_assert_uint_eq(img.nlayers, 2);
    ck_assert_str_eq(facts.executable, "/app/server");
    ck_assert(facts.static_go_known && facts.static_go);
    ck_assert(facts.has_binary && !facts.binary.cgo);
    ck_assert_str_eq(facts.shell, "/bin/sh");
    ck_assert_int_eq(facts.libc, BIN_LIBC_GLIBC);
    ck_assert_uint_eq(facts.problems, 0);
    json_t *annotations = image_facts_annotations(&facts, "goinject.io", "api");
    ck_assert_json_eq(annotations, "{\"static-go.goinject.io/api\": \"true\","
                                   " \"cgo.goinject.io/api\": \"false\","
                                   " \"shell.goinject.io/api\": \"/bin/sh\","
                                   " \"libc.goinject.io/api\": \"glibc\","
                                   " \"entrypoint.goinject.io/api\": \"[\\\"/app/server\\\"]\","
                                   " \"cmd.goinject.io/api\": \"[\\\"--port\\\",\\\"8080\\\"]\"}");
    json_decref(annotations);
}

START_TEST(docker_archive_plain_layers)
{
    static_go_on_debian(READER_PLAIN);
    json_t *j = image_facts_to_json(&img, &facts);
    ck_assert_str_eq(json_string_value(json_object_get(j, "format")), "docker-archive");
    ck_assert(json_is_true(json_object_get(j, "staticGo")));
    ck_assert_str_eq(json_string_value(json_object_get(j, "os")), "linux");
    ck_assert(json_is_object(json_object_get(j, "binary")));
    json_decref(j);
}
END_TEST

START_TEST(docker_archive_gzip_layers)
{
    static_go_on_debian(READER_GZIP);
}
END_TEST

START_TEST(docker_archive_zstd_layers)
{
    static_go_on_debian(READER_ZSTD);
}
END_TEST

START_TEST(whiteouts_and_opaque_directories_apply)
{
    struct buf layers[3] = {BUF_INIT, BUF_INIT, BUF_INIT};
    add_glibc_base(&layers[0]);
    add_static_go(&layers[0], "app/server");
    tt_file(&layers[1], "usr/bin/.wh.dash", "");             /* the shell's target goes */
    tt_file(&layers[1], "usr/lib/.wh..wh..opq", "");         /* and so does all of /usr/lib */
    tt_file(&layers[1], "usr/lib/x86_64-linux-gnu/new", ""); /* except what this layer adds */
    tt_file(&layers[2], "note", "third layer");
    docker_archive(layers, 3, "{\"config\":{\"Entrypoint\":[\"/app/server\"]}}", READER_PLAIN);
    open_archive();
    ck_assert_ptr_null(tree_get(&img.files, "usr/bin/dash"));
    ck_assert_ptr_null(tree_get(&img.files, "usr/lib/x86_64-linux-gnu/libc.so.6"));
    ck_assert_ptr_nonnull(tree_get(&img.files, "usr/lib/x86_64-linux-gnu/new"));
    ck_assert_ptr_null(tree_get(&img.files, "usr/bin/.wh.dash"));
    ck_assert_str_eq(facts.shell, "");
    ck_assert_int_eq(facts.libc, BIN_LIBC_NONE);
    ck_assert(facts.problems & (1u << PROBLEM_NO_LIBC));
    ck_assert(problems_unsupported(facts.problems));
}
END_TEST

START_TEST(entrypoint_through_path_and_symlinks)
{
    struct buf layers[1] = {BUF_INIT};
    add_glibc_base(&layers[0]);
    add_static_go(&layers[0], "opt/app/v2/server");
    tt_add(&layers[0], "opt/app/current", '2', "v2", NULL, 0, 0777);
    tt_add(&layers[0], "usr/local/bin/server", '2', "../../../../../opt/app/current/server", NULL,
           0, 0777);
    tt_file(&layers[0], "usr/bin/server", "not executable"); /* mode 0644: skipped */
    docker_archive(layers, 1,
                   "{\"config\":{\"Env\":[\"A=1\",\"PATH=/usr/bin:/usr/local/bin\"],"
                   "\"Entrypoint\":null,\"Cmd\":[\"server\",\"run\"]}}",
                   READER_PLAIN);
    open_archive();
    ck_assert_str_eq(facts.executable, "/opt/app/v2/server");
    ck_assert(facts.static_go);
    ck_assert_uint_eq(json_array_size(facts.entrypoint), 0);
    json_t *rule = image_facts_catalog_rule(&facts, "example.com/app:*", NULL);
    ck_assert_json_eq(rule, "{\"match\": {\"glob\": \"example.com/app:*\"},"
                            " \"facts\": {\"staticGo\": true, \"cgo\": false,"
                            "   \"shell\": \"/bin/sh\", \"libc\": \"glibc\","
                            "   \"entrypoint\": [], \"cmd\": [\"server\", \"run\"],"
                            "   \"user\": \"\"}}");
    json_decref(rule);
}
END_TEST

START_TEST(static_busybox_is_not_a_shell)
{
    struct buf layers[1] = {BUF_INIT};
    struct elf_spec busybox = {0}; /* no interpreter: static */
    add_elf(&layers[0], "bin/busybox", &busybox, NULL);
    tt_add(&layers[0], "bin/sh", '2', "busybox", NULL, 0, 0777);
    add_static_go(&layers[0], "app");
    docker_archive(layers, 1, "{\"config\":{\"Entrypoint\":[\"/app\"]}}", READER_PLAIN);
    open_archive();
    ck_assert_str_eq(facts.shell, "");
    ck_assert(has_note("statically linked"));
    ck_assert_int_eq(facts.libc, BIN_LIBC_NONE);
}
END_TEST

START_TEST(a_shell_without_its_loader_does_not_count)
{
    struct buf layers[1] = {BUF_INIT};
    add_dynamic_shell(&layers[0], "bin/sh");
    add_static_go(&layers[0], "app");
    docker_archive(layers, 1, "{\"config\":{\"Entrypoint\":[\"/app\"]}}", READER_PLAIN);
    open_archive();
    ck_assert_str_eq(facts.shell, "");
    ck_assert(has_note("lacks"));
}
END_TEST

START_TEST(the_user_is_the_config_user_as_written)
{
    struct buf layers[1] = {BUF_INIT};
    add_static_go(&layers[0], "app");
    docker_archive(layers, 1, "{\"config\":{\"Entrypoint\":[\"/app\"],\"User\":\"65532:65532\"}}",
                   READER_PLAIN);
    open_archive();
    ck_assert(facts.user_known);
    ck_assert_str_eq(facts.user, "65532:65532");
    json_t *rule = image_facts_catalog_rule(&facts, "example.com/app:1", NULL);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(rule, "facts"), "user")),
                     "65532:65532");
    json_decref(rule);
}
END_TEST

START_TEST(a_user_that_is_no_name_or_uid_is_unknown_with_a_note)
{
    struct buf layers[1] = {BUF_INIT};
    add_static_go(&layers[0], "app");
    docker_archive(layers, 1, "{\"config\":{\"Entrypoint\":[\"/app\"],\"User\":\"a b\"}}",
                   READER_PLAIN);
    open_archive();
    ck_assert(!facts.user_known);
    ck_assert(has_note("User"));
    json_t *rule = image_facts_catalog_rule(&facts, "example.com/app:1", NULL);
    ck_assert_ptr_null(json_object_get(json_object_get(rule, "facts"), "user"));
    json_decref(rule);
}
END_TEST

START_TEST(programs_started_by_a_shell_or_an_init)
{
    static const char *const configs[] = {
        "{\"config\":{\"Entrypoint\":[\"/bin/sh\",\"-c\",\"exec /app/server \\\"$@\\\"\","
        "\"server\"],\"Cmd\":[\"--port\",\"9090\"]}}",
        "{\"config\":{\"Entrypoint\":[\"/bin/sh\",\"-ec\",\"\\\"$0\\\" \\\"$@\\\"\","
        "\"/app/server\"]}}",
        "{\"config\":{\"Entrypoint\":[\"/tini\",\"-s\",\"-p\",\"SIGTERM\",\"--\","
        "\"/app/server\"]}}",
        "{\"config\":{\"Entrypoint\":[\"dumb-init\"],\"Cmd\":[\"/app/server\"]}}",
    };
    for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
        struct buf layers[1] = {BUF_INIT};
        add_glibc_base(&layers[0]);
        add_static_go(&layers[0], "app/server");
        add_dynamic_shell(&layers[0], "tini");
        add_dynamic_shell(&layers[0], "usr/bin/dumb-init");
        docker_archive(layers, 1, configs[i], READER_PLAIN);
        open_archive();
        ck_assert_msg(strcmp(facts.executable, "/app/server") == 0, "config %zu: executable %s", i,
                      facts.executable);
        ck_assert_msg(facts.parent[0] != '\0', "config %zu: no parent", i);
        ck_assert(facts.static_go);
        teardown();
        setup();
    }
}
END_TEST

START_TEST(unknown_scripts_leave_static_go_unknown)
{
    struct buf layers[1] = {BUF_INIT};
    add_glibc_base(&layers[0]);
    tt_add(&layers[0], "start.sh", '0', NULL, "#!/bin/sh\nexec /app\n", 20, 0755);
    docker_archive(layers, 1,
                   "{\"config\":{\"Entrypoint\":[\"/bin/sh\",\"-c\",\"cd /x && ./run | tee\"]}}",
                   READER_PLAIN);
    open_archive();
    ck_assert(!facts.static_go_known);
    ck_assert(has_note("cannot tell"));
    json_t *annotations = image_facts_annotations(&facts, "example.org", "c");
    ck_assert_ptr_null(json_object_get(annotations, "static-go.example.org/c"));
    ck_assert_ptr_nonnull(json_object_get(annotations, "shell.example.org/c"));
    json_decref(annotations);
    teardown();
    setup();
    struct buf again[1] = {BUF_INIT};
    add_glibc_base(&again[0]);
    tt_add(&again[0], "start.sh", '0', NULL, "#!/bin/sh\nexec /app\n", 20, 0755);
    docker_archive(again, 1, "{\"config\":{\"Entrypoint\":[\"/start.sh\"]}}", READER_PLAIN);
    open_archive();
    ck_assert(facts.static_go_known && !facts.static_go); /* a script is not a static binary */
    ck_assert(has_note("script"));
}
END_TEST

START_TEST(missing_entrypoint_is_a_note)
{
    struct buf layers[1] = {BUF_INIT};
    add_glibc_base(&layers[0]);
    docker_archive(layers, 1, "{\"config\":{\"Entrypoint\":[\"/nope\"]}}", READER_PLAIN);
    open_archive();
    ck_assert(!facts.static_go_known);
    ck_assert_str_eq(facts.executable, "");
    ck_assert(has_note("no such file"));
    teardown();
    setup();
    struct buf none[1] = {BUF_INIT};
    add_glibc_base(&none[0]);
    docker_archive(none, 1, "{\"config\":{}}", READER_PLAIN);
    open_archive();
    ck_assert(has_note("neither ENTRYPOINT nor CMD"));
}
END_TEST

START_TEST(musl_and_gcompat)
{
    struct buf layers[1] = {BUF_INIT};
    struct elf_spec gcompat = {.type = 3, .needed = {"libc.musl-x86_64.so.1"}};
    tt_file(&layers[0], "lib/ld-musl-x86_64.so.1", "musl");
    add_elf(&layers[0], "lib/libc.so.6", &gcompat, NULL);
    add_static_go(&layers[0], "app");
    docker_archive(layers, 1, "{\"config\":{\"Entrypoint\":[\"/app\"]}}", READER_PLAIN);
    open_archive();
    ck_assert_int_eq(facts.libc, BIN_LIBC_MUSL);
}
END_TEST

START_TEST(duplicate_layers_are_symlinks_in_the_archive)
{
    struct buf layer = BUF_INIT;
    add_static_go(&layer, "app");
    tt_end(&layer);
    tt_add(&archive, "a/layer.tar", '0', NULL, layer.data, layer.len, 0644);
    tt_add(&archive, "b/layer.tar", '2', "../a/layer.tar", NULL, 0, 0777);
    add_json(&archive, "cfg.json", "{\"config\":{\"Cmd\":[\"/app\"]}}");
    add_json(&archive, "manifest.json",
             "[{\"Config\":\"cfg.json\",\"Layers\":[\"a/layer.tar\",\"b/layer.tar\"]}]");
    tt_end(&archive);
    buf_free(&layer);
    open_archive();
    ck_assert_uint_eq(img.nlayers, 2);
    ck_assert(facts.static_go);
    ck_assert_ptr_null(img.name);
}
END_TEST

START_TEST(several_images_in_one_archive)
{
    struct buf one = BUF_INIT, two = BUF_INIT;
    add_static_go(&one, "first");
    add_static_go(&two, "second");
    tt_end(&one);
    tt_end(&two);
    tt_add(&archive, "1/layer.tar", '0', NULL, one.data, one.len, 0644);
    tt_add(&archive, "2/layer.tar", '0', NULL, two.data, two.len, 0644);
    add_json(&archive, "1.json", "{\"config\":{\"Cmd\":[\"/first\"]}}");
    add_json(&archive, "2.json", "{\"config\":{\"Cmd\":[\"/second\"]}}");
    add_json(&archive, "manifest.json",
             "[{\"Config\":\"1.json\",\"RepoTags\":[\"a:1\"],\"Layers\":[\"1/layer.tar\"]},"
             " {\"Config\":\"2.json\",\"RepoTags\":[\"b:2\",\"b:latest\"],"
             "  \"Layers\":[\"2/layer.tar\"]}]");
    tt_end(&archive);
    buf_free(&one);
    buf_free(&two);
    open_archive(); /* the first by default */
    ck_assert_str_eq(img.name, "a:1");
    ck_assert_str_eq(facts.executable, "/first");
    struct buf archive_copy = BUF_INIT; /* the teardown frees the archive */
    buf_append(&archive_copy, archive.data, archive.len);
    teardown();
    setup();
    ck_assert_int_eq(image_open_memory(&img, (uint8_t *)archive_copy.data, archive_copy.len,
                                       "b:latest", err, sizeof(err)),
                     0);
    image_facts_compute(&img, &facts);
    ck_assert_str_eq(img.name, "b:latest");
    ck_assert_str_eq(facts.executable, "/second");
    buf_free(&archive_copy);
}
END_TEST

/* ---- hostile archives ----------------------------------------------------------- */

static void expect_open_error(const char *needle)
{
    int rc = image_open_memory(&img, (uint8_t *)archive.data, archive.len, NULL, err, sizeof(err));
    ck_assert_int_eq(rc, -1);
    ck_assert_msg(strstr(err, needle) != NULL, "error \"%s\" does not say %s", err, needle);
}

START_TEST(manifest_paths_cannot_leave_the_archive)
{
    add_json(&archive, "cfg.json", "{\"config\":{}}");
    add_json(&archive, "manifest.json",
             "[{\"Config\":\"cfg.json\",\"Layers\":[\"../../../etc/passwd\"]}]");
    tt_end(&archive);
    expect_open_error("no such file");
}
END_TEST

START_TEST(symlink_loops_in_the_archive)
{
    tt_add(&archive, "loop/layer.tar", '2', "../loop2/layer.tar", NULL, 0, 0777);
    tt_add(&archive, "loop2/layer.tar", '2', "/loop/layer.tar", NULL, 0, 0777);
    add_json(&archive, "cfg.json", "{\"config\":{}}");
    add_json(&archive, "manifest.json",
             "[{\"Config\":\"cfg.json\",\"Layers\":[\"loop/layer.tar\"]}]");
    tt_end(&archive);
    expect_open_error("too many levels of symbolic links");
}
END_TEST

START_TEST(malformed_documents)
{
    add_json(&archive, "manifest.json", "{\"not\": \"an array\"}");
    tt_end(&archive);
    expect_open_error("no Config and Layers");
    image_close(&img);
    buf_free(&archive);
    add_json(&archive, "manifest.json", "[{\"Config\":\"cfg.json\",\"Layers\":[");
    tt_end(&archive);
    expect_open_error("invalid JSON");
    image_close(&img);
    buf_free(&archive);
    add_json(&archive, "something.txt", "hello");
    tt_end(&archive);
    expect_open_error("neither a docker save archive");
    image_close(&img);
    buf_free(&archive);
    struct buf layer = BUF_INIT;
    buf_append(&layer, "\x28\xb5\x2f\xfd rest of a zstd frame", 24);
    tt_add(&archive, "l.tar", '0', NULL, layer.data, layer.len, 0644);
    add_json(&archive, "cfg.json", "{\"config\":{}}");
    add_json(&archive, "manifest.json", "[{\"Config\":\"cfg.json\",\"Layers\":[\"l.tar\"]}]");
    tt_end(&archive);
    buf_free(&layer);
    expect_open_error("layer 1: tar: zstd stream is corrupt");
}
END_TEST

/* A layer whose zstd frame asks for a 2 GiB window (see test_source.c): refused, named. */
START_TEST(zstd_window_bombs_are_refused)
{
    const uint8_t bomb[] = {0x28, 0xb5, 0x2f, 0xfd, 0x00, 21 << 3, 0x01, 0x00, 0x00};
    tt_add(&archive, "l.tar", '0', NULL, bomb, sizeof(bomb), 0644);
    add_json(&archive, "cfg.json", "{\"config\":{}}");
    add_json(&archive, "manifest.json", "[{\"Config\":\"cfg.json\",\"Layers\":[\"l.tar\"]}]");
    tt_end(&archive);
    expect_open_error("layer 1: tar: zstd window is larger than the 32 MiB goinject allows");
}
END_TEST

START_TEST(hostile_layer_entries_stay_inside_the_tree)
{
    struct buf layers[1] = {BUF_INIT};
    add_static_go(&layers[0], "../../../../app");
    tt_add(&layers[0], "/etc/evil", '2', "../../../../../../etc/shadow", NULL, 0, 0777);
    tt_add(&layers[0], "bin/sh", '2', "/etc/evil", NULL, 0, 0777);
    docker_archive(layers, 1, "{\"config\":{\"Entrypoint\":[\"/app\"]}}", READER_PLAIN);
    open_archive();
    ck_assert_ptr_nonnull(tree_get(&img.files, "app"));
    ck_assert_str_eq(facts.executable, "/app");
    ck_assert_str_eq(facts.shell, "");
}
END_TEST

/* ---- OCI layouts ------------------------------------------------------------------ */

static void digest_of(const void *data, size_t len, char out[72])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    strcpy(out, "sha256:");
    for (unsigned i = 0; i < n; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

/* Adds one live node of img.files to the JSON object ctx: its kind, and its data's digest. */
static int fingerprint_node(const struct tree_node *node, void *ctx)
{
    char line[TREE_PATH_MAX + 200], digest[72] = "-";
    if (node->type == NODE_FILE) {
        struct image_bytes b;
        ck_assert_msg(image_file_bytes(&img, node, (size_t)node->size, &b, err, sizeof(err)) == 0,
                      "%s", err);
        ck_assert(!b.truncated && b.len == node->size);
        digest_of(b.data, b.len, digest);
        image_bytes_release(&b);
    }
    snprintf(line, sizeof(line), "type %d mode %o size %llu link %s data %s", (int)node->type,
             (unsigned)node->mode, (unsigned long long)node->size, node->link ? node->link : "-",
             digest);
    json_object_set_new(ctx, node->path, json_string(line));
    return 0;
}

/* Three layers with a large file, links and whiteouts, compressed with codec: the tree as JSON. */
static json_t *layered_tree(enum reader_codec codec)
{
    struct buf layers[3] = {BUF_INIT, BUF_INIT, BUF_INIT};
    static char big[300000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)(i % 251 ^ i / 997);
    add_glibc_base(&layers[0]);
    tt_add(&layers[0], "data/big", '0', NULL, big, sizeof(big), 0644);
    tt_file(&layers[0], "etc/gone", "deleted later");
    add_static_go(&layers[1], "app/server");
    tt_add(&layers[1], "data/hard", '1', "data/big", NULL, 0, 0644);
    tt_file(&layers[2], "etc/.wh.gone", "");
    tt_add(&layers[2], "data/big2", '0', NULL, big + 1000, sizeof(big) - 1000, 0600);
    docker_archive(layers, 3, "{\"config\":{\"Entrypoint\":[\"/app/server\"]}}", codec);
    open_archive();
    json_t *tree = json_object();
    tree_each(&img.files, fingerprint_node, tree);
    image_facts_free(&facts);
    image_close(&img);
    buf_free(&archive);
    return tree;
}

START_TEST(plain_gzip_and_zstd_layers_give_the_same_tree)
{
    json_t *plain = layered_tree(READER_PLAIN);
    json_t *gzip = layered_tree(READER_GZIP);
    json_t *zstd = layered_tree(READER_ZSTD);
    ck_assert_ptr_nonnull(json_object_get(plain, "data/big2"));
    ck_assert_ptr_nonnull(json_object_get(plain, "data/hard"));
    ck_assert_ptr_null(json_object_get(plain, "etc/gone"));
    ck_assert(json_same(plain, gzip));
    ck_assert(json_same(plain, zstd));
    json_decref(plain);
    json_decref(gzip);
    json_decref(zstd);
}
END_TEST

struct blobs {
    char digests[8][72];
    struct buf data[8];
    size_t n;
};

static const char *add_blob(struct blobs *b, const void *data, size_t len)
{
    digest_of(data, len, b->digests[b->n]);
    memset(&b->data[b->n], 0, sizeof(b->data[b->n]));
    buf_append(&b->data[b->n], data, len);
    return b->digests[b->n++];
}

/*
 * An OCI layout: a layer compressed with codec (and the media type that says so), config,
 * manifest, an index naming it, and index.json above.
 */
static void oci_blobs(struct blobs *b, char *index_json, size_t len, enum reader_codec codec)
{
    static const char *const media[] = {
        [READER_PLAIN] = "application/vnd.oci.image.layer.v1.tar",
        [READER_GZIP] = "application/vnd.oci.image.layer.v1.tar+gzip",
        [READER_ZSTD] = "application/vnd.oci.image.layer.v1.tar+zstd"};
    struct buf layer = BUF_INIT, text = BUF_INIT;
    add_glibc_base(&layer);
    add_static_go(&layer, "srv");
    tt_end(&layer);
    size_t zlen;
    uint8_t *z = compress_as(codec, layer.data, layer.len, &zlen);
    const char *layer_digest = add_blob(b, z, zlen);
    free(z);
    const char *config = "{\"architecture\":\"amd64\",\"os\":\"linux\","
                         "\"config\":{\"Entrypoint\":[\"/srv\"]}}";
    const char *config_digest = add_blob(b, config, strlen(config));
    buf_printf(&text,
               "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
               "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
               "\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":"
               "\"%s\",\"digest\":\"%s\",\"size\":%zu}]}",
               config_digest, strlen(config), media[codec], layer_digest, zlen);
    const char *manifest_digest = add_blob(b, text.data, text.len);
    size_t manifest_len = text.len;
    buf_free(&text);
    buf_printf(&text,
               "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
               "\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
               "\"digest\":\"%s\",\"size\":%zu,\"platform\":{\"architecture\":\"arm64\","
               "\"os\":\"linux\"}},{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
               "\"digest\":\"%s\",\"size\":%zu,\"platform\":{\"architecture\":\"amd64\","
               "\"os\":\"linux\"}}]}",
               config_digest, strlen(config), manifest_digest, manifest_len);
    const char *index_digest = add_blob(b, text.data, text.len);
    snprintf(index_json, len,
             "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
             "\"application/vnd.oci.image.index.v1+json\",\"digest\":\"%s\",\"size\":%zu,"
             "\"annotations\":{\"org.opencontainers.image.ref.name\":\"2.0\"}}]}",
             index_digest, text.len);
    buf_free(&text);
    buf_free(&layer);
}

static void free_blobs(struct blobs *b)
{
    for (size_t i = 0; i < b->n; i++)
        buf_free(&b->data[i]);
}

static void check_oci_facts(void)
{
    ck_assert_int_eq(img.format, IMAGE_OCI_LAYOUT);
    ck_assert_str_eq(facts.executable, "/srv");
    ck_assert(facts.static_go);
    ck_assert_str_eq(facts.shell, "/bin/sh");
    ck_assert_ptr_nonnull(img.digest);
    ck_assert_int_eq(strncmp(img.digest, "sha256:", 7), 0);
}

/* An OCI layout tar whose layer is compressed with codec, opened as the image named want. */
static void open_oci_tar(enum reader_codec codec, const char *want)
{
    struct blobs b = {.n = 0};
    char index[1024];
    oci_blobs(&b, index, sizeof(index), codec);
    tt_file(&archive, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
    for (size_t i = 0; i < b.n; i++) {
        char path[128];
        snprintf(path, sizeof(path), "blobs/sha256/%s", b.digests[i] + 7);
        tt_add(&archive, path, '0', NULL, b.data[i].data, b.data[i].len, 0644);
    }
    tt_file(&archive, "index.json", index);
    tt_end(&archive);
    free_blobs(&b);
    ck_assert_msg(
        image_open_memory(&img, (uint8_t *)archive.data, archive.len, want, err, sizeof(err)) == 0,
        "%s", err);
    image_facts_compute(&img, &facts);
    check_oci_facts();
}

START_TEST(oci_layout_tar_with_nested_index)
{
    open_oci_tar(READER_GZIP, "registry.example.com/srv:2.0");
    ck_assert_str_eq(img.name, "registry.example.com/srv:2.0");
    json_t *rule = image_facts_catalog_rule(&facts, NULL, img.digest);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(rule, "match"), "digest")),
                     img.digest);
    json_decref(rule);
}
END_TEST

START_TEST(oci_layout_with_zstd_and_plain_layers)
{
    open_oci_tar(READER_ZSTD, NULL);
    ck_assert_str_eq(img.name, "2.0");
    image_facts_free(&facts);
    image_close(&img);
    buf_free(&archive);
    open_oci_tar(READER_PLAIN, NULL);
}
END_TEST

static void write_file(const char *dir, const char *rel, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
}

START_TEST(oci_layout_directory)
{
    char dir[] = "/tmp/goinject-oci-XXXXXX", sub[600], index[1024];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(sub, sizeof(sub), "%s/blobs", dir);
    mkdir(sub, 0755);
    snprintf(sub, sizeof(sub), "%s/blobs/sha256", dir);
    mkdir(sub, 0755);
    struct blobs b = {.n = 0};
    oci_blobs(&b, index, sizeof(index), READER_GZIP);
    for (size_t i = 0; i < b.n; i++) {
        char rel[128];
        snprintf(rel, sizeof(rel), "blobs/sha256/%s", b.digests[i] + 7);
        write_file(dir, rel, b.data[i].data, b.data[i].len);
    }
    write_file(dir, "index.json", index, strlen(index));
    write_file(dir, "oci-layout", "{}", 2);
    free_blobs(&b);
    ck_assert_msg(image_open(&img, dir, NULL, err, sizeof(err)) == 0, "%s", err);
    image_facts_compute(&img, &facts);
    check_oci_facts();
    ck_assert_str_eq(img.name, "2.0"); /* the ref name as the layout records it */
    image_facts_free(&facts);
    image_close(&img);
    /* A digest that is not hex cannot become a path outside the layout. */
    const char *evil = "{\"manifests\":[{\"digest\":\"sha256:../../../../etc/passwd\"}]}";
    write_file(dir, "index.json", evil, strlen(evil));
    ck_assert_int_eq(image_open(&img, dir, NULL, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "invalid digest"));
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/*
 * An archive on disk with the static Go program in a layer compressed with
 * codec, opened with at most max_files files: the program's bytes.
 */
static int program_bytes_from_disk(enum reader_codec codec, size_t max_files,
                                   struct image_bytes *out)
{
    char dir[] = "/tmp/goinject-bytes-XXXXXX", path[600];
    struct buf layers[2] = {BUF_INIT, BUF_INIT};
    ck_assert_ptr_nonnull(mkdtemp(dir));
    add_glibc_base(&layers[0]);
    add_static_go(&layers[1], "app/server");
    docker_archive(layers, 2, "{\"config\":{\"Entrypoint\":[\"/app/server\"]}}", codec);
    write_file(dir, "image.tar", archive.data, archive.len);
    snprintf(path, sizeof(path), "%s/image.tar", dir);
    int rc = image_open_limited(&img, path, NULL, max_files, TREE_MAX_PATH_BYTES, err, sizeof(err));
    const struct tree_node *node = rc == 0 ? tree_get(&img.files, "app/server") : NULL;
    if (rc == 0) {
        ck_assert_ptr_nonnull(node);
        ck_assert_msg(image_file_bytes(&img, node, BINARY_MAX_BYTES, out, err, sizeof(err)) == 0,
                      "%s", err);
        ck_assert(!out->truncated && out->len == node->size);
    }
    image_close(&img); /* the bytes stay valid: a mapping or a heap copy */
    buf_free(&archive);
    unlink(path);
    rmdir(dir);
    return rc;
}

START_TEST(file_data_is_mapped_from_plain_layers_and_read_from_compressed_ones)
{
    struct image_bytes plain, gzip, zstd;
    ck_assert_int_eq(program_bytes_from_disk(READER_PLAIN, TREE_MAX_NODES, &plain), 0);
    ck_assert_int_eq(program_bytes_from_disk(READER_GZIP, TREE_MAX_NODES, &gzip), 0);
    ck_assert_int_eq(program_bytes_from_disk(READER_ZSTD, TREE_MAX_NODES, &zstd), 0);
    ck_assert(plain.map && !plain.heap);
    ck_assert(gzip.heap && !gzip.map && zstd.heap && !zstd.map);
    ck_assert_uint_eq(plain.len, gzip.len);
    ck_assert_int_eq(memcmp(plain.data, gzip.data, plain.len), 0);
    ck_assert_int_eq(memcmp(plain.data, zstd.data, plain.len), 0);
    ck_assert_int_eq(memcmp(plain.data, "\177ELF", 4), 0);
    image_bytes_release(&plain);
    image_bytes_release(&gzip);
    image_bytes_release(&zstd);
    ck_assert_ptr_null(plain.data);
}
END_TEST

START_TEST(an_image_with_more_files_than_allowed_is_refused)
{
    struct image_bytes b;
    ck_assert_int_eq(program_bytes_from_disk(READER_PLAIN, 3, &b), -1);
    ck_assert_msg(strstr(err, "more than 3 files"), "%s", err);
}
END_TEST

START_TEST(compressed_and_foreign_inputs)
{
    size_t zlen;
    tt_file(&archive, "manifest.json", "[]");
    tt_end(&archive);
    uint8_t *z = tt_gzip(archive.data, archive.len, &zlen);
    ck_assert_int_eq(image_open_memory(&img, z, zlen, NULL, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "decompress it first (gunzip)"));
    free(z);
    image_close(&img);
    z = tt_zstd(archive.data, archive.len, &zlen);
    ck_assert_int_eq(image_open_memory(&img, z, zlen, NULL, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "decompress it first (unzstd)"));
    free(z);
    image_close(&img);
    ck_assert_int_eq(image_open(&img, "/nonexistent/image.tar", NULL, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "cannot open"));
    ck_assert(image_looks_like_tar((uint8_t *)archive.data, archive.len));
    ck_assert(!image_looks_like_tar((const uint8_t *)"\177ELF", 4));
}
END_TEST

static Suite *image_suite(void)
{
    Suite *s = suite_create("image");
    TCase *docker = tcase_create("docker save");
    tcase_add_checked_fixture(docker, setup, teardown);
    tcase_add_test(docker, docker_archive_plain_layers);
    tcase_add_test(docker, docker_archive_gzip_layers);
    tcase_add_test(docker, docker_archive_zstd_layers);
    tcase_add_test(docker, plain_gzip_and_zstd_layers_give_the_same_tree);
    tcase_add_test(docker, file_data_is_mapped_from_plain_layers_and_read_from_compressed_ones);
    tcase_add_test(docker, an_image_with_more_files_than_allowed_is_refused);
    tcase_add_test(docker, whiteouts_and_opaque_directories_apply);
    tcase_add_test(docker, entrypoint_through_path_and_symlinks);
    tcase_add_test(docker, static_busybox_is_not_a_shell);
    tcase_add_test(docker, a_shell_without_its_loader_does_not_count);
    tcase_add_test(docker, the_user_is_the_config_user_as_written);
    tcase_add_test(docker, a_user_that_is_no_name_or_uid_is_unknown_with_a_note);
    tcase_add_test(docker, programs_started_by_a_shell_or_an_init);
    tcase_add_test(docker, unknown_scripts_leave_static_go_unknown);
    tcase_add_test(docker, missing_entrypoint_is_a_note);
    tcase_add_test(docker, musl_and_gcompat);
    tcase_add_test(docker, duplicate_layers_are_symlinks_in_the_archive);
    tcase_add_test(docker, several_images_in_one_archive);
    suite_add_tcase(s, docker);
    TCase *hostile = tcase_create("hostile");
    tcase_add_checked_fixture(hostile, setup, teardown);
    tcase_add_test(hostile, manifest_paths_cannot_leave_the_archive);
    tcase_add_test(hostile, symlink_loops_in_the_archive);
    tcase_add_test(hostile, malformed_documents);
    tcase_add_test(hostile, zstd_window_bombs_are_refused);
    tcase_add_test(hostile, hostile_layer_entries_stay_inside_the_tree);
    tcase_add_test(hostile, compressed_and_foreign_inputs);
    suite_add_tcase(s, hostile);
    TCase *oci = tcase_create("oci");
    tcase_add_checked_fixture(oci, setup, teardown);
    tcase_add_test(oci, oci_layout_tar_with_nested_index);
    tcase_add_test(oci, oci_layout_with_zstd_and_plain_layers);
    tcase_add_test(oci, oci_layout_directory);
    suite_add_tcase(s, oci);
    return s;
}

int main(void)
{
    return run_suite(image_suite());
}
