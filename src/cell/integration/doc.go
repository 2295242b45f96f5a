// Package integration is the unik cell's end-to-end suite (Ginkgo), ported from Diego's own
// scenarios (cloudfoundry/inigo cell/lrp_test, converger_test, evacuation_test): real
// PostgreSQL, locket and BBS, two unik cells booting real microVMs, the placement stand-in
// for the auctioneer, and a real loggregator v2 ingress. It runs from `go test ./...` as root
// and fails (never skips) when PostgreSQL, the kernel or the guest init is missing.
package integration
