//go:build tools

// Package lifecycle pins the real Cloud Foundry buildpack lifecycle (builder and launcher) so
// the unik buildpack's tests can stage through it. It is its own module because the lifecycle
// needs an older lager (v3.0.3) than the cell's module set. Build with scripts/build-lifecycle.
package lifecycle

import (
	_ "code.cloudfoundry.org/buildpackapplifecycle/builder"
	_ "code.cloudfoundry.org/buildpackapplifecycle/launcher"
)
