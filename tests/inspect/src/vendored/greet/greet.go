// Package greet is the vendored dependency of the vendored test program.
package greet

// Hello greets name.
func Hello(name string) string { return "hello, " + name }
