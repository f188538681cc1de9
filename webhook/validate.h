/*
 * validate.h - syntax checks for the Kubernetes strings goinject writes.
 *
 * Anything goinject puts into a pod (names, paths, images, quantities) must be
 * something the API server accepts, or the webhook would break pod creation.
 * These predicates mirror the API server's validation closely enough to refuse
 * a bad value at config load instead.
 */
#ifndef GOINJECT_VALIDATE_H
#define GOINJECT_VALIDATE_H

#include <stdbool.h>

/* RFC 1123 label: 1-63 of [a-z0-9-], alphanumeric at both ends. */
bool valid_dns_label(const char *s);
/* RFC 1123 subdomain: dot-separated labels, at most 253 characters. */
bool valid_dns_subdomain(const char *s);
/* Starts with '/', no empty, "." or ".." segment, no control characters. */
bool valid_absolute_path(const char *s);
/* An absolute path that is not "/" and has no ':' (the kubelet's volume syntax). */
bool valid_mount_path(const char *s);
/* Non-empty, relative, no "." or ".." segment, no control characters. */
bool valid_relative_path(const char *s);
/* A plausible image reference: no whitespace or control characters, no leading '-'. */
bool valid_image_ref(const char *s);
/* An environment variable name: printable ASCII without '='. */
bool valid_env_name(const char *s);
/* A resource name such as "cpu", "memory" or "example.com/gpu". */
bool valid_resource_name(const char *s);
/*
 * A Kubernetes quantity ("100m", "64Mi", "1e3", "0.5"). When value is not
 * NULL it receives the quantity in base units.
 */
bool valid_quantity(const char *s, long double *value);

#endif
