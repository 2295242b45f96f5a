// Package devenv is the root of the development and test environment: what runs Cloud
// Foundry's side of a unik cell on one machine, never shipped in the BOSH release.
//
//   - localdiego: PostgreSQL, locket and the BBS (real, built from the Go module proxy), a
//     loggregator v2 ingress and N unik cells (scripts/local-diego, the cell integration suite)
//   - placement: a stand-in for Diego's auctioneer, which cannot be built here
//   - push: what Cloud Controller does for an app on the unik stack (droplet, DesireLRP)
//   - outside: the world beyond a cell for egress and DNS tests and benchmarks (a network
//     namespace routed from the host, with TCP, UDP and DNS servers)
//   - probe: builds the egress-probe app (src/cmd/egress-probe), which connects and resolves
//     from inside its VM when asked, and asks it
//   - egressbench: what security groups cost, VM connection set-up and rule installation with
//     10 and 5,000 rules (scripts/bench-egress)
//
// Their commands are under src/cmd (local-diego, unik-push, bench-cell, egress-probe,
// bench-egress). Production packages never import anything below src/devenv.
package devenv
