// Command unik-init is PID 1 inside every UniK microVM. Build it static:
//
//	CGO_ENABLED=0 go build -trimpath -ldflags='-s -w -buildid=' -o bin/unik-init ./src/cmd/unik-init
package main

import "github.com/unik-cf/unik/src/guestinit"

func main() { guestinit.Main() }
