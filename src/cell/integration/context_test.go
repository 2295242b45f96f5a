package integration_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
)

func ctxTimeout(d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	DeferCleanup(cancel)
	return ctx
}
