//go:build cgo

package main

// The cgo build of goapp (the runtime tests' "static Go with cgo" image): a real call into the C
// library, so the binary carries libc statically when linked with -extldflags -static.

// #include <unistd.h>
import "C"

func init() {
	cgoEnabled = C.getpid() > 0
}
