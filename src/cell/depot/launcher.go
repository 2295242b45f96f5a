package depot

import (
	"context"
	"crypto/x509"
	"strings"

	"code.cloudfoundry.org/buildpackapplifecycle/databaseuri"

	"github.com/unik-cf/unik/src/cell/credhub"
	"github.com/unik-cf/unik/src/cell/identity"
)

// PlatformOptionsEnv is read by the buildpack launcher and never seen by the app.
const PlatformOptionsEnv = "VCAP_PLATFORM_OPTIONS"

// withoutPlatformOptions removes VCAP_PLATFORM_OPTIONS from env and returns its value.
func withoutPlatformOptions(env []string) ([]string, string) {
	out := make([]string, 0, len(env))
	var value string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, PlatformOptionsEnv+"="); ok {
			value = v
			continue
		}
		out = append(out, kv)
	}
	return out, value
}

func lookup(env []string, name string) string {
	v := ""
	for _, kv := range env {
		if rest, ok := strings.CutPrefix(kv, name+"="); ok {
			v = rest // the last one wins, as in the guest
		}
	}
	return v
}

// launcherEnv does what the buildpack launcher does before it starts the app, and returns the
// variables to set over env: VCAP_SERVICES with its CredHub references resolved (when the
// platform options name a CredHub; over mTLS with the instance's credentials, trusting the
// cell's trusted certificates), and DATABASE_URL from the first database service's uri.
// Errors are the launcher's ("Unable to interpolate credhub refs: ..."): the instance fails.
func (d *Depot) launcherEnv(ctx context.Context, env []string, platform string, creds *identity.Credentials) ([]string, error) {
	var extra []string
	services := lookup(env, "VCAP_SERVICES")
	opts, err := credhub.ParsePlatformOptions(platform)
	if err != nil {
		return nil, err
	}
	if opts.CredhubURI != "" && strings.Contains(services, `"credhub-ref"`) {
		if creds == nil {
			return nil, errString("Unable to interpolate credhub refs: Unable to set up credhub client: Missing CF_INSTANCE_CERT and/or CF_INSTANCE_KEY (the cell has no instance identity CA)")
		}
		var roots *x509.CertPool
		if len(d.cfg.TrustedCerts) > 0 {
			roots = x509.NewCertPool()
			for _, c := range d.cfg.TrustedCerts {
				roots.AppendCertsFromPEM(c.PEM)
			}
		}
		client, err := credhub.NewClient(opts.CredhubURI, creds.CertPEM, creds.KeyPEM, roots)
		if err != nil {
			return nil, errString("Unable to interpolate credhub refs: " + err.Error())
		}
		resolved, err := client.Interpolate(ctx, services)
		if err != nil {
			return nil, errString("Unable to interpolate credhub refs: " + err.Error())
		}
		services = resolved
		extra = append(extra, "VCAP_SERVICES="+services)
	}
	if services != "" {
		if uris, err := databaseuri.New().Credentials([]byte(services)); err == nil {
			if u := databaseuri.New().Uri(uris); u != "" {
				extra = append(extra, "DATABASE_URL="+u)
			}
		}
	}
	return extra, nil
}

type errString string

func (e errString) Error() string { return string(e) }
