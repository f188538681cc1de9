/* tlsstore.c - reloadable serving certificate for GnuTLS; see tlsstore.h. */
#include "tlsstore.h"

#include <errno.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fileid.h"

/* A PEM file larger than this is not a certificate chain or key. */
#define MAX_PEM_BYTES (1024 * 1024)
#define MAX_CHAIN     16

/* One loaded pair; immutable once built. */
struct tls_pair {
    gnutls_datum_t chain[MAX_CHAIN]; /* DER certificates, leaf first */
    unsigned chain_len;
    gnutls_datum_t key_pem; /* malloc'd (buf_read_file) */
    time_t not_after;
};

static struct {
    pthread_rwlock_t lock;
    char *cert_file;
    char *key_file;
    struct file_id cert_id, key_id; /* the files the pair in service was loaded from */
    struct tls_pair *pair;
    bool retrying;         /* the last check failed and is retried once before it counts */
    bool missing_reported; /* the files are missing, and that was reported */
} store = {.lock = PTHREAD_RWLOCK_INITIALIZER};

static void pair_free(struct tls_pair *pair)
{
    if (!pair)
        return;
    for (unsigned i = 0; i < pair->chain_len; i++)
        gnutls_free(pair->chain[i].data);
    free(pair->key_pem.data);
    free(pair);
}

/* The file at path into out->data (malloc'd: free() it). */
static int read_file(const char *path, gnutls_datum_t *out, char *err, size_t errlen)
{
    struct buf text = BUF_INIT_MAX(MAX_PEM_BYTES);
    if (buf_read_file(&text, path, err, errlen) != 0) {
        buf_free(&text);
        return -1;
    }
    out->size = (unsigned)text.len;
    out->data = (unsigned char *)buf_steal(&text);
    return 0;
}

/* Splits the PEM chain into DER certificates and records the leaf's NotAfter. */
static int load_chain(const gnutls_datum_t *pem, const char *path, struct tls_pair *pair, char *err,
                      size_t errlen)
{
    gnutls_x509_crt_t certs[MAX_CHAIN];
    unsigned count = MAX_CHAIN;
    int rc = gnutls_x509_crt_list_import(certs, &count, pem, GNUTLS_X509_FMT_PEM,
                                         GNUTLS_X509_CRT_LIST_FAIL_IF_UNSORTED);
    if (rc < 0 || count == 0)
        return errorf(err, errlen, "%s: no usable certificate chain: %s", path,
                      rc < 0 ? gnutls_strerror(rc) : "empty");
    pair->not_after = gnutls_x509_crt_get_expiration_time(certs[0]);
    for (unsigned i = 0; i < count; i++) {
        if (rc >= 0)
            rc = gnutls_x509_crt_export2(certs[i], GNUTLS_X509_FMT_DER, &pair->chain[i]);
        if (rc >= 0)
            pair->chain_len = i + 1;
        gnutls_x509_crt_deinit(certs[i]);
    }
    if (rc < 0)
        return errorf(err, errlen, "%s: %s", path, gnutls_strerror(rc));
    return 0;
}

/* Imports the pair the way a handshake will, which also proves the key matches. */
static int check_pair(const struct tls_pair *pair, const char *key_path, char *err, size_t errlen)
{
    gnutls_certificate_credentials_t cred;
    gnutls_pcert_st pcert;
    gnutls_privkey_t key;
    int rc = gnutls_certificate_allocate_credentials(&cred);
    if (rc < 0)
        return errorf(err, errlen, "%s: %s", key_path, gnutls_strerror(rc));
    rc = gnutls_pcert_import_x509_raw(&pcert, &pair->chain[0], GNUTLS_X509_FMT_DER, 0);
    if (rc >= 0) {
        rc = gnutls_privkey_init(&key);
        if (rc >= 0)
            rc = gnutls_privkey_import_x509_raw(key, &pair->key_pem, GNUTLS_X509_FMT_PEM, NULL, 0);
        /* set_key takes ownership of pcert and key on success only. */
        if (rc >= 0 && (rc = gnutls_certificate_set_key(cred, NULL, 0, &pcert, 1, key)) >= 0) {
            gnutls_certificate_free_credentials(cred);
            return 0;
        }
        gnutls_privkey_deinit(key);
        gnutls_pcert_deinit(&pcert);
    }
    gnutls_certificate_free_credentials(cred);
    return errorf(err, errlen, "%s does not hold the key of the certificate: %s", key_path,
                  gnutls_strerror(rc));
}

static struct tls_pair *load_pair(const char *cert_file, const char *key_file, char *err,
                                  size_t errlen)
{
    struct tls_pair *pair = calloc(1, sizeof(*pair));
    gnutls_datum_t cert_pem = {NULL, 0};
    int rc = pair ? 0 : errorf(err, errlen, "out of memory");
    if (rc == 0)
        rc = read_file(cert_file, &cert_pem, err, errlen);
    if (rc == 0)
        rc = load_chain(&cert_pem, cert_file, pair, err, errlen);
    if (rc == 0)
        rc = read_file(key_file, &pair->key_pem, err, errlen);
    if (rc == 0)
        rc = check_pair(pair, key_file, err, errlen);
    free(cert_pem.data);
    if (rc != 0) {
        pair_free(pair);
        return NULL;
    }
    return pair;
}

int tls_store_init(const char *cert_file, const char *key_file, char *err, size_t errlen)
{
    struct tls_pair *pair = load_pair(cert_file, key_file, err, errlen);
    if (!pair)
        return -1;
    store.cert_file = strdup(cert_file);
    store.key_file = strdup(key_file);
    store.cert_id = file_id_of(cert_file);
    store.key_id = file_id_of(key_file);
    store.pair = pair;
    return 0;
}

/*
 * A rotation replaces the key and the certificate one after the other, so a
 * check can fall between the two. A failure is therefore retried once, on
 * the next check, before it is reported.
 */
static int failure_after_retry(void)
{
    if (!store.retrying) {
        store.retrying = true;
        return 0;
    }
    store.retrying = false;
    return -1;
}

int tls_store_reload_if_changed(char *err, size_t errlen)
{
    struct file_id cert_id = file_id_of(store.cert_file), key_id = file_id_of(store.key_file);
    if (!cert_id.exists || !key_id.exists) {
        errorf(err, errlen, "cannot stat %s or %s", store.cert_file, store.key_file);
        if (store.missing_reported)
            return 0; /* said once; say it again only after the files came back */
        int rc = failure_after_retry();
        store.missing_reported = rc < 0;
        return rc;
    }
    store.missing_reported = false;
    if (file_id_same(&cert_id, &store.cert_id) && file_id_same(&key_id, &store.key_id))
        return 0;
    struct tls_pair *pair = load_pair(store.cert_file, store.key_file, err, errlen);
    if (!pair && failure_after_retry() == 0)
        return 0;
    /* Reported or loaded: either way, wait for the files to change again. */
    store.cert_id = cert_id;
    store.key_id = key_id;
    store.retrying = false;
    if (!pair)
        return -1;
    pthread_rwlock_wrlock(&store.lock);
    struct tls_pair *old = store.pair;
    store.pair = pair;
    pthread_rwlock_unlock(&store.lock);
    pair_free(old);
    return 1;
}

time_t tls_store_not_after(void)
{
    pthread_rwlock_rdlock(&store.lock);
    time_t not_after = store.pair ? store.pair->not_after : 0;
    pthread_rwlock_unlock(&store.lock);
    return not_after;
}

void tls_store_free(void)
{
    pthread_rwlock_wrlock(&store.lock);
    pair_free(store.pair);
    store.pair = NULL;
    pthread_rwlock_unlock(&store.lock);
    free(store.cert_file);
    free(store.key_file);
    store.cert_file = store.key_file = NULL;
}

/* Copies of the chain and key for one session; GnuTLS frees them (DEINIT_ALL). */
static int copy_for_session(const struct tls_pair *pair, gnutls_pcert_st **certs, unsigned *count,
                            gnutls_privkey_t *key)
{
    gnutls_pcert_st *list = gnutls_malloc(pair->chain_len * sizeof(*list));
    unsigned done = 0; /* imported certificates, to undo on failure */
    int rc = list ? 0 : GNUTLS_E_MEMORY_ERROR;
    while (rc >= 0 && done < pair->chain_len) {
        rc = gnutls_pcert_import_x509_raw(&list[done], &pair->chain[done], GNUTLS_X509_FMT_DER, 0);
        if (rc >= 0)
            done++;
    }
    if (rc >= 0)
        rc = gnutls_privkey_init(key);
    if (rc >= 0 && (rc = gnutls_privkey_import_x509_raw(*key, &pair->key_pem, GNUTLS_X509_FMT_PEM,
                                                        NULL, 0)) < 0)
        gnutls_privkey_deinit(*key);
    if (rc < 0) {
        for (unsigned i = 0; i < done; i++)
            gnutls_pcert_deinit(&list[i]);
        gnutls_free(list);
        return rc;
    }
    *certs = list;
    *count = pair->chain_len;
    return 0;
}

int tls_store_retrieve(gnutls_session_t session, const struct gnutls_cert_retr_st *info,
                       gnutls_pcert_st **certs, unsigned int *certs_length,
                       gnutls_ocsp_data_st **ocsp, unsigned int *ocsp_length,
                       gnutls_privkey_t *privkey, unsigned int *flags)
{
    (void)session;
    (void)info;
    *ocsp = NULL;
    *ocsp_length = 0;
    pthread_rwlock_rdlock(&store.lock);
    int rc = store.pair ? copy_for_session(store.pair, certs, certs_length, privkey) : -1;
    pthread_rwlock_unlock(&store.lock);
    if (rc < 0)
        return -1;
    *flags = GNUTLS_CERT_RETR_DEINIT_ALL;
    return 0;
}
