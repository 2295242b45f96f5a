package depot

import (
	"context"
	"time"

	"code.cloudfoundry.org/executor"
	"code.cloudfoundry.org/lager/v3"
	"code.cloudfoundry.org/rep"

	"github.com/unik-cf/unik/src/cell/identity"
	"github.com/unik-cf/unik/src/cell/recipe"
	"github.com/unik-cf/unik/src/engine"
	"github.com/unik-cf/unik/src/guestinit"
	"github.com/unik-cf/unik/src/imagestore"
	"github.com/unik-cf/unik/src/network"
)

// runSpec says how the engine boots container c: image, memory, ports, environment and the
// files the guest gets. What depends on the instance's address is filled in by the engine's
// hooks once the network attachment exists: the identity credentials (FilesFor, first), then
// CF_INSTANCE_* and the launcher's work, which may use those credentials (EnvFor).
func (d *Depot) runSpec(ctx context.Context, logger lager.Logger, c executor.Container, spec recipe.Spec, img imagestore.Image) (engine.RunSpec, error) {
	var ports []network.PortRequest
	for _, p := range spec.Ports {
		ports = append(ports, network.PortRequest{GuestPort: p})
	}
	memory := c.MemoryMB
	if memory <= 0 {
		memory = d.cfg.DefaultMemoryMB
	}
	memory = max(memory, d.cfg.MinMemoryMB)
	egress, err := egressRules(c.RunInfo.EgressRules, d.cellLog(c).Info)
	if err != nil {
		return engine.RunSpec{}, err
	}
	mounted, err := d.takeMounted(c.Guid)
	if err != nil {
		return engine.RunSpec{}, err
	}
	files, filesEnv := d.bootFiles(c, mounted)
	env, platform := withoutPlatformOptions(append(spec.Env, filesEnv...))
	issued := time.Now()
	var creds *identity.Credentials
	return engine.RunSpec{Image: img, Env: env, Ports: ports, Egress: egress, MemoryMB: memory,
		CPUs: d.cfg.CPUs, StopGrace: d.cfg.StopGrace, Tags: map[string]string{ContainerGuidTag: c.Guid}, SSH: spec.SSH,
		CPUWeight: int(min(c.RunInfo.CPUWeight, 100)), LogRateLimit: c.RunInfo.LogRateLimitBytesPerSecond,
		Sidecars: guestSidecars(spec.Sidecars), ResultFile: c.Tags[rep.ResultFileTag],
		Files: files,
		FilesFor: func(att network.Attachment) ([]guestinit.File, error) {
			if d.cfg.Identity == nil {
				return nil, nil
			}
			issuedCreds, err := d.identityFor(c, att, issued)
			if err != nil {
				return nil, err
			}
			creds = &issuedCreds
			d.startRotation(ctx, logger, c, att, identity.RotateAt(issued, issuedCreds.NotAfter))
			return identityFiles(issuedCreds), nil
		},
		EnvFor: func(att network.Attachment) ([]string, error) {
			extra := recipe.NetworkEnv(d.cfg.ExternalIP, att.GuestIP.Addr().String(), portMappings(att))
			if !spec.Launcher {
				return extra, nil
			}
			launcher, err := d.launcherEnv(ctx, env, platform, creds)
			return append(extra, launcher...), err
		}}, nil
}

func guestSidecars(scs []recipe.Sidecar) []guestinit.Sidecar {
	var out []guestinit.Sidecar
	for _, sc := range scs {
		out = append(out, guestinit.Sidecar{Name: sc.Name, StartCommand: sc.StartCommand})
	}
	return out
}
