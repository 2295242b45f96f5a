//go:build tools

// Package boshcli pins the bosh CLI (github.com/cloudfoundry/bosh-cli/v7) that
// scripts/create-release builds offline from the Go module proxy. It is its own module so that
// the CLI's dependencies never reach the root go.mod.
package boshcli

import _ "github.com/cloudfoundry/bosh-cli/v7"
