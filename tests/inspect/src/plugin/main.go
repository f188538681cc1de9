// plugin: loads a Go plugin named on the command line, as the limitations list describes.
package main

import (
	"fmt"
	"os"
	"plugin"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Println("usage: plugin FILE.so")
		return
	}
	p, err := plugin.Open(os.Args[1])
	fmt.Println(p, err)
}
