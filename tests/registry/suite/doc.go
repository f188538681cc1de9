// Package suite is the end-to-end suite of goinject's registry layer: the
// real `goinject serve` (HTTPS, AdmissionReview v1) reading image facts from
// the project's test registry (tests/registry, `testregistry serve`), with
// the registry's auth modes, faults and request log driving each case.
//
// Everything is in the _test.go files; run it with `make registry-test`, or:
//
//	cd tests/registry && GOINJECT_BIN=$PWD/../../build/goinject go test -count=1 ./suite/
//
// Environment (defaults relative to the repository root):
//
//	GOINJECT_BIN       the goinject binary (build/goinject)
//	TESTREGISTRY_BIN   the test registry (build/registry/testregistry)
//	INSPECT_IMAGES     the docker-save tarballs of tests/inspect/build-images.sh
//	                   (build/inspect/images)
package suite
