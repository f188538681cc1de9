// netlookup: uses the C resolver through package net, so with cgo enabled Go's
// internal linker produces a dynamically linked binary (no C code of our own).
package main

import (
	"fmt"
	"net"
)

func main() {
	addrs, err := net.LookupHost("localhost")
	fmt.Println(addrs, err)
}
