/*
 * agentcopy.h - `goinject copy-agent`: the init container's whole job.
 *
 * Owns copying the agent bundle from the goinject image into the pod's shared
 * emptyDir. The image has no shell and no cp, so goinject does it itself:
 * directories, regular files (permission bits kept, set-id bits dropped) and
 * symlinks (recreated, never followed), nothing else.
 */
#ifndef GOINJECT_AGENTCOPY_H
#define GOINJECT_AGENTCOPY_H

#include <stddef.h>

/* Copies the tree at src into the existing directory dst. Returns 0, or -1 with err. */
int agent_copy(const char *src, const char *dst, char *err, size_t errlen);

#endif
