package depot

import (
	"time"

	"code.cloudfoundry.org/executor"
	"code.cloudfoundry.org/lager/v3"
)

// GetBulkMetrics reports every booted instance's resource use: the VMM process's resident
// memory and CPU time, the image as disk use, the container's limits, its age, and one CPU of
// entitlement per virtual CPU.
func (d *Depot) GetBulkMetrics(logger lager.Logger) (map[string]executor.Metrics, error) {
	type vm struct {
		guid, id string
		started  time.Time
		cfg      executor.MetricsConfig
		memLimit uint64
		disk     uint64
		diskLim  uint64
	}
	var vms []vm
	d.mu.Lock()
	for guid, c := range d.containers {
		if c.VMID == "" || c.Container.State == executor.StateCompleted {
			continue
		}
		vms = append(vms, vm{guid: guid, id: c.VMID, started: c.VMStarted, cfg: c.Container.MetricsConfig,
			memLimit: c.Container.MemoryLimit, disk: uint64(c.ImageSize), diskLim: c.Container.DiskLimit})
	}
	d.mu.Unlock()
	out := make(map[string]executor.Metrics, len(vms))
	now := time.Now()
	for _, v := range vms {
		info, err := d.engine.Get(v.id)
		if err != nil {
			continue
		}
		age := now.Sub(v.started)
		if v.started.IsZero() || age < 0 {
			age = 0
		}
		out[v.guid] = executor.Metrics{
			MetricsConfig: v.cfg,
			ContainerMetrics: executor.ContainerMetrics{
				MemoryUsageInBytes:                  info.Stats.RSSBytes,
				DiskUsageInBytes:                    v.disk,
				MemoryLimitInBytes:                  v.memLimit,
				DiskLimitInBytes:                    v.diskLim,
				TimeSpentInCPU:                      info.Stats.CPUTime,
				AbsoluteCPUEntitlementInNanoseconds: uint64(age.Nanoseconds()) * uint64(max(info.CPUs, 1)),
				ContainerAgeInNanoseconds:           uint64(age.Nanoseconds()),
			},
		}
	}
	return out, nil
}
