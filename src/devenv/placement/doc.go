// Package placement is a TEST-ONLY STAND-IN FOR DIEGO'S AUCTIONEER. The real auctioneer cannot
// be built here (it needs code.cloudfoundry.org/auction, which the module proxy does not
// serve), and without it the BBS cannot place anything. This package serves the auctioneer's
// HTTP API (POST /v1/lrps, /v1/tasks: what the BBS calls) and does the auctioneer's job
// through the real rep client: it reads every cell's presence from the BBS, asks each cell
// for its state (rep client State), keeps the cells whose rootfs, placement tags, volume
// drivers and free resources fit, picks the best score (the rep's own ComputeScore) and sends
// the work (rep client Perform). What no cell can take is failed in the BBS with the
// auctioneer's placement errors ("found no compatible cell", "insufficient resources").
//
// It is small on purpose: no batching windows, no zone balancing, no starting-container
// limits. It exists for local Diego (scripts/local-diego) and the integration suite; in a
// real deployment Diego's auctioneer does this.
package placement
