package cell

import (
	"fmt"
	"os"
	"syscall"

	"code.cloudfoundry.org/lager/v3"
	"code.cloudfoundry.org/lager/v3/lagerflags"
	"github.com/tedsuo/ifrit"
	"github.com/tedsuo/ifrit/sigmon"

	"github.com/unik-cf/unik/src/cell/config"
)

// Main runs the cell configured by the file at configPath until SIGTERM or SIGINT (then it
// stops as the rep does: every instance is deleted), or until an evacuation completes.
func Main(configPath string) error {
	cfg, err := config.Load(configPath)
	if err != nil {
		return err
	}
	logger, _ := lagerflags.NewFromConfig(cfg.SessionName, lagerflags.LagerConfig{LogLevel: cfg.LogLevel,
		TimeFormat: lagerflags.FormatRFC3339})
	runner, err := New(logger, cfg)
	if err != nil {
		logger.Error("failed-to-start", err)
		return err
	}
	monitor := ifrit.Invoke(sigmon.New(runner, syscall.SIGTERM, os.Interrupt))
	logger.Info("started", lager.Data{"cell-id": cfg.CellID, "rep-url": cfg.RepURL()})
	if err := <-monitor.Wait(); err != nil {
		logger.Error("exited-with-failure", err)
		return fmt.Errorf("unik cell: %w", err)
	}
	logger.Info("exited")
	return nil
}
