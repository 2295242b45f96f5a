package depot

import (
	"os"
	"time"

	"code.cloudfoundry.org/lager/v3"
)

// Runner is the depot as an ifrit member: it recovers before it is ready, expires stale
// reservations while it runs, and stops its goroutines (not the VMs) when signalled.
func (d *Depot) Runner(logger lager.Logger) func(<-chan os.Signal, chan<- struct{}) error {
	return func(signals <-chan os.Signal, ready chan<- struct{}) error {
		if _, err := d.Recover(logger); err != nil {
			return err
		}
		close(ready)
		tick := time.NewTicker(10 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-signals:
				d.Cleanup(logger)
				return nil
			case <-tick.C:
				d.ExpireReserved(logger)
			}
		}
	}
}
