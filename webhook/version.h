/*
 * version.h - the version and revision this binary was built from.
 *
 * The Makefile passes both with -D; the fallbacks keep a bare compiler run
 * (an IDE, a fuzzer harness) building.
 */
#ifndef GOINJECT_VERSION_H
#define GOINJECT_VERSION_H

#ifndef GOINJECT_VERSION
#define GOINJECT_VERSION "0.0.0"
#endif
#ifndef GOINJECT_REVISION
#define GOINJECT_REVISION "unknown"
#endif

#endif
