// vendored: a module whose dependency is vendored (go mod vendor) from a local replacement.
package main

import (
	"fmt"

	"example.com/greet"
)

func main() {
	fmt.Println(greet.Hello("vendor"))
}
