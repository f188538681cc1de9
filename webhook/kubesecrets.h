/*
 * kubesecrets.h - a pod's imagePullSecrets, read from the Kubernetes API.
 *
 * Owns the webhook's view of the API server (in-cluster: the ServiceAccount
 * token and CA mounted in the pod, KUBERNETES_SERVICE_HOST/PORT) and a
 * bounded cache of the registry credentials found in Secrets of type
 * kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg, keyed by
 * namespace/name, for KUBESECRETS_TTL_S (a missing or forbidden Secret is
 * remembered as such for as long). Used only when registry.podPullSecrets
 * is on, from the registry layer's worker threads, never from a review's.
 * Outside a cluster, GOINJECT_KUBE_API (https://host:port),
 * GOINJECT_KUBE_TOKEN_FILE and GOINJECT_KUBE_CA_FILE stand in for the
 * in-cluster values. Secret contents are never logged.
 */
#ifndef GOINJECT_KUBESECRETS_H
#define GOINJECT_KUBESECRETS_H

#include <stddef.h>
#include <stdint.h>

#include "regauth.h"

#define KUBESECRETS_MAX_NAMES 8   /* pull secrets of one pod that are read */
#define KUBESECRETS_CACHE     256 /* Secrets remembered */
#define KUBESECRETS_TTL_S     60
#define KUBESECRETS_MAX_BYTES (1024 * 1024)
#define KUBESECRETS_NAME_MAX  254

/* The pull secrets a pod names, in its namespace. */
struct pull_secrets {
    char ns[64];
    char names[KUBESECRETS_MAX_NAMES][KUBESECRETS_NAME_MAX];
    unsigned count;
};

/*
 * Appends to out the credentials of every Secret in ps that can be read
 * (in ps's order), until deadline_ms. Secrets that cannot be read are
 * skipped; the first reason is put in err (when errlen > 0). Returns the
 * number of Secrets that gave credentials.
 */
int kubesecrets_credentials(const struct pull_secrets *ps, uint64_t deadline_ms,
                            struct reg_credentials *out, char *err, size_t errlen);

#endif
