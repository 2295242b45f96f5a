package push

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"golang.org/x/crypto/ssh"
)

// SSHKeys are what Cloud Controller generates for a process with SSH enabled: the instance's
// host key, and a key pair whose public half diego-sshd authorizes (CC's SSH proxy holds the
// private half; tests use it as `cf ssh` would reach the instance).
type SSHKeys struct {
	HostKeyPEM    string // the instance's host key (diego-sshd -hostKey)
	ClientKeyPEM  string // the private key of the authorized pair
	AuthorizedKey string // diego-sshd -authorizedKey, an authorized_keys line
}

// NewSSHKeys makes RSA 2048 keys in the formats CC puts in the LRP.
func NewSSHKeys() (SSHKeys, error) {
	host, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return SSHKeys{}, fmt.Errorf("ssh keys: %w", err)
	}
	client, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return SSHKeys{}, fmt.Errorf("ssh keys: %w", err)
	}
	pub, err := ssh.NewPublicKey(&client.PublicKey)
	if err != nil {
		return SSHKeys{}, fmt.Errorf("ssh keys: %w", err)
	}
	pemOf := func(k *rsa.PrivateKey) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
	}
	return SSHKeys{HostKeyPEM: pemOf(host), ClientKeyPEM: pemOf(client), AuthorizedKey: string(ssh.MarshalAuthorizedKey(pub))}, nil
}
