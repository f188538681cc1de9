/*
 * inspect.h - `goinject inspect`: facts about a binary or an image.
 *
 * Owns the subcommand's command line and output: people's text by default,
 * --json, --annotations CONTAINER (the pod annotations of the contract) and
 * --catalog (a rule for the configuration's image catalog). The facts come
 * from binfacts.h (an ELF executable) and imagefacts.h (a docker save
 * archive or an OCI image layout, as a directory or a tar).
 *
 * Exit status: 0 when no problem is unsupported, 1 when one is, 2 for bad
 * usage or input it cannot read (with a one-line reason on stderr).
 */
#ifndef GOINJECT_INSPECT_H
#define GOINJECT_INSPECT_H

int inspect_main(int argc, char **argv);

#endif
