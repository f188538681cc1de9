/*
 * imageref.h - container image references, parsed and normalised the way
 * Docker and containerd do (github.com/distribution/reference).
 *
 * Owns struct image_ref: a reference split into registry, repository, tag
 * and digest, in fixed buffers sized by the limits below, so parsing never
 * allocates. The grammar:
 *   reference  := name [":" tag] ["@" digest]
 *   name       := [registry "/"] repository
 *   registry   := host [":" port]; host is DNS components of [A-Za-z0-9-]
 *                 separated by '.' (IPv4 included), or "[" IPv6 "]"
 *   repository := component ("/" component)*, each component
 *                 [a-z0-9]+ (([._]|__|-+) [a-z0-9]+)*
 *   tag        := [A-Za-z0-9_][A-Za-z0-9._-]{0,127}
 *   digest     := sha256:<64> | sha384:<96> | sha512:<128> lowercase hex digits
 * Normalised as Docker does: the first component is a registry when it has a
 * '.' or a ':', is "localhost", or has an uppercase letter (a repository never
 * does); without one the registry is docker.io, where a single-component
 * repository gets "library/"; index.docker.io is docker.io; a reference with
 * neither tag nor digest gets the tag "latest". A tag and a digest may both
 * be given ("name:tag@sha256:..."); the digest is what a runtime pulls.
 */
#ifndef GOINJECT_IMAGEREF_H
#define GOINJECT_IMAGEREF_H

#include <stdbool.h>
#include <stddef.h>

/* host[:port]: a DNS name is at most 253 characters, and the port and brackets fit in 255. */
#define IMAGE_REF_REGISTRY_MAX 255
/* The repository path, "library/" included (distribution's NameTotalLengthMax). */
#define IMAGE_REF_REPOSITORY_MAX 255
/* The grammar's own bound: one leading character and up to 127 more. */
#define IMAGE_REF_TAG_MAX 128
/* "sha512:" and 128 hex digits, the longest digest accepted. */
#define IMAGE_REF_DIGEST_MAX 135
/* The longest reference text: every part at its limit, with '/', ':' and '@' between. */
#define IMAGE_REF_TEXT_MAX                                                                         \
    (IMAGE_REF_REGISTRY_MAX + 1 + IMAGE_REF_REPOSITORY_MAX + 1 + IMAGE_REF_TAG_MAX + 1 +           \
     IMAGE_REF_DIGEST_MAX)

struct image_ref {
    char registry[IMAGE_REF_REGISTRY_MAX + 1];     /* "docker.io", "localhost:5000", "[::1]:5000" */
    char repository[IMAGE_REF_REPOSITORY_MAX + 1]; /* "library/nginx", "distroless/static" */
    char tag[IMAGE_REF_TAG_MAX + 1];               /* "" when only a digest was given */
    char digest[IMAGE_REF_DIGEST_MAX + 1];         /* "" when none, else "sha256:..." */
};

/*
 * Parses text into *out, normalised (see above). Returns 0, or -1 with a
 * one-line reason in err (errlen bytes) and *out zeroed.
 */
int image_ref_parse(const char *text, struct image_ref *out, char *err, size_t errlen);
/*
 * The host to send registry API requests to: registry-1.docker.io for
 * docker.io (Docker Hub serves the API there), else the registry as written.
 */
const char *image_ref_api_host(const struct image_ref *ref);
/*
 * Writes the normalised reference, "registry/repository[:tag][@digest]",
 * into out (len bytes; IMAGE_REF_TEXT_MAX + 1 always suffice). Returns 0,
 * or -1 when it does not fit.
 */
int image_ref_format(const struct image_ref *ref, char *out, size_t len);
/* True when s is a digest of the grammar above: a known algorithm, its length of lowercase hex. */
bool image_ref_valid_digest(const char *s);

#endif
