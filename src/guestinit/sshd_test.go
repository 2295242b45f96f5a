package guestinit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func testKeys(t *testing.T) (hostPEM string, clientSigner ssh.Signer, authorized string) {
	t.Helper()
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(hostPriv, "")
	if err != nil {
		t.Fatal(err)
	}
	_, clientPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(clientPriv)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(block)), signer, string(ssh.MarshalAuthorizedKey(signer.PublicKey()))
}

func startTestSSH(t *testing.T) (addr string, client ssh.Signer) {
	t.Helper()
	host, signer, authorized := testKeys(t)
	srv, err := NewSSHServer(SSHConfig{Address: "127.0.0.1:0", HostKey: host, AuthorizedKey: authorized}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() { _ = srv.Serve(l) }()
	return l.Addr().String(), signer
}

func dialSSH(addr string, signer ssh.Signer) (*ssh.Client, error) {
	return ssh.Dial("tcp", addr, &ssh.ClientConfig{User: "vcap", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey()})
}

func TestSSHForwardsPorts(t *testing.T) {
	addr, signer := startTestSSH(t)
	app, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	go func() {
		for {
			c, err := app.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b := make([]byte, 5)
				if _, err := io.ReadFull(c, b); err == nil {
					_, _ = c.Write(append([]byte("echo:"), b...))
				}
			}()
		}
	}()
	client, err := dialSSH(addr, signer)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	for i := 0; i < 3; i++ { // several channels over one connection, as -L does per client
		c, err := client.Dial("tcp", app.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil || string(got) != "echo:hello" {
			t.Fatalf("forwarded answer %q, %v", got, err)
		}
	}
	if _, err := client.Dial("tcp", "127.0.0.1:1"); err == nil {
		t.Fatal("a forward to a closed port must fail")
	}
}

func TestSSHRefusesSessionsWithTheReason(t *testing.T) {
	addr, signer := startTestSSH(t)
	client, err := dialSSH(addr, signer)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	for _, run := range []func(*ssh.Session) error{
		func(s *ssh.Session) error { return s.Run("cat /etc/passwd") },
		func(s *ssh.Session) error {
			if err := s.RequestPty("xterm", 24, 80, ssh.TerminalModes{}); err != nil {
				return err
			}
			if err := s.Shell(); err != nil {
				return err
			}
			return s.Wait()
		},
	} {
		s, err := client.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		s.Stderr = &stderr
		err = run(s)
		var exit *ssh.ExitError
		if !errors.As(err, &exit) || exit.ExitStatus() != 1 {
			t.Fatalf("session: %v, want exit status 1", err)
		}
		if !strings.Contains(stderr.String(), "no shell") {
			t.Fatalf("stderr %q does not say why", stderr.String())
		}
		s.Close()
	}
}

func TestSSHRefusesOtherKeys(t *testing.T) {
	addr, _ := startTestSSH(t)
	_, other, _ := testKeys(t)
	if c, err := dialSSH(addr, other); err == nil {
		c.Close()
		t.Fatal("a key other than the authorized one was accepted")
	}
}

func TestSSHConfigValidation(t *testing.T) {
	host, _, authorized := testKeys(t)
	base := Config{InstanceID: "x"}
	for _, tc := range []struct {
		ssh  SSHConfig
		want string
	}{
		{SSHConfig{Address: "nope", HostKey: host, AuthorizedKey: authorized}, "ssh address"},
		{SSHConfig{Address: "0.0.0.0:2222", AuthorizedKey: authorized}, "host key"},
		{SSHConfig{Address: "0.0.0.0:2222", HostKey: host}, "authorized key"},
	} {
		c := base
		c.SSH = &tc.ssh
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.ssh.Address, err, tc.want)
		}
	}
	if _, err := NewSSHServer(SSHConfig{Address: ":1", HostKey: "garbage", AuthorizedKey: authorized}, io.Discard); err == nil {
		t.Error("a garbage host key was accepted")
	}
}
