// Command busy-loop spins on every CPU it has, forever: the noisy neighbour of the isolation
// tests and benchmarks (src/hostile, scripts/bench-isolation). It prints one line first.
package main

import (
	"fmt"
	"runtime"
)

func main() {
	fmt.Printf("busy-loop: spinning on %d CPUs\n", runtime.NumCPU())
	for i := 1; i < runtime.NumCPU(); i++ {
		go spin()
	}
	spin()
}

func spin() {
	for n := 0; ; n++ {
		_ = n
	}
}
