/*
 * main.c - the goinject command: subcommands and their flags.
 *
 *   goinject serve       the HTTPS admission webhook
 *   goinject review      an AdmissionReview in, the server's answer out
 *   goinject mutate      a Pod (or List, or AdmissionReview) in, the mutated Pod out
 *   goinject certgen     a CA and a serving certificate for the webhook
 *   goinject copy-agent  the init container's copy of the agent bundle
 *   goinject config      the effective configuration
 *   goinject inspect     facts about a binary or an image (see inspect.h)
 *   goinject version
 *
 * Exit status: 0 done, 1 runtime failure, 2 bad usage, config or input.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission.h"
#include "agentcopy.h"
#include "arena.h"
#include "buf.h"
#include "certgen.h"
#include "config.h"
#include "confstore.h"
#include "inspect.h"
#include "log.h"
#include "regfacts.h"
#include "server.h"
#include "version.h"

#define EXIT_USAGE 2
/* review and mutate read at most this much: far above any pod the API server accepts. */
#define MAX_INPUT_BYTES (64u * 1024 * 1024)

static const char usage_text[] =
    "usage: goinject <command> [flags]\n"
    "\n"
    "commands:\n"
    "  serve --tls-cert FILE --tls-key FILE [--listen ADDR:PORT] [--client-ca FILE]\n"
    "        [--metrics-listen ADDR:PORT] [--mode classic|cloud-native] [--config FILE]\n"
    "        [--max-body-bytes N] [--body-budget-bytes N] [--max-connections N]\n"
    "        [--max-connections-per-ip N] [--request-timeout S] [--threads N]\n"
    "        [--shutdown-delay MS] [--log-level debug|info|warn|error] [--no-registry]\n"
    "  review [--mode M] [--config FILE] [--pod-security-enforced | --pod-security-privileged]\n"
    "         [--no-registry] [FILE|-]\n"
    "  mutate [--mode M] [--config FILE] [--no-registry] [FILE|-]\n"
    "  certgen --out DIR --host NAME [--host NAME...] [--days N]\n"
    "  copy-agent SOURCE_DIR DEST_DIR\n"
    "  config [--mode M] [--config FILE]\n"
    "  inspect [--json | --annotations CONTAINER [--prefix P] | --catalog] [--image REF]\n"
    "          [--config FILE] [--platform OS/ARCH] FILE|IMAGE|REGISTRY-REF\n"
    "  version\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "goinject: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s", usage_text);
    return EXIT_USAGE;
}

static int parse_unsigned(const char *text, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long value = strtoul(text, &end, 10);
    if (errno || end == text || *end || value > max || text[0] == '-')
        return -1;
    *out = value;
    return 0;
}

/* ---- shared: --mode and --config ---------------------------------------- */

struct common_flags {
    const char *mode;
    const char *config;
};

static struct goinject_config *load_config(const struct common_flags *flags)
{
    char err[512];
    struct goinject_config *cfg = config_load(flags->config, err, sizeof(err));
    if (!cfg) {
        fprintf(stderr, "goinject: %s\n", err);
        return NULL;
    }
    if (flags->mode && config_parse_mode(flags->mode, &cfg->mode) != 0) {
        fprintf(stderr, "goinject: --mode: \"%s\" is not classic or cloud-native\n", flags->mode);
        config_free(cfg);
        return NULL;
    }
    return cfg;
}

/* path: a file, or "-" (NULL too) for standard input; out: a buffer with a ceiling. */
static int read_input(const char *path, struct buf *out)
{
    char err[512];
    bool in = !path || strcmp(path, "-") == 0;
    if (buf_read_file(out, in ? "/dev/stdin" : path, err, sizeof(err)) == 0)
        return 0;
    fprintf(stderr, "goinject: %s\n", err);
    return -1;
}

/*
 * Flags shared by review, mutate and config: --mode and --config, plus
 * --pod-security-enforced, --pod-security-privileged (what the server learns
 * from the request URL) and --no-registry where review is not NULL. At
 * most one positional argument (the input) may follow. Returns 0 or an
 * exit status.
 */
static int parse_engine_flags(int argc, char **argv, const char *command,
                              struct common_flags *flags, struct review_options *review)
{
    static const struct option options[] = {
        {"mode", required_argument, NULL, 'm'},
        {"config", required_argument, NULL, 'c'},
        {"pod-security-enforced", no_argument, NULL, 'p'},
        {"pod-security-privileged", no_argument, NULL, 'P'},
        {"no-registry", no_argument, NULL, 'n'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (opt == 'm')
            flags->mode = optarg;
        else if (opt == 'c')
            flags->config = optarg;
        else if (opt == 'p' && review)
            review->pod_security_enforced = true;
        else if (opt == 'P' && review)
            review->pod_security_privileged = true;
        else if (opt == 'n' && review)
            review->no_registry = true;
        else
            return usage_error("%s: unknown flag", command);
    }
    if (argc - optind > 1)
        return usage_error("%s: at most one input file, got extra \"%s\"", command,
                           argv[optind + 1]);
    return 0;
}

/*
 * The registry layer's workers, when the configuration uses it. A lookup
 * still running at exit is abandoned: a one-shot command answers within
 * the same budget the server has.
 */
static void start_registry(const struct goinject_config *cfg, struct review_options *review)
{
    /* A one-shot command speaks through its output and Warning lines, not the server's log. */
    log_set_level(LOG_LEVEL_ERROR);
    if (!cfg->registry.enabled || review->no_registry)
        return;
    if (regfacts_start() != 0) {
        fprintf(stderr, "goinject: cannot start the registry lookups; facts come from "
                        "annotations and the catalog only\n");
        review->no_registry = true;
    }
}

/* ---- review and mutate ---------------------------------------------------- */

/* What `review` and `mutate` do with their input; returns the exit status. */
typedef int (*engine_command)(const struct goinject_config *cfg, struct review_options *review,
                              const struct buf *input);

/*
 * The frame both commands share: their flags, the configuration, the
 * registry lookups when enabled, and the input (a file or stdin), handed to
 * run. Everything it set up is released before it returns run's status.
 */
static int run_engine_command(int argc, char **argv, const char *name, engine_command run)
{
    struct common_flags flags = {NULL, NULL};
    struct review_options review = {.pod_security_enforced = false};
    int rc = parse_engine_flags(argc, argv, name, &flags, &review);
    if (rc != 0)
        return rc;
    struct goinject_config *cfg = load_config(&flags);
    if (!cfg)
        return EXIT_USAGE;
    start_registry(cfg, &review);
    struct buf input = BUF_INIT_MAX(MAX_INPUT_BYTES);
    int status = read_input(argv[optind], &input) == 0 ? run(cfg, &review, &input) : EXIT_USAGE;
    buf_free(&input);
    regfacts_stop(); /* lookups still running are cut short, their spools removed */
    config_free(cfg);
    return status;
}

/* `review`: an AdmissionReview in, the answer the server would give out. */
static int review_input(const struct goinject_config *cfg, struct review_options *review,
                        const struct buf *input)
{
    struct review_outcome outcome;
    int status = EXIT_USAGE;
    admission_review(cfg, input->data ? input->data : "", input->len, review, &outcome);
    if (outcome.result == REVIEW_INVALID) {
        json_t *error = json_object_get(outcome.log, "error");
        fprintf(stderr, "goinject: %s\n", json_string_value(error));
    } else {
        fwrite(outcome.body.data, 1, outcome.body.len, stdout);
        status = fflush(stdout) == 0 ? 0 : 1;
    }
    review_outcome_free(&outcome);
    return status;
}

/* `mutate`: a pod in, the pod with the patch applied out, its warnings on stderr. */
static int mutate_input(const struct goinject_config *cfg, struct review_options *review,
                        const struct buf *input)
{
    json_error_t jerr;
    json_t *doc = json_loadb(input->data ? input->data : "", input->len, JSON_ALLOW_NUL, &jerr);
    struct warnings warnings = {NULL, 0};
    char err[256];
    int status = EXIT_USAGE;
    json_t *result = doc ? admission_mutate(cfg, doc, review, &warnings, err, sizeof(err)) : NULL;
    char near[4 * JSON_ERROR_TEXT_LENGTH]; /* jansson quotes the input: keep it one line */
    if (!doc)
        fprintf(stderr, "goinject: malformed JSON at line %d column %d: %s\n", jerr.line,
                jerr.column, str_safe(near, sizeof(near), jerr.text, strlen(jerr.text)));
    else if (!result)
        fprintf(stderr, "goinject: %s\n", err);
    for (size_t i = 0; i < warnings.count; i++)
        fprintf(stderr, "Warning: %s\n", warnings.items[i]);
    if (result && json_dumpf(result, stdout, JSON_INDENT(2)) == 0 && fputc('\n', stdout) != EOF)
        status = fflush(stdout) == 0 ? 0 : 1;
    json_decref(result);
    json_decref(doc);
    warnings_free(&warnings);
    return status;
}

static int cmd_review(int argc, char **argv)
{
    return run_engine_command(argc, argv, "review", review_input);
}

static int cmd_mutate(int argc, char **argv)
{
    return run_engine_command(argc, argv, "mutate", mutate_input);
}

/* ---- serve -------------------------------------------------------------- */

/*
 * The serve flags that bound what clients can make the server hold (see
 * docs/hardening.md). Returns 0, or the usage error's exit status for an
 * unknown flag or a value out of range.
 */
static int parse_serve_limit(int opt, const char *arg, struct server_options *server)
{
    unsigned long n;
    switch (opt) {
    case 'M':
        server->metrics_listen = arg;
        return 0;
    case 'B':
        if (parse_unsigned(arg, 1024ul * 1024 * 1024, &n) != 0 || n < 64 * 1024)
            return usage_error("--body-budget-bytes: \"%s\" is not 64 KiB to 1 GiB", arg);
        server->body_budget_bytes = n;
        return 0;
    case 'N':
        if (parse_unsigned(arg, 65536, &n) != 0 || n < 4)
            return usage_error("--max-connections: \"%s\" is not 4 to 65536", arg);
        server->max_connections = (unsigned)n;
        return 0;
    case 'I':
        if (parse_unsigned(arg, 65536, &n) != 0)
            return usage_error("--max-connections-per-ip: \"%s\" is not 0 (no limit) to 65536",
                               arg);
        server->max_connections_per_ip = (unsigned)n;
        return 0;
    case 'T':
        if (parse_unsigned(arg, 300, &n) != 0 || n < 1)
            return usage_error("--request-timeout: \"%s\" is not 1 to 300 seconds", arg);
        server->request_timeout_s = (unsigned)n;
        return 0;
    default:
        return usage_error("serve: unknown flag");
    }
}

static int cmd_serve(int argc, char **argv)
{
    static const struct option options[] = {
        {"listen", required_argument, NULL, 'l'},
        {"tls-cert", required_argument, NULL, 'C'},
        {"tls-key", required_argument, NULL, 'K'},
        {"client-ca", required_argument, NULL, 'A'},
        {"mode", required_argument, NULL, 'm'},
        {"config", required_argument, NULL, 'c'},
        {"max-body-bytes", required_argument, NULL, 'b'},
        {"threads", required_argument, NULL, 't'},
        {"shutdown-delay", required_argument, NULL, 'd'},
        {"log-level", required_argument, NULL, 'v'},
        {"no-registry", no_argument, NULL, 'n'},
        {"metrics-listen", required_argument, NULL, 'M'},
        {"body-budget-bytes", required_argument, NULL, 'B'},
        {"max-connections", required_argument, NULL, 'N'},
        {"max-connections-per-ip", required_argument, NULL, 'I'},
        {"request-timeout", required_argument, NULL, 'T'},
#ifdef GOINJECT_BENCH
        /* Benchmark aid of the bench build, not in the usage text: see server.h. */
        {"bench-floor", no_argument, NULL, 'F'},
#endif
        {NULL, 0, NULL, 0},
    };
    struct server_options server;
    struct common_flags flags = {NULL, NULL};
    server_default_options(&server);
    unsigned long number;
    enum log_level level;
    int opt, rc;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'l':
            server.listen = optarg;
            break;
        case 'C':
            server.cert_file = optarg;
            break;
        case 'K':
            server.key_file = optarg;
            break;
        case 'A':
            server.client_ca_file = optarg;
            break;
        case 'm':
            flags.mode = optarg;
            break;
        case 'c':
            flags.config = optarg;
            break;
        case 'b':
            if (parse_unsigned(optarg, 1024ul * 1024 * 1024, &number) != 0 || number < 1024)
                return usage_error("--max-body-bytes: \"%s\" is not 1024 to 1 GiB", optarg);
            server.max_body_bytes = number;
            break;
        case 't':
            if (parse_unsigned(optarg, 256, &number) != 0 || number < 1)
                return usage_error("--threads: \"%s\" is not 1 to 256", optarg);
            server.threads = (unsigned)number;
            break;
        case 'd':
            if (parse_unsigned(optarg, 600000, &number) != 0)
                return usage_error("--shutdown-delay: \"%s\" is not 0 to 600000 ms", optarg);
            server.shutdown_delay_ms = (unsigned)number;
            break;
        case 'v':
            if (log_parse_level(optarg, &level) != 0)
                return usage_error("--log-level: \"%s\" is not debug, info, warn or error", optarg);
            log_set_level(level);
            break;
#ifdef GOINJECT_BENCH
        case 'F':
            server.bench_floor = true;
            break;
#endif
        case 'n':
            server.no_registry = true;
            break;
        default:
            if ((rc = parse_serve_limit(opt, optarg, &server)) != 0)
                return rc;
        }
    }
    if (optind < argc)
        return usage_error("serve: unexpected argument \"%s\"", argv[optind]);
    if (server.body_budget_bytes < 2 * server.max_body_bytes)
        return usage_error("--body-budget-bytes: %zu is less than twice --max-body-bytes (%zu)",
                           server.body_budget_bytes, server.max_body_bytes);
    if (!server.cert_file || !server.key_file)
        return usage_error("serve: --tls-cert and --tls-key are required");
    char err[512];
    struct confstore *config = confstore_open(flags.config, flags.mode, err, sizeof(err));
    if (!config) {
        fprintf(stderr, "goinject: %s\n", err);
        return EXIT_USAGE;
    }
    server.config = config;
    /* Started whatever the first configuration says: a reload may turn the registry on. */
    if (!server.no_registry && regfacts_start() != 0) {
        fprintf(stderr, "goinject: cannot start the registry lookups\n");
        confstore_free(config);
        return 1;
    }
    int status = server_run(&server);
    regfacts_stop();
    confstore_free(config);
    return status;
}

/* ---- certgen, copy-agent, config, version -------------------------------- */

static int cmd_certgen(int argc, char **argv)
{
    static const struct option options[] = {
        {"out", required_argument, NULL, 'o'},
        {"host", required_argument, NULL, 'h'},
        {"days", required_argument, NULL, 'd'},
        {NULL, 0, NULL, 0},
    };
    const char *hosts[64];
    struct certgen_options cert = {NULL, hosts, 0, 365};
    unsigned long days;
    int opt;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (opt == 'o') {
            cert.out_dir = optarg;
        } else if (opt == 'h') {
            if (cert.nhosts == sizeof(hosts) / sizeof(hosts[0]))
                return usage_error("certgen: more than 64 --host flags");
            hosts[cert.nhosts++] = optarg;
        } else if (opt == 'd') {
            if (parse_unsigned(optarg, 3650, &days) != 0 || days < 1)
                return usage_error("--days: \"%s\" is not 1 to 3650", optarg);
            cert.days = (int)days;
        } else {
            return usage_error("certgen: unknown flag");
        }
    }
    if (!cert.out_dir || cert.nhosts == 0)
        return usage_error("certgen: --out and at least one --host are required");
    char err[512];
    if (certgen_write(&cert, err, sizeof(err)) != 0) {
        fprintf(stderr, "goinject: certgen: %s\n", err);
        return 1;
    }
    printf("wrote %s/ca.crt, %s/tls.crt and %s/tls.key\n", cert.out_dir, cert.out_dir,
           cert.out_dir);
    return 0;
}

static int cmd_copy_agent(int argc, char **argv)
{
    if (argc != 3)
        return usage_error("copy-agent: expected SOURCE_DIR DEST_DIR");
    char err[PATH_MAX + 128];
    if (agent_copy(argv[1], argv[2], err, sizeof(err)) != 0) {
        fprintf(stderr, "goinject: %s\n", err);
        return 1;
    }
    return 0;
}

static int cmd_config(int argc, char **argv)
{
    struct common_flags flags = {NULL, NULL};
    int rc = parse_engine_flags(argc, argv, "config", &flags, NULL);
    if (rc != 0)
        return rc;
    if (optind < argc)
        return usage_error("config: unexpected argument \"%s\"", argv[optind]);
    struct goinject_config *cfg = load_config(&flags);
    if (!cfg)
        return EXIT_USAGE;
    json_t *doc = config_to_json(cfg);
    json_dumpf(doc, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
    json_decref(doc);
    config_free(cfg);
    return 0;
}

int main(int argc, char **argv)
{
    arena_install(); /* before any other jansson call (arena.h) */
    if (argc < 2)
        return usage_error("missing command");
    const char *command = argv[1];
    argc--;
    argv++;
    if (strcmp(command, "serve") == 0)
        return cmd_serve(argc, argv);
    if (strcmp(command, "review") == 0)
        return cmd_review(argc, argv);
    if (strcmp(command, "mutate") == 0)
        return cmd_mutate(argc, argv);
    if (strcmp(command, "certgen") == 0)
        return cmd_certgen(argc, argv);
    if (strcmp(command, "copy-agent") == 0)
        return cmd_copy_agent(argc, argv);
    if (strcmp(command, "config") == 0)
        return cmd_config(argc, argv);
    if (strcmp(command, "inspect") == 0)
        return inspect_main(argc, argv);
    if (strcmp(command, "version") == 0 || strcmp(command, "--version") == 0) {
        printf("goinject %s (%s)\n", GOINJECT_VERSION, GOINJECT_REVISION);
        return 0;
    }
    if (strcmp(command, "help") == 0 || strcmp(command, "--help") == 0 ||
        strcmp(command, "-h") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    return usage_error("unknown command \"%s\"", command);
}
