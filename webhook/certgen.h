/*
 * certgen.h - a throwaway CA and a serving certificate for the webhook.
 *
 * Owns key and certificate generation with OpenSSL: an ECDSA P-256 CA and a
 * serving certificate signed by it, with every host as a DNS or IP SAN and
 * NotBefore backdated a few minutes against clock skew. Files are written in
 * the layout of a Kubernetes TLS Secret: ca.crt, tls.crt, tls.key (0600).
 * The CA key is discarded, so the CA can never sign anything else.
 */
#ifndef GOINJECT_CERTGEN_H
#define GOINJECT_CERTGEN_H

#include <stddef.h>

struct certgen_options {
    const char *out_dir;      /* created if missing */
    const char *const *hosts; /* DNS names or IP addresses; the first is the CN */
    size_t nhosts;
    int days; /* validity of the serving certificate */
};

/* Returns 0, or -1 with a one-line reason in err. */
int certgen_write(const struct certgen_options *opts, char *err, size_t errlen);

#endif
