// hello: the minimal Go program of the limitations list, built in every mode.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Println("hello from", os.Args[0])
}
