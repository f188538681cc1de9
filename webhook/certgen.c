/* certgen.c - throwaway CA and serving certificate; see certgen.h. */
#include "certgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "buf.h"

#define CURVE            "P-256"
#define CA_CN            "goinject-ca"
#define CA_DAYS          3650     /* ten years */
#define MAX_DAYS         CA_DAYS  /* so the serving certificate never outlives its CA */
#define BACKDATE_SECONDS (5 * 60) /* accept peers whose clocks run a little behind ours */
#define SERIAL_BITS      128
#define CN_MAX           64 /* ub-common-name, RFC 5280 */
#define DNS_NAME_MAX     253
#define DNS_LABEL_MAX    63
#define SHOWN_HOST_MAX   80 /* how much of a bad host an error message repeats */

/* The serving key and both certificates; the CA key is deliberately not here. */
struct pki {
    X509 *ca;
    EVP_PKEY *key;
    X509 *leaf;
};

static int ossl_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like errorf(), with the reason OpenSSL queued for the failed call appended. */
static int ossl_fail(char *err, size_t errlen, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    unsigned long code = ERR_peek_last_error();
    const char *reason = code ? ERR_reason_error_string(code) : NULL;
    return errorf(err, errlen, "%s: %s", what, reason ? reason : "OpenSSL error");
}

/* ---- option checks ---- */

/* Returns the address length (4 or 16) when host is an IP literal, else 0. */
static int parse_ip(const char *host, unsigned char addr[16])
{
    if (inet_pton(AF_INET, host, addr) == 1)
        return 4;
    if (inet_pton(AF_INET6, host, addr) == 1)
        return 16;
    return 0;
}

/* Letters, digits and '-' in ASCII only: isalnum() would follow the locale. */
static int is_ldh(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

static const char *label_problem(const char *label, size_t len, int leftmost)
{
    if (len == 0)
        return "empty label";
    if (len > DNS_LABEL_MAX)
        return "label longer than 63 characters";
    if (len == 1 && label[0] == '*' && leftmost)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (label[i] == '*')
            return "'*' is only allowed as the whole leftmost label";
        if (!is_ldh(label[i]))
            return "only letters, digits, '-' and '.' are allowed";
    }
    if (label[0] == '-' || label[len - 1] == '-')
        return "label starts or ends with '-'";
    return NULL;
}

/* Returns NULL for a usable DNS name, else why it is not one. */
static const char *dns_name_problem(const char *name)
{
    size_t len = strlen(name);
    if (len == 0)
        return "empty name";
    if (len > DNS_NAME_MAX)
        return "name longer than 253 characters";
    if (strcmp(name, "*") == 0)
        return "a wildcard needs a domain after it";
    for (const char *label = name;; label++) {
        size_t n = strcspn(label, ".");
        const char *problem = label_problem(label, n, label == name);
        if (problem)
            return problem;
        label += n;
        if (*label == '\0')
            return NULL;
    }
}

static int check_host(const char *host, char *err, size_t errlen)
{
    unsigned char addr[16];
    char shown[SHOWN_HOST_MAX];
    if (!host)
        return errorf(err, errlen, "host is NULL");
    if (parse_ip(host, addr) > 0)
        return 0;
    const char *problem = dns_name_problem(host);
    if (!problem)
        return 0;
    return errorf(err, errlen, "invalid host \"%s\": %s",
                  str_safe(shown, sizeof shown, host, strlen(host)), problem);
}

static int check_options(const struct certgen_options *opts, char *err, size_t errlen)
{
    if (!opts || !opts->out_dir || opts->out_dir[0] == '\0')
        return errorf(err, errlen, "no output directory given");
    if (!opts->hosts || opts->nhosts == 0)
        return errorf(err, errlen, "no hosts given");
    if (opts->days < 1 || opts->days > MAX_DAYS)
        return errorf(err, errlen, "validity of %d days is outside 1..%d", opts->days, MAX_DAYS);
    for (size_t i = 0; i < opts->nhosts; i++) {
        if (check_host(opts->hosts[i], err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* ---- certificates ---- */

/* 128 random bits keep serials unique without any state; forcing the top bit on gives every
 * serial the same length and rules out zero. A BIGNUM has no sign, so the result is positive. */
static int set_random_serial(X509 *cert)
{
    BIGNUM *bn = BN_new();
    int ok = bn && BN_rand(bn, SERIAL_BITS, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) &&
             BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
    BN_free(bn);
    return ok ? 0 : -1;
}

static int set_validity(X509 *cert, time_t now, int days)
{
    int ok = X509_time_adj_ex(X509_getm_notBefore(cert), 0, -BACKDATE_SECONDS, &now) &&
             X509_time_adj_ex(X509_getm_notAfter(cert), days, 0, &now);
    return ok ? 0 : -1;
}

/* A NULL cn leaves the subject empty. */
static int set_subject_cn(X509 *cert, const char *cn)
{
    if (!cn)
        return 0;
    X509_NAME *name = X509_get_subject_name(cert);
    int ok =
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
    return ok ? 0 : -1;
}

/* A v3 certificate for key with serial, validity and subject set, still without issuer. */
static X509 *new_cert(EVP_PKEY *key, const char *cn, time_t now, int days)
{
    X509 *cert = X509_new();
    if (!cert || !X509_set_version(cert, X509_VERSION_3) || set_random_serial(cert) != 0 ||
        set_validity(cert, now, days) != 0 || !X509_set_pubkey(cert, key) ||
        set_subject_cn(cert, cn) != 0) {
        X509_free(cert);
        return NULL;
    }
    return cert;
}

/* Adds one extension given in openssl.cnf syntax; ctx supplies the keys for "hash"/"keyid". */
static int add_ext(X509 *cert, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    int ok = ext && X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

static GENERAL_NAME *new_general_name(const char *host)
{
    unsigned char addr[16];
    int addrlen = parse_ip(host, addr);
    int type = addrlen > 0 ? GEN_IPADD : GEN_DNS;
    ASN1_STRING *value = addrlen > 0 ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();
    GENERAL_NAME *name = GENERAL_NAME_new();
    int ok = value && name &&
             (addrlen > 0 ? ASN1_STRING_set(value, addr, addrlen)
                          : ASN1_STRING_set(value, host, (int)strlen(host)));
    if (!ok) {
        ASN1_STRING_free(value);
        GENERAL_NAME_free(name);
        return NULL;
    }
    GENERAL_NAME_set0_value(name, type, value);
    return name;
}

/* Built from GENERAL_NAMEs rather than a "DNS:a,IP:b" string so no host is ever parsed as
 * extension syntax. */
static int add_san(X509 *cert, const char *const *hosts, size_t nhosts, int critical)
{
    GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
    int ok = names != NULL;
    for (size_t i = 0; ok && i < nhosts; i++) {
        GENERAL_NAME *name = new_general_name(hosts[i]);
        ok = name && sk_GENERAL_NAME_push(names, name) > 0;
        if (!ok)
            GENERAL_NAME_free(name);
    }
    ok = ok &&
         X509_add1_ext_i2d(cert, NID_subject_alt_name, names, critical, X509V3_ADD_DEFAULT) == 1;
    GENERAL_NAMES_free(names);
    return ok ? 0 : -1;
}

static X509 *make_ca(EVP_PKEY *ca_key, time_t now)
{
    X509 *ca = new_cert(ca_key, CA_CN, now, CA_DAYS);
    if (!ca)
        return NULL;
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, ca, ca, NULL, NULL, 0);
    if (!X509_set_issuer_name(ca, X509_get_subject_name(ca)) ||
        add_ext(ca, &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") != 0 ||
        add_ext(ca, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign") != 0 ||
        add_ext(ca, &ctx, NID_subject_key_identifier, "hash") != 0 ||
        !X509_sign(ca, ca_key, EVP_sha256())) {
        X509_free(ca);
        return NULL;
    }
    return ca;
}

/* RFC 5280 caps a CN at 64 characters, but a DNS name may be longer: then the subject stays
 * empty and, as the RFC requires for that case, the SAN extension is critical. */
static X509 *make_leaf(EVP_PKEY *key, X509 *ca, EVP_PKEY *ca_key,
                       const struct certgen_options *opts, time_t now)
{
    int cn_fits = strlen(opts->hosts[0]) <= CN_MAX;
    X509 *leaf = new_cert(key, cn_fits ? opts->hosts[0] : NULL, now, opts->days);
    if (!leaf)
        return NULL;
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, ca, leaf, NULL, NULL, 0);
    if (!X509_set_issuer_name(leaf, X509_get_subject_name(ca)) ||
        add_ext(leaf, &ctx, NID_basic_constraints, "CA:FALSE") != 0 ||
        add_ext(leaf, &ctx, NID_key_usage, "critical,digitalSignature") != 0 ||
        add_ext(leaf, &ctx, NID_ext_key_usage, "serverAuth") != 0 ||
        add_ext(leaf, &ctx, NID_subject_key_identifier, "hash") != 0 ||
        add_ext(leaf, &ctx, NID_authority_key_identifier, "keyid:always") != 0 ||
        add_san(leaf, opts->hosts, opts->nhosts, !cn_fits) != 0 ||
        !X509_sign(leaf, ca_key, EVP_sha256())) {
        X509_free(leaf);
        return NULL;
    }
    return leaf;
}

static int make_pki(struct pki *p, const struct certgen_options *opts, char *err, size_t errlen)
{
    time_t now = time(NULL);
    EVP_PKEY *ca_key = EVP_EC_gen(CURVE);
    int rc = 0;
    p->key = EVP_EC_gen(CURVE);
    if (!ca_key || !p->key)
        rc = ossl_fail(err, errlen, "generating a %s key", CURVE);
    else if (!(p->ca = make_ca(ca_key, now)))
        rc = ossl_fail(err, errlen, "creating the CA certificate");
    else if (!(p->leaf = make_leaf(p->key, p->ca, ca_key, opts, now)))
        rc = ossl_fail(err, errlen, "creating the serving certificate");
    /* Once the leaf is signed nothing holds the CA key, so this CA can sign nothing else. */
    EVP_PKEY_free(ca_key);
    return rc;
}

static void free_pki(struct pki *p)
{
    X509_free(p->leaf);
    EVP_PKEY_free(p->key);
    X509_free(p->ca);
}

/* ---- files ---- */

static int make_dir(const char *dir, char *err, size_t errlen)
{
    struct stat st;
    if (mkdir(dir, 0755) == 0)
        return 0;
    if (errno != EEXIST)
        return errorf(err, errlen, "creating directory %s: %s", dir, strerror(errno));
    if (stat(dir, &st) != 0)
        return errorf(err, errlen, "checking directory %s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return errorf(err, errlen, "%s exists and is not a directory", dir);
    return 0;
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            errno = EIO;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* O_EXCL (after clearing any stale temp file) means the mode given here is the mode the file
 * was born with, so the key is never readable by others, not even for a moment; O_TRUNC would
 * keep a stale file's looser mode. fchmod() then undoes whatever the umask took away. */
static int write_new_file(const char *path, mode_t mode, const char *data, size_t len, char *err,
                          size_t errlen)
{
    if (unlink(path) != 0 && errno != ENOENT)
        return errorf(err, errlen, "removing stale %s: %s", path, strerror(errno));
    int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return errorf(err, errlen, "creating %s: %s", path, strerror(errno));
    /* fsync so a crash right after the rename cannot leave an empty file under the real name. */
    int ok = fchmod(fd, mode) == 0 && write_all(fd, data, len) == 0 && fsync(fd) == 0;
    int saved = errno;
    if (close(fd) != 0 && ok) {
        ok = 0;
        saved = errno;
    }
    if (ok)
        return 0;
    unlink(path);
    return errorf(err, errlen, "writing %s: %s", path, strerror(saved));
}

/* A reader of dir/name sees the old file or the complete new one, never a partial write. */
static int replace_file(const char *dir, const char *name, mode_t mode, const char *data,
                        size_t len, char *err, size_t errlen)
{
    char path[PATH_MAX];
    char tmp[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    int m = snprintf(tmp, sizeof tmp, "%s/.%s.%ld.tmp", dir, name, (long)getpid());
    if (n < 0 || m < 0 || (size_t)n >= sizeof path || (size_t)m >= sizeof tmp)
        return errorf(err, errlen, "path too long: %s/%s", dir, name);
    if (write_new_file(tmp, mode, data, len, err, errlen) != 0)
        return -1;
    if (rename(tmp, path) != 0) {
        int saved = errno;
        unlink(tmp);
        return errorf(err, errlen, "renaming %s to %s: %s", tmp, path, strerror(saved));
    }
    return 0;
}

/* Takes ownership of pem, which is NULL when encoding failed. */
static int write_pem(const char *dir, const char *name, mode_t mode, BIO *pem, char *err,
                     size_t errlen)
{
    char *data = NULL;
    long len = pem ? BIO_get_mem_data(pem, &data) : 0;
    int rc = len > 0 ? replace_file(dir, name, mode, data, (size_t)len, err, errlen)
                     : ossl_fail(err, errlen, "encoding %s", name);
    /* Freeing a memory BIO wipes its buffer, so the key text does not linger on the heap. */
    BIO_free(pem);
    return rc;
}

static BIO *cert_pem(X509 *cert)
{
    BIO *mem = BIO_new(BIO_s_mem());
    if (mem && !PEM_write_bio_X509(mem, cert)) {
        BIO_free(mem);
        return NULL;
    }
    return mem;
}

/* PKCS#8 ("BEGIN PRIVATE KEY"), unencrypted: the webhook must read it unattended. */
static BIO *key_pem(EVP_PKEY *key)
{
    BIO *mem = BIO_new(BIO_s_mem());
    if (mem && !PEM_write_bio_PKCS8PrivateKey(mem, key, NULL, NULL, 0, NULL, NULL)) {
        BIO_free(mem);
        return NULL;
    }
    return mem;
}

/* The key goes in before tls.crt: a watcher reloads when tls.crt changes and must then find
 * the matching key already in place. */
static int write_pki(const struct pki *p, const char *dir, char *err, size_t errlen)
{
    if (write_pem(dir, "ca.crt", 0644, cert_pem(p->ca), err, errlen) != 0 ||
        write_pem(dir, "tls.key", 0600, key_pem(p->key), err, errlen) != 0 ||
        write_pem(dir, "tls.crt", 0644, cert_pem(p->leaf), err, errlen) != 0)
        return -1;
    return 0;
}

int certgen_write(const struct certgen_options *opts, char *err, size_t errlen)
{
    if (check_options(opts, err, errlen) != 0)
        return -1;
    struct pki pki = {NULL, NULL, NULL};
    /* The error queue is per thread and outlives this call; leave it as we found it. */
    ERR_set_mark();
    int rc = make_pki(&pki, opts, err, errlen);
    if (rc == 0)
        rc = make_dir(opts->out_dir, err, errlen);
    if (rc == 0)
        rc = write_pki(&pki, opts->out_dir, err, errlen);
    ERR_pop_to_mark();
    free_pki(&pki);
    return rc;
}
