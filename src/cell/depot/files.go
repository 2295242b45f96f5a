package depot

import (
	"context"
	"fmt"
	"path"
	"strings"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/executor"
	"code.cloudfoundry.org/lager/v3"
	"code.cloudfoundry.org/rep"

	"github.com/unik-cf/unik/src/cell/identity"
	"github.com/unik-cf/unik/src/guestinit"
	"github.com/unik-cf/unik/src/network"
)

// ServiceBindingsDir is where volume-mounted files (file-based service bindings) are written
// in the guest when their path is relative: VCAP_SERVICES_FILE_PATH and SERVICE_BINDING_ROOT
// point below it.
const ServiceBindingsDir = "/etc/cf-service-bindings"

// SystemCertEnv names the directory of the cell's trusted certificates in the guest, as Diego
// sets it.
const SystemCertEnv = "CF_SYSTEM_CERT_PATH"

// SetVolumeMountedFiles records the DesiredLRP's volume_mounted_files for a container before
// it runs: the rep's run request does not carry them, so the reconciler, which reads the
// DesiredLRP, hands them over here. They are kept in memory only and written into the guest
// at boot, readable by the app alone.
func (d *Depot) SetVolumeMountedFiles(guid string, files []*models.File) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.containers[guid]
	if !ok {
		return executor.ErrContainerNotFound
	}
	c.mounted, c.mountedErr = nil, nil
	for _, f := range files {
		p := f.Path
		if !path.IsAbs(p) {
			p = path.Join(ServiceBindingsDir, p)
		}
		if p = path.Clean(p); !strings.HasPrefix(p, ServiceBindingsDir+"/") {
			c.mountedErr = fmt.Errorf("volume mounted file %q: not below %s", f.Path, ServiceBindingsDir)
			return c.mountedErr
		}
		c.mounted = append(c.mounted, guestinit.File{Path: p, Mode: 0o400, Data: []byte(f.Content)})
	}
	if err := guestinit.ValidateFiles(c.mounted); err != nil {
		c.mountedErr = fmt.Errorf("volume mounted files: %w", err)
	}
	return c.mountedErr
}

// bootFiles are the files and environment every instance gets at boot: the cell's trusted
// certificates (at the path the run request names), the service binding files, and, with an
// identity CA, the instance's credentials once its address is known (filesFor).
func (d *Depot) bootFiles(c executor.Container, mounted []guestinit.File) ([]guestinit.File, []string) {
	var files []guestinit.File
	var env []string
	if dir := c.RunInfo.TrustedSystemCertificatesPath; dir != "" && len(d.cfg.TrustedCerts) > 0 {
		for _, cert := range d.cfg.TrustedCerts {
			files = append(files, guestinit.File{Path: path.Join(dir, cert.Name), Mode: 0o444, Owner: "root", Data: cert.PEM})
		}
		env = append(env, SystemCertEnv+"="+dir)
	}
	files = append(files, mounted...)
	if d.cfg.Identity != nil {
		env = append(env, identity.CertEnv+"="+identity.CertPath, identity.KeyEnv+"="+identity.KeyPath)
	}
	return files, env
}

// TrustedCert is one certificate file of the cell's trusted certificates.
type TrustedCert struct {
	Name string // file name in the guest directory
	PEM  []byte
}

// identityFor issues credentials for the instance of c at the attachment's address.
func (d *Depot) identityFor(c executor.Container, att network.Attachment, now time.Time) (identity.Credentials, error) {
	inst := identity.Instance{GUID: c.Guid, IP: att.GuestIP.Addr(), OUs: c.RunInfo.CertificateProperties.OrganizationalUnit}
	if g := c.Tags[rep.InstanceGuidTag]; g != "" {
		inst.GUID = g
	}
	return d.cfg.Identity.Issue(inst, now)
}

func identityFiles(creds identity.Credentials) []guestinit.File {
	return []guestinit.File{
		{Path: identity.CertPath, Mode: 0o400, Data: creds.CertPEM},
		{Path: identity.KeyPath, Mode: 0o400, Data: creds.KeyPEM},
	}
}

// rotateIdentity replaces a running instance's credentials at each rotation time, first at
// next, for as long as ctx lasts. A failed rotation is tried again after a tenth of the
// validity (the old credentials keep a quarter of theirs).
func (d *Depot) rotateIdentity(ctx context.Context, logger lager.Logger, c executor.Container, att network.Attachment, next time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		now := time.Now()
		vm := d.vmOf(c.Guid)
		creds, err := d.identityFor(c, att, now)
		if err == nil && vm == "" {
			return // the container is gone
		}
		if err == nil {
			err = d.engine.PushFiles(vm, identityFiles(creds))
		}
		if err != nil {
			logger.Error("rotate-identity-failed", err, lager.Data{"vm": vm})
			next = now.Add(d.cfg.Identity.Validity / 10)
			continue
		}
		logger.Info("identity-rotated", lager.Data{"vm": vm, "not-after": creds.NotAfter})
		next = identity.RotateAt(now, creds.NotAfter)
	}
}

// takeMounted hands over (and forgets) a container's volume-mounted files, or why they
// cannot be honoured.
func (d *Depot) takeMounted(guid string) ([]guestinit.File, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.containers[guid]
	if !ok {
		return nil, nil
	}
	files, err := c.mounted, c.mountedErr
	c.mounted, c.mountedErr = nil, nil
	return files, err
}

// startRotation rotates an instance's credentials in the background while ctx lasts. The VM's
// id is not known when its first credentials are issued (they go into its initrd), so it is
// looked up by the container guid tag at each rotation.
func (d *Depot) startRotation(ctx context.Context, logger lager.Logger, c executor.Container, att network.Attachment, next time.Time) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.rotateIdentity(ctx, logger, c, att, next)
	}()
}

// vmOf is the VM id of a container, "" when it has none (any more).
func (d *Depot) vmOf(guid string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.containers[guid]; ok {
		return c.VMID
	}
	return ""
}
