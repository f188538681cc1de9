/*
 * tlsstore.h - the serving certificate, reloaded when its files change.
 *
 * Owns the current certificate chain and key (as DER/PEM bytes) and hands
 * GnuTLS a fresh copy for every handshake, which GnuTLS frees when the session
 * ends. A reload therefore only swaps the bytes under a lock: sessions that
 * are running keep their copy, new handshakes get the new pair, and nothing
 * is ever freed while in use. A pair that fails to load or does not match
 * keeps the old one in service.
 */
#ifndef GOINJECT_TLSSTORE_H
#define GOINJECT_TLSSTORE_H

#include <gnutls/abstract.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Loads the pair; returns 0, or -1 with a reason. The store is process-wide. */
int tls_store_init(const char *cert_file, const char *key_file, char *err, size_t errlen);
/*
 * Reloads when either file's identity (device, inode, size, mtime) changed;
 * a failure is retried once on the next call before it is reported.
 * Returns 1 when a new pair is in service, 0 when nothing changed, -1 when a
 * changed pair could not be loaded (err says why; the old pair stays).
 */
int tls_store_reload_if_changed(char *err, size_t errlen);
/* NotAfter of the certificate in service. */
time_t tls_store_not_after(void);
void tls_store_free(void);

/* The GnuTLS callback (MHD_OPTION_HTTPS_CERT_CALLBACK2). */
gnutls_certificate_retrieve_function3 tls_store_retrieve;

#endif
