/* inspect.c - the `goinject inspect` command; see inspect.h. */
#include "inspect.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "binfacts.h"
#include "buf.h"
#include "config.h"
#include "image.h"
#include "imagefacts.h"
#include "imageref.h"
#include "regfacts.h"
#include "validate.h"

#define EXIT_UNSUPPORTED 1
#define EXIT_UNREADABLE  2

static const char usage_text[] =
    "usage: goinject inspect [--json] FILE\n"
    "       goinject inspect [--json] [--image REF] IMAGE\n"
    "       goinject inspect --annotations CONTAINER [--prefix PREFIX] [--image REF] IMAGE\n"
    "       goinject inspect --catalog [--image REF] IMAGE\n"
    "       goinject inspect [--json | --annotations C | --catalog] [--config FILE]\n"
    "                        [--platform OS/ARCH] REGISTRY-REF\n"
    "FILE is an ELF executable; IMAGE a docker save archive or an OCI image layout\n"
    "(a directory or a tar); anything else is read from its registry with the\n"
    "configuration's registry settings (credentials, CA, insecure hosts, mirrors).\n"
    "Exit 0: supported, 1: something unsupported, 2: unreadable.\n";

struct inspect_options {
    bool json;
    bool catalog;
    const char *container; /* --annotations */
    const char *prefix;
    const char *image_ref;
    const char *config;   /* --config: registry settings */
    const char *platform; /* --platform */
    const char *read_for; /* set when the image came from a registry: the platform read */
    const char *path;
};

static int usage_error(const char *message)
{
    fprintf(stderr, "goinject: inspect: %s\n%s", message, usage_text);
    return EXIT_UNREADABLE;
}

static int parse_options(int argc, char **argv, struct inspect_options *o)
{
    static const struct option options[] = {
        {"json", no_argument, NULL, 'j'},           {"annotations", required_argument, NULL, 'a'},
        {"prefix", required_argument, NULL, 'p'},   {"catalog", no_argument, NULL, 'c'},
        {"image", required_argument, NULL, 'i'},    {"config", required_argument, NULL, 'f'},
        {"platform", required_argument, NULL, 'P'}, {NULL, 0, NULL, 0},
    };
    int opt;
    memset(o, 0, sizeof(*o));
    o->prefix = "goinject.io";
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (opt == 'j')
            o->json = true;
        else if (opt == 'a')
            o->container = optarg;
        else if (opt == 'p')
            o->prefix = optarg;
        else if (opt == 'c')
            o->catalog = true;
        else if (opt == 'i')
            o->image_ref = optarg;
        else if (opt == 'f')
            o->config = optarg;
        else if (opt == 'P')
            o->platform = optarg;
        else
            return usage_error("unknown flag");
    }
    if (argc - optind != 1)
        return usage_error("expected exactly one FILE or IMAGE");
    o->path = argv[optind];
    if (o->container && !valid_dns_label(o->container))
        return usage_error("--annotations: the container name must be a DNS label");
    if (!valid_dns_subdomain(o->prefix))
        return usage_error("--prefix: must be a DNS subdomain such as goinject.io");
    if (o->image_ref && !valid_image_ref(o->image_ref))
        return usage_error("--image: not an image reference");
    if ((o->container != NULL) + o->catalog + o->json > 1)
        return usage_error("--json, --annotations and --catalog exclude each other");
    return 0;
}

static void print_json(json_t *doc)
{
    json_dumpf(doc, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
    json_decref(doc);
}

static void print_problems(uint32_t problems)
{
    json_t *list = problems_to_json(problems);
    size_t i;
    json_t *p;
    printf("problems:%s\n", json_array_size(list) ? "" : " none");
    json_array_foreach(list, i, p)
    {
        printf("  %-11s %s: %s\n", json_string_value(json_object_get(p, "severity")),
               json_string_value(json_object_get(p, "code")),
               json_string_value(json_object_get(p, "message")));
    }
    json_decref(list);
}

static int exit_status(uint32_t problems)
{
    return problems_unsupported(problems) ? EXIT_UNSUPPORTED : 0;
}

/* ---- an ELF executable -------------------------------------------------------- */

static int inspect_binary(const struct inspect_options *o)
{
    char err[512];
    struct bin_facts facts;
    if (o->container || o->catalog)
        return usage_error("--annotations and --catalog need an image, not an executable");
    struct buf file = BUF_INIT_MAX(BINARY_MAX_BYTES);
    if (buf_read_file(&file, o->path, err, sizeof(err)) != 0) {
        fprintf(stderr, "goinject: inspect: %s\n", err);
        buf_free(&file);
        return EXIT_UNREADABLE;
    }
    size_t len = file.len;
    uint8_t *data = (uint8_t *)buf_steal(&file);
    if (binfacts_inspect(data, len, &facts, err, sizeof(err)) != 0) {
        fprintf(stderr, "goinject: inspect: %s: %s\n", o->path, err);
        free(data);
        return EXIT_UNREADABLE;
    }
    if (o->json) {
        json_t *doc = binfacts_to_json(&facts);
        json_object_set_new(doc, "file", json_string(o->path));
        print_json(doc);
    } else {
        printf("%s\n", o->path);
        binfacts_print(stdout, &facts, 2);
        print_problems(facts.problems);
    }
    int status = exit_status(facts.problems);
    binfacts_free(&facts);
    free(data);
    return status;
}

/* ---- an image ------------------------------------------------------------------- */

/*
 * The name a rule matches: --image, else the archive's own name when it is a
 * reference (RepoTags always are; an OCI ref.name is often just a tag such as
 * "1.0", which would match nothing), else none (the rule matches the digest).
 */
static const char *rule_name(const struct inspect_options *o, const struct image *img)
{
    if (o->image_ref)
        return o->image_ref;
    if (img->name && strpbrk(img->name, ":/@"))
        return img->name;
    return NULL;
}

static int print_catalog_rule(const struct inspect_options *o, const struct image *img,
                              const struct image_facts *facts)
{
    json_t *rule = image_facts_catalog_rule(facts, rule_name(o, img), img->digest);
    if (rule && o->read_for) {
        /* A tag moves: the rule says which image its facts were read from. */
        char note[256];
        snprintf(note, sizeof(note), "read from the registry: %s for %s", img->digest, o->read_for);
        json_object_set_new(rule, "note", json_string(note));
    }
    if (!rule) {
        fprintf(stderr, "goinject: inspect: the image has no name or digest; name it with "
                        "--image REF\n");
        return EXIT_UNREADABLE;
    }
    print_json(rule);
    return exit_status(facts->problems);
}

/* dir: where the image lies (the archive, or a registry image's spool); digest: its name's. */
static int inspect_image_at(const struct inspect_options *o, const char *dir, const char *digest)
{
    struct image img;
    struct image_facts facts;
    char err[512];
    if (image_open(&img, dir, o->image_ref, err, sizeof(err)) != 0) {
        fprintf(stderr, "goinject: inspect: %s: %s\n", o->path, err);
        image_close(&img);
        return EXIT_UNREADABLE;
    }
    image_facts_compute(&img, &facts);
    if (digest) {
        /* A catalog rule and the JSON name what a pod pins: the reference's own digest. */
        free(img.digest);
        img.digest = strdup(digest);
    }
    int status = exit_status(facts.problems);
    if (o->catalog) {
        status = print_catalog_rule(o, &img, &facts);
    } else if (o->container) {
        print_json(image_facts_annotations(&facts, o->prefix, o->container));
    } else if (o->json) {
        print_json(image_facts_to_json(&img, &facts));
    } else {
        image_facts_print(stdout, &img, &facts);
        print_problems(facts.problems);
    }
    image_facts_free(&facts);
    image_close(&img);
    return status;
}

static int inspect_image(const struct inspect_options *o)
{
    return inspect_image_at(o, o->path, NULL);
}

/* ---- an image in a registry ------------------------------------------------------------ */

static int inspect_registry(struct inspect_options *o)
{
    char err[512], dir[300], digest[REG_DIGEST_MAX];
    struct platform platform;
    struct goinject_config *cfg = config_load(o->config, err, sizeof(err));
    if (!cfg) {
        fprintf(stderr, "goinject: inspect: %s\n", err);
        return EXIT_UNREADABLE;
    }
    const char *wanted = o->platform ? o->platform : cfg->registry.platform;
    int status = EXIT_UNREADABLE;
    if (platform_parse(wanted, &platform) != 0)
        fprintf(stderr, "goinject: inspect: --platform: \"%s\" is not os/arch[/variant]\n", wanted);
    else if (regfacts_fetch(&cfg->registry, o->path, &platform, dir, sizeof(dir), digest, err,
                            sizeof(err)) != 0)
        fprintf(stderr, "goinject: inspect: %s\n", err);
    else {
        o->read_for = wanted;
        status = inspect_image_at(o, dir, digest);
        regfacts_spool_remove(dir);
    }
    config_free(cfg);
    return status;
}

/* ---- which is it ------------------------------------------------------------------- */

enum input_kind { INPUT_UNREADABLE, INPUT_ELF, INPUT_IMAGE, INPUT_GZIP, INPUT_ZSTD, INPUT_OTHER };

static enum input_kind input_kind(const char *path)
{
    struct stat st;
    uint8_t head[512];
    if (stat(path, &st) != 0)
        return INPUT_UNREADABLE;
    if (S_ISDIR(st.st_mode))
        return INPUT_IMAGE;
    FILE *f = fopen(path, "rb");
    if (!f)
        return INPUT_UNREADABLE;
    size_t n = fread(head, 1, sizeof(head), f);
    fclose(f);
    if (n >= 4 && memcmp(head, "\177ELF", 4) == 0)
        return INPUT_ELF;
    if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b)
        return INPUT_GZIP;
    if (n >= 4 && memcmp(head, "\x28\xb5\x2f\xfd", 4) == 0)
        return INPUT_ZSTD;
    return image_looks_like_tar(head, n) ? INPUT_IMAGE : INPUT_OTHER;
}

/* Not a file here, and shaped like an image reference: read it from its registry. */
static bool looks_like_reference(const char *path)
{
    struct image_ref ref;
    char err[128];
    return path[0] != '/' && path[0] != '.' && image_ref_parse(path, &ref, err, sizeof(err)) == 0;
}

int inspect_main(int argc, char **argv)
{
    struct inspect_options o;
    if (parse_options(argc, argv, &o) != 0)
        return EXIT_UNREADABLE;
    enum input_kind kind = input_kind(o.path);
    switch (kind) {
    case INPUT_ELF:
        return inspect_binary(&o);
    case INPUT_IMAGE:
        return inspect_image(&o);
    case INPUT_GZIP:
    case INPUT_ZSTD:
        fprintf(stderr, "goinject: inspect: %s is compressed: decompress it first (%s)\n", o.path,
                kind == INPUT_GZIP ? "gunzip" : "unzstd");
        break;
    case INPUT_UNREADABLE:
        if (errno == ENOENT && looks_like_reference(o.path))
            return inspect_registry(&o);
        fprintf(stderr, "goinject: inspect: cannot open %s: %s\n", o.path, strerror(errno));
        break;
    case INPUT_OTHER:
        fprintf(stderr,
                "goinject: inspect: %s is neither an ELF executable nor an image (a docker save "
                "archive or an OCI layout)\n",
                o.path);
        break;
    }
    return EXIT_UNREADABLE;
}
