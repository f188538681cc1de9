/*
 * test_certgen.c - certgen_write() generates into a fresh temp dir; every test
 * reads the files back with OpenSSL and checks what a TLS client would check.
 */
#include "certgen.h"
#include "testutil.h"

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define DAYS 30

static const char *const hosts[] = {"localhost", "goinject.goinject-system.svc", "127.0.0.1",
                                    "::1"};
#define NHOSTS (sizeof hosts / sizeof hosts[0])

static char tmpdir[64];
static char outdir[128];
static char err[256];

static void setup(void)
{
    strcpy(tmpdir, "/tmp/goinject-certgen-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(outdir, sizeof outdir, "%s/out", tmpdir);
    err[0] = '\0';
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void teardown(void)
{
    nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int generate_hosts(const char *dir, const char *const *h, size_t n, int days)
{
    struct certgen_options opts = {.out_dir = dir, .hosts = h, .nhosts = n, .days = days};
    return certgen_write(&opts, err, sizeof err);
}

static void generate(void)
{
    int rc = generate_hosts(outdir, hosts, NHOSTS, DAYS);
    ck_assert_msg(rc == 0, "certgen_write: %s", err);
}

static const char *out_path(const char *name)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", outdir, name);
    return path;
}

static X509 *read_cert(const char *name)
{
    FILE *f = fopen(out_path(name), "r");
    ck_assert_msg(f != NULL, "cannot open %s", name);
    X509 *cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    ck_assert_msg(cert != NULL, "%s is not a PEM certificate", name);
    return cert;
}

static EVP_PKEY *read_key(void)
{
    FILE *f = fopen(out_path("tls.key"), "r");
    ck_assert_ptr_nonnull(f);
    EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    ck_assert_msg(key != NULL, "tls.key is not a PEM private key");
    return key;
}

static mode_t file_mode(const char *name)
{
    struct stat st;
    ck_assert_msg(lstat(out_path(name), &st) == 0, "%s missing", name);
    ck_assert_msg(S_ISREG(st.st_mode), "%s is not a regular file", name);
    return st.st_mode & 07777;
}

static time_t asn1_time(const ASN1_TIME *t)
{
    struct tm tm;
    ck_assert(ASN1_TIME_to_tm(t, &tm) == 1);
    return timegm(&tm);
}

/* Asserts that ASN1 time t lies within slack seconds of want. */
static void ck_time_near(const ASN1_TIME *t, time_t want, long slack)
{
    long diff = (long)(asn1_time(t) - want);
    ck_assert_msg(diff >= -slack && diff <= slack, "time off by %ld s", diff);
}

static BIGNUM *serial_of(const X509 *cert)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    ck_assert_ptr_nonnull(bn);
    return bn;
}

static int ext_critical(X509 *cert, int nid)
{
    int pos = X509_get_ext_by_NID(cert, nid, -1);
    ck_assert_msg(pos >= 0, "extension %s missing", OBJ_nid2sn(nid));
    return X509_EXTENSION_get_critical(X509_get_ext(cert, pos));
}

static void ck_cn(X509 *cert, const char *want)
{
    char cn[256];
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    ck_assert_int_gt(n, 0);
    ck_assert_str_eq(cn, want);
}

/* Verifies leaf against ca as a TLS server certificate under RFC 5280 strict checks. */
static int verify_chain(X509 *ca, X509 *leaf, const char **why)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    ck_assert(store && ctx);
    ck_assert(X509_STORE_add_cert(store, ca) == 1);
    ck_assert(X509_STORE_CTX_init(ctx, store, leaf, NULL) == 1);
    ck_assert(X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER) == 1);
    X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_X509_STRICT);
    int ok = X509_verify_cert(ctx);
    *why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return ok;
}

static size_t count_dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    }
    closedir(d);
    return n;
}

static void ck_group_name(EVP_PKEY *key, const char *want)
{
    char group[64];
    ck_assert(EVP_PKEY_is_a(key, "EC"));
    ck_assert(EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                             NULL) == 1);
    ck_assert_str_eq(group, want);
}

START_TEST(test_files_and_modes)
{
    generate();
    ck_assert_int_eq(file_mode("ca.crt"), 0644);
    ck_assert_int_eq(file_mode("tls.crt"), 0644);
    ck_assert_int_eq(file_mode("tls.key"), 0600);
    /* Exactly the three files: no CA key, no leftover temp files. */
    ck_assert_uint_eq(count_dir_entries(outdir), 3);

    FILE *f = fopen(out_path("tls.key"), "r");
    char line[64] = "";
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    fclose(f);
    ck_assert_str_eq(line, "-----BEGIN PRIVATE KEY-----\n");
}
END_TEST

START_TEST(test_key_matches_cert)
{
    generate();
    X509 *leaf = read_cert("tls.crt");
    X509 *ca = read_cert("ca.crt");
    EVP_PKEY *key = read_key();
    ck_assert_int_eq(X509_check_private_key(leaf, key), 1);
    ck_assert_int_eq(X509_check_private_key(ca, key), 0);
    EVP_PKEY_free(key);
    X509_free(ca);
    X509_free(leaf);
}
END_TEST

START_TEST(test_chain_verifies)
{
    generate();
    X509 *ca = read_cert("ca.crt");
    X509 *leaf = read_cert("tls.crt");
    const char *why;
    ck_assert_msg(verify_chain(ca, leaf, &why) == 1, "verify: %s", why);
    ck_assert_int_eq(X509_get_signature_nid(ca), NID_ecdsa_with_SHA256);
    ck_assert_int_eq(X509_get_signature_nid(leaf), NID_ecdsa_with_SHA256);
    X509_free(leaf);
    X509_free(ca);
}
END_TEST

START_TEST(test_hosts_match)
{
    generate();
    X509 *leaf = read_cert("tls.crt");
    ck_cn(leaf, "localhost");
    ck_assert_int_eq(X509_check_host(leaf, "localhost", 0, 0, NULL), 1);
    ck_assert_int_eq(X509_check_host(leaf, "goinject.goinject-system.svc", 0, 0, NULL), 1);
    ck_assert_int_eq(X509_check_ip_asc(leaf, "127.0.0.1", 0), 1);
    ck_assert_int_eq(X509_check_ip_asc(leaf, "::1", 0), 1);
    ck_assert_int_eq(X509_check_ip_asc(leaf, "0:0:0:0:0:0:0:1", 0), 1);

    ck_assert_int_ne(X509_check_host(leaf, "other.goinject-system.svc", 0, 0, NULL), 1);
    ck_assert_int_ne(X509_check_ip_asc(leaf, "127.0.0.2", 0), 1);
    /* IP literals went in as IP SANs, not as DNS SANs. */
    ck_assert_int_ne(
        X509_check_host(leaf, "127.0.0.1", 0, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, NULL), 1);
    X509_free(leaf);
}
END_TEST

START_TEST(test_keys_are_p256)
{
    generate();
    X509 *ca = read_cert("ca.crt");
    X509 *leaf = read_cert("tls.crt");
    EVP_PKEY *key = read_key();
    ck_group_name(key, "prime256v1");
    ck_group_name(X509_get0_pubkey(leaf), "prime256v1");
    ck_group_name(X509_get0_pubkey(ca), "prime256v1");
    EVP_PKEY_free(key);
    X509_free(leaf);
    X509_free(ca);
}
END_TEST

START_TEST(test_validity_window)
{
    generate();
    time_t now = time(NULL);
    X509 *ca = read_cert("ca.crt");
    X509 *leaf = read_cert("tls.crt");
    for (int i = 0; i < 2; i++) {
        time_t not_before = asn1_time(X509_get0_notBefore(i ? leaf : ca));
        ck_assert_msg(not_before >= now - 600 && not_before <= now - 60,
                      "NotBefore is %ld s before now", (long)(now - not_before));
    }
    ck_time_near(X509_get0_notAfter(leaf), now + DAYS * 86400L, 120);
    ck_time_near(X509_get0_notAfter(ca), now + 3650 * 86400L, 120);
    X509_free(leaf);
    X509_free(ca);
}
END_TEST

START_TEST(test_ca_extensions)
{
    generate();
    X509 *ca = read_cert("ca.crt");
    ck_cn(ca, "goinject-ca");
    ck_assert_int_eq(X509_NAME_cmp(X509_get_subject_name(ca), X509_get_issuer_name(ca)), 0);
    ck_assert_int_eq(X509_check_ca(ca), 1);
    ck_assert_int_eq(X509_get_pathlen(ca), 0);
    ck_assert(ext_critical(ca, NID_basic_constraints));
    ck_assert(ext_critical(ca, NID_key_usage));
    ck_assert_uint_eq(X509_get_key_usage(ca), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
    ck_assert_ptr_nonnull(X509_get0_subject_key_id(ca));

    BIGNUM *serial = serial_of(ca);
    ck_assert(!BN_is_negative(serial));
    ck_assert_int_eq(BN_num_bits(serial), 128);
    BN_free(serial);
    X509_free(ca);
}
END_TEST

START_TEST(test_leaf_extensions)
{
    generate();
    X509 *ca = read_cert("ca.crt");
    X509 *leaf = read_cert("tls.crt");
    int crit = -1;
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(leaf, NID_basic_constraints, &crit, NULL);
    ck_assert_ptr_nonnull(bc);
    ck_assert_int_eq(bc->ca, 0);
    BASIC_CONSTRAINTS_free(bc);
    ck_assert_int_eq(X509_check_ca(leaf), 0);

    ck_assert(ext_critical(leaf, NID_key_usage));
    ck_assert_uint_eq(X509_get_key_usage(leaf), KU_DIGITAL_SIGNATURE);
    ck_assert_uint_eq(X509_get_extended_key_usage(leaf), XKU_SSL_SERVER);
    ck_assert(!ext_critical(leaf, NID_subject_alt_name));
    ck_assert_int_eq(X509_check_purpose(leaf, X509_PURPOSE_SSL_SERVER, 0), 1);

    const ASN1_OCTET_STRING *akid = X509_get0_authority_key_id(leaf);
    ck_assert_ptr_nonnull(akid);
    ck_assert_ptr_nonnull(X509_get0_subject_key_id(leaf));
    ck_assert_int_eq(ASN1_OCTET_STRING_cmp(akid, X509_get0_subject_key_id(ca)), 0);
    ck_assert_int_eq(X509_NAME_cmp(X509_get_issuer_name(leaf), X509_get_subject_name(ca)), 0);
    X509_free(leaf);
    X509_free(ca);
}
END_TEST

static void ck_bad_host(const char *bad, const char *shown)
{
    const char *h[] = {"localhost", bad};
    ck_assert_int_eq(generate_hosts(outdir, h, 2, DAYS), -1);
    ck_assert_msg(strstr(err, shown) != NULL, "error does not name %s: %s", shown, err);
    ck_assert_ptr_null(strchr(err, '\n'));
}

START_TEST(test_bad_hosts)
{
    ck_bad_host("bad_name!", "\"bad_name!\"");
    ck_bad_host("", "\"\"");
    ck_bad_host("-x.example", "\"-x.example\"");
    ck_bad_host("x-.example", "\"x-.example\"");
    ck_bad_host("a..example", "\"a..example\"");
    ck_bad_host("example.", "\"example.\"");
    ck_bad_host("a.*.example", "\"a.*.example\"");
    ck_bad_host("*x.example", "\"*x.example\"");
    ck_bad_host("*", "\"*\"");
    ck_bad_host("1.2.3.4/8", "\"1.2.3.4/8\"");
    ck_bad_host("line\nbreak", "\"line\\x0abreak\"");

    char label[70];
    memset(label, 'a', 64);
    strcpy(label + 64, ".svc");
    ck_bad_host(label, label);

    /* Rejected before anything touches the disk. */
    struct stat st;
    ck_assert_int_eq(stat(outdir, &st), -1);
}
END_TEST

START_TEST(test_wildcard_host)
{
    const char *h[] = {"*.goinject-system.svc", "Goinject-1.example"};
    ck_assert_msg(generate_hosts(outdir, h, 2, DAYS) == 0, "certgen_write: %s", err);
    X509 *leaf = read_cert("tls.crt");
    ck_assert_int_eq(X509_check_host(leaf, "goinject.goinject-system.svc", 0, 0, NULL), 1);
    ck_assert_int_eq(X509_check_host(leaf, "goinject-1.example", 0, 0, NULL), 1);
    X509_free(leaf);
}
END_TEST

/* Longer than the 64 characters RFC 5280 allows in a CN, but a valid DNS name. */
START_TEST(test_long_first_host)
{
    const char *h[] = {"goinject-admission-webhook.goinject-system-namespace.svc.cluster.local"};
    ck_assert_msg(generate_hosts(outdir, h, 1, DAYS) == 0, "certgen_write: %s", err);
    X509 *ca = read_cert("ca.crt");
    X509 *leaf = read_cert("tls.crt");
    ck_assert_int_eq(X509_NAME_entry_count(X509_get_subject_name(leaf)), 0);
    ck_assert(ext_critical(leaf, NID_subject_alt_name));
    ck_assert_int_eq(X509_check_host(leaf, h[0], 0, 0, NULL), 1);
    const char *why;
    ck_assert_msg(verify_chain(ca, leaf, &why) == 1, "verify: %s", why);
    X509_free(leaf);
    X509_free(ca);
}
END_TEST

START_TEST(test_bad_days)
{
    ck_assert_int_eq(generate_hosts(outdir, hosts, NHOSTS, 0), -1);
    ck_assert_ptr_nonnull(strstr(err, "days"));
    ck_assert_int_eq(generate_hosts(outdir, hosts, NHOSTS, -5), -1);
    ck_assert_int_eq(generate_hosts(outdir, hosts, NHOSTS, 3651), -1);
    ck_assert_int_eq(generate_hosts(outdir, hosts, NHOSTS, 3650), 0);
}
END_TEST

START_TEST(test_bad_options)
{
    ck_assert_int_eq(certgen_write(NULL, err, sizeof err), -1);
    ck_assert_int_eq(generate_hosts(NULL, hosts, NHOSTS, DAYS), -1);
    ck_assert_int_eq(generate_hosts("", hosts, NHOSTS, DAYS), -1);
    ck_assert_int_eq(generate_hosts(outdir, hosts, 0, DAYS), -1);
    ck_assert_str_eq(err, "no hosts given");
    /* A NULL or zero-length err buffer is allowed. */
    struct certgen_options opts = {.out_dir = outdir, .hosts = hosts, .nhosts = 0, .days = DAYS};
    ck_assert_int_eq(certgen_write(&opts, NULL, 0), -1);
}
END_TEST

START_TEST(test_unwritable_out_dir)
{
    char file[160];
    char under_file[200];
    snprintf(file, sizeof file, "%s/plain", tmpdir);
    snprintf(under_file, sizeof under_file, "%s/sub", file);
    FILE *f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);

    ck_assert_int_eq(generate_hosts(under_file, hosts, NHOSTS, DAYS), -1);
    ck_assert_msg(strstr(err, under_file) && strstr(err, "Not a directory"), "err: %s", err);
    ck_assert_int_eq(generate_hosts(file, hosts, NHOSTS, DAYS), -1);
    ck_assert_msg(strstr(err, "not a directory") != NULL, "err: %s", err);

    /* Only the last path component is created. */
    char deep[200];
    snprintf(deep, sizeof deep, "%s/a/b", tmpdir);
    ck_assert_int_eq(generate_hosts(deep, hosts, NHOSTS, DAYS), -1);
    ck_assert_msg(strstr(err, "No such file") != NULL, "err: %s", err);
}
END_TEST

START_TEST(test_regenerate_replaces)
{
    generate();
    X509 *old_leaf = read_cert("tls.crt");
    X509 *old_ca = read_cert("ca.crt");
    generate();
    X509 *leaf = read_cert("tls.crt");
    X509 *ca = read_cert("ca.crt");
    EVP_PKEY *key = read_key();

    ck_assert_int_ne(
        ASN1_INTEGER_cmp(X509_get0_serialNumber(leaf), X509_get0_serialNumber(old_leaf)), 0);
    ck_assert_int_ne(X509_cmp(ca, old_ca), 0);
    ck_assert_int_eq(X509_check_private_key(leaf, key), 1);
    ck_assert_int_eq(X509_check_private_key(old_leaf, key), 0);
    const char *why;
    ck_assert_msg(verify_chain(ca, leaf, &why) == 1, "verify: %s", why);
    ck_assert_msg(verify_chain(old_ca, leaf, &why) != 1, "new leaf verifies against old CA");
    ck_assert_int_eq(file_mode("tls.key"), 0600);
    ck_assert_uint_eq(count_dir_entries(outdir), 3);

    EVP_PKEY_free(key);
    X509_free(ca);
    X509_free(leaf);
    X509_free(old_ca);
    X509_free(old_leaf);
}
END_TEST

/* A loose tls.key or a planted symlink is replaced, never written through or kept. */
START_TEST(test_replaces_loose_files)
{
    char victim[160];
    snprintf(victim, sizeof victim, "%s/victim", tmpdir);
    FILE *f = fopen(victim, "w");
    ck_assert_ptr_nonnull(f);
    fputs("untouched\n", f);
    fclose(f);
    ck_assert_int_eq(mkdir(outdir, 0755), 0);
    f = fopen(out_path("tls.key"), "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    ck_assert_int_eq(chmod(out_path("tls.key"), 0666), 0);
    ck_assert_int_eq(symlink(victim, out_path("tls.crt")), 0);

    generate();
    ck_assert_int_eq(file_mode("tls.key"), 0600);
    ck_assert_int_eq(file_mode("tls.crt"), 0644);
    char line[32] = "";
    f = fopen(victim, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    fclose(f);
    ck_assert_str_eq(line, "untouched\n");
}
END_TEST

static Suite *certgen_suite(void)
{
    Suite *s = suite_create("certgen");
    TCase *tc = tcase_create("certgen");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_files_and_modes);
    tcase_add_test(tc, test_key_matches_cert);
    tcase_add_test(tc, test_chain_verifies);
    tcase_add_test(tc, test_hosts_match);
    tcase_add_test(tc, test_keys_are_p256);
    tcase_add_test(tc, test_validity_window);
    tcase_add_test(tc, test_ca_extensions);
    tcase_add_test(tc, test_leaf_extensions);
    tcase_add_test(tc, test_bad_hosts);
    tcase_add_test(tc, test_wildcard_host);
    tcase_add_test(tc, test_long_first_host);
    tcase_add_test(tc, test_bad_days);
    tcase_add_test(tc, test_bad_options);
    tcase_add_test(tc, test_unwritable_out_dir);
    tcase_add_test(tc, test_regenerate_replaces);
    tcase_add_test(tc, test_replaces_loose_files);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(certgen_suite());
}
