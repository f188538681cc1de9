/*
 * keyring.h - goinject's own registry credentials (registry.credentialsFile).
 *
 * Owns the credentials in force and their reloads: the file is looked at
 * (stat) at most once a second, and read again when it changed, as a
 * Secret volume's update changes it. A file that cannot be read or parsed
 * keeps the last good credentials in force, with a log line. A lookup holds
 * the credentials it started with until it ends (a reference count).
 */
#ifndef GOINJECT_KEYRING_H
#define GOINJECT_KEYRING_H

#include "regauth.h"

struct keyring {
    _Atomic int refs;
    struct reg_credentials creds;
};

/* The credentials in force for path (NULL: none), held; drop them with keyring_drop. */
struct keyring *keyring_get(const char *path);
void keyring_drop(struct keyring *k);
/* Drops the credentials in force (the process is stopping). */
void keyring_forget(void);

#endif
