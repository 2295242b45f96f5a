package cell

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/unik-cf/unik/src/cell/config"
	"github.com/unik-cf/unik/src/cell/depot"
	"github.com/unik-cf/unik/src/cell/identity"
)

// instanceCredentials loads the instance identity CA and the trusted certificates the config
// names (either may be absent).
func instanceCredentials(cfg config.Config) (*identity.CA, []depot.TrustedCert, error) {
	var ca *identity.CA
	if cfg.InstanceIdentityCAPath != "" {
		var err error
		ca, err = identity.LoadCA(cfg.InstanceIdentityCAPath, cfg.InstanceIdentityPrivateKeyPath, time.Duration(cfg.InstanceIdentityValidityPeriod))
		if err != nil {
			return nil, nil, fmt.Errorf("cell: %w", err)
		}
	}
	certs, err := trustedCerts(cfg.TrustedSystemCertificatesPath)
	return ca, certs, err
}

// trustedCerts reads every *.crt and *.pem file of dir, in name order.
func trustedCerts(dir string) ([]depot.TrustedCert, error) {
	if dir == "" {
		return nil, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("cell: trusted certificates: %w", err)
	}
	var out []depot.TrustedCert
	for _, e := range entries {
		if e.IsDir() || !(strings.HasSuffix(e.Name(), ".crt") || strings.HasSuffix(e.Name(), ".pem")) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("cell: trusted certificates: %w", err)
		}
		out = append(out, depot.TrustedCert{Name: e.Name(), PEM: b})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
