// Command testregistry is the OCI distribution registry of goinject's tests:
// an in-memory registry (go-containerregistry's pkg/registry) behind TLS with
// a test CA, switchable authentication (Bearer tokens or Basic), injected
// faults and a request log, plus the tools that push the test images into it.
//
//	testregistry serve -state DIR [-exit-after 30m] [-no-h2] [-v]
//	testregistry push  -addr HOST:PORT [-ca FILE] [-user U -password P] [-insecure] [-zstd] [-variants N] SRC REF
//	testregistry index -addr HOST:PORT [-ca FILE] [-user U -password P] [-insecure] [-docker] [-attestation] REF PLATFORM=SRC...
//	testregistry seed  -addr HOST:PORT [-ca FILE] [-user U -password P] [-insecure] -images DIR [-out FILE]
//
// SRC is a `docker save` tarball holding one image. REF is a repository and a
// tag (goinject/shell:test) or a full reference; without a registry host the
// host of -addr is used. See serve.go for the listeners and control.go for the
// control API.
package main

import (
	"fmt"
	"os"
)

const usage = `usage:
  testregistry serve -state DIR [-exit-after 30m] [-no-h2] [-v]
  testregistry push  -addr HOST:PORT [-ca FILE] [-user U -password P] [-insecure] [-zstd] [-variants N] SRC REF
  testregistry index -addr HOST:PORT [-ca FILE] [-user U -password P] [-insecure] [-docker] [-attestation] REF PLATFORM=SRC...
  testregistry seed  -addr HOST:PORT [-ca FILE] [-user U -password P] [-insecure] -images DIR [-out FILE]
Run a subcommand with -h for its flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "serve":
		err = serveMain(args)
	case "push":
		err = pushMain(args)
	case "index":
		err = indexMain(args)
	case "seed":
		err = seedMain(args)
	case "-h", "-help", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "testregistry: unknown subcommand %q\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "testregistry %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
