// Package localdiego runs a small Diego on this machine, from real parts: PostgreSQL (a
// private cluster on a private port), locket and the BBS (built from the Go module proxy),
// a loggregator v2 ingress (diego-logging-client's test server), the placement stand-in for
// the auctioneer (package placement) and N unik cells. scripts/local-diego and the
// integration suite both use it; every process, VM, tap, table and directory it creates is
// removed by Stop.
package localdiego
