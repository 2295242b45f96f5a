package cell

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/tlsconfig"
	"github.com/tedsuo/ifrit"

	"github.com/unik-cf/unik/src/cell/config"
)

func bbsClient(cfg config.Config) (bbs.InternalClient, error) {
	c, err := bbs.NewClientWithConfig(bbs.ClientConfig{URL: cfg.BBSAddress, IsTLS: true, CAFile: cfg.CaCertFile,
		CertFile: cfg.CertFile, KeyFile: cfg.KeyFile, RequestTimeout: time.Duration(cfg.CommunicationTimeout)})
	if err != nil {
		return nil, fmt.Errorf("bbs client: %w", err)
	}
	return c, nil
}

// dropletClient downloads droplets: https with the system roots plus the cell's CA, and the
// cell's identity for Cloud Controller's mTLS droplet endpoint; plain http as well.
func dropletClient(cfg config.Config) (*http.Client, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	ca, err := os.ReadFile(cfg.CaCertFile)
	if err != nil {
		return nil, fmt.Errorf("droplet client: %w", err)
	}
	pool.AppendCertsFromPEM(ca)
	cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("droplet client: %w", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	tr.Proxy = http.ProxyFromEnvironment
	return &http.Client{Transport: tr, Timeout: 15 * time.Minute}, nil
}

// repServer serves the rep API: mTLS on listen_addr_securable (secure), plain HTTP on
// listen_addr (ping and evacuate, for the drain script on the same host).
func repServer(cfg config.Config, handler http.Handler, secure bool) (ifrit.Runner, error) {
	addr := cfg.ListenAddr
	var tlsCfg *tls.Config
	if secure {
		addr = cfg.ListenAddrSecurable
		var err error
		tlsCfg, err = tlsconfig.Build(tlsconfig.WithInternalServiceDefaults(),
			tlsconfig.WithIdentityFromFile(cfg.CertFile, cfg.KeyFile),
		).Server(tlsconfig.WithClientAuthenticationFromFile(cfg.CaCertFile))
		if err != nil {
			return nil, fmt.Errorf("rep server tls: %w", err)
		}
	}
	return ifrit.RunFunc(func(signals <-chan os.Signal, ready chan<- struct{}) error {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("rep server: %w", err)
		}
		if tlsCfg != nil {
			l = tls.NewListener(l, tlsCfg)
		}
		srv := &http.Server{Handler: handler, ReadHeaderTimeout: 30 * time.Second}
		errs := make(chan error, 1)
		go func() { errs <- srv.Serve(l) }()
		close(ready)
		select {
		case <-signals:
			return srv.Close()
		case err := <-errs:
			return err
		}
	}), nil
}
