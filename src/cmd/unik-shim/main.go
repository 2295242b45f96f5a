// Command unik-shim supervises one jailed VMM; see package shim.
package main

import (
	"os"

	"github.com/unik-cf/unik/src/hypervisor/shim"
)

func main() { os.Exit(shim.Main(os.Args[1:])) }
