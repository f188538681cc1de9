// cgo: a program that calls into C, so the C library is really linked.
package main

/*
#include <unistd.h>
static int parent(void) { return (int)getppid(); }
*/
import "C"

import "fmt"

func main() {
	fmt.Println("parent pid", int(C.parent()))
}
