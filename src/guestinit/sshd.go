package guestinit

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// SSHConfig is what Diego's diego-sshd would be started with (Cloud Controller puts it in the
// LRP's sshd Run action): where to listen, the instance's host key and the key `cf ssh`'s proxy
// authenticates with. The keys are secrets: they travel only in the config segment.
type SSHConfig struct {
	Address       string `json:"address"`        // e.g. 0.0.0.0:2222
	HostKey       string `json:"host_key"`       // PEM private key
	AuthorizedKey string `json:"authorized_key"` // authorized_keys line
}

// NoShellMessage is what a session request gets: a unik instance has no shell to run.
const NoShellMessage = "unik: this app instance is a single-application microVM with no shell; " +
	"cf ssh supports port forwarding only (cf ssh APP -N -L LOCAL_PORT:localhost:APP_PORT)\r\n"

// SSHServer serves what a shell-less instance can honour of diego-sshd's protocol: public-key
// authentication with the authorized key, and direct-tcpip channels (`cf ssh -L`, `-N`). A
// session (a shell, a command, a subsystem such as sftp) gets NoShellMessage on stderr and exit
// status 1; every other request is refused.
type SSHServer struct {
	config *ssh.ServerConfig
	dial   func(ctx context.Context, network, addr string) (net.Conn, error)
	log    io.Writer
}

// NewSSHServer checks the keys and builds the server.
func NewSSHServer(c SSHConfig, log io.Writer) (*SSHServer, error) {
	hostKey, err := ssh.ParsePrivateKey([]byte(c.HostKey))
	if err != nil {
		return nil, fmt.Errorf("ssh: host key: %w", err)
	}
	authorized, _, _, _, err := ssh.ParseAuthorizedKey([]byte(c.AuthorizedKey))
	if err != nil {
		return nil, fmt.Errorf("ssh: authorized key: %w", err)
	}
	want := authorized.Marshal()
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if bytes.Equal(key.Marshal(), want) {
				return &ssh.Permissions{}, nil
			}
			return nil, errors.New("unknown public key")
		},
		MaxAuthTries: 3,
	}
	cfg.AddHostKey(hostKey)
	d := &net.Dialer{Timeout: 10 * time.Second}
	return &SSHServer{config: cfg, dial: d.DialContext, log: log}, nil
}

// Serve accepts connections on l until it is closed.
func (s *SSHServer) Serve(l net.Listener) error {
	for {
		conn, err := l.Accept()
		if err != nil {
			return err
		}
		go s.handle(conn)
	}
}

func (s *SSHServer) handle(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second)) // the handshake
	sc, chans, reqs, err := ssh.NewServerConn(conn, s.config)
	if err != nil {
		return // a failed handshake or a refused key: nothing to say to the app's log
	}
	_ = conn.SetDeadline(time.Time{})
	defer sc.Close()
	go ssh.DiscardRequests(reqs) // global requests: no remote forwarding (-R), no keepalive replies needed
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for nc := range chans {
		switch nc.ChannelType() {
		case "direct-tcpip":
			go s.forward(ctx, nc)
		case "session":
			go refuseSession(nc)
		default:
			_ = nc.Reject(ssh.UnknownChannelType, "unik instances only forward ports")
		}
	}
}

// forward connects a direct-tcpip channel (RFC 4254 7.2) to its target inside the guest.
func (s *SSHServer) forward(ctx context.Context, nc ssh.NewChannel) {
	var req struct {
		Host       string
		Port       uint32
		OriginHost string
		OriginPort uint32
	}
	if err := ssh.Unmarshal(nc.ExtraData(), &req); err != nil || req.Port == 0 || req.Port > 65535 {
		_ = nc.Reject(ssh.ConnectionFailed, "malformed forwarding request")
		return
	}
	target, err := s.dial(ctx, "tcp", net.JoinHostPort(req.Host, strconv.Itoa(int(req.Port))))
	if err != nil {
		_ = nc.Reject(ssh.ConnectionFailed, err.Error())
		return
	}
	ch, reqs, err := nc.Accept()
	if err != nil {
		target.Close()
		return
	}
	go ssh.DiscardRequests(reqs)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		_, _ = io.Copy(target, ch)
		if tc, ok := target.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}()
	go func() {
		defer wg.Done()
		_, _ = io.Copy(ch, target)
		_ = ch.CloseWrite()
	}()
	wg.Wait()
	ch.Close()
	target.Close()
}

// refuseSession accepts a session channel only to say why nothing can run in it: the first
// shell, exec or subsystem request gets NoShellMessage on stderr and exit status 1.
func refuseSession(nc ssh.NewChannel) {
	ch, reqs, err := nc.Accept()
	if err != nil {
		return
	}
	defer ch.Close()
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case r, ok := <-reqs:
			if !ok {
				return
			}
			switch r.Type {
			case "shell", "exec", "subsystem":
				_ = r.Reply(true, nil)
				_, _ = ch.Stderr().Write([]byte(NoShellMessage))
				status := make([]byte, 4)
				binary.BigEndian.PutUint32(status, 1)
				_, _ = ch.SendRequest("exit-status", false, status)
				return
			default: // pty-req, env, window-change...: accepted and ignored until the command
				if r.WantReply {
					_ = r.Reply(r.Type == "pty-req" || r.Type == "env", nil)
				}
			}
		case <-timeout.C:
			return
		}
	}
}

// startSSH serves c in the background; an error is reported on the console, never fatal: the
// app runs without sshd rather than not at all.
func startSSH(c *SSHConfig, console io.Writer) {
	if c == nil {
		return
	}
	srv, err := NewSSHServer(*c, console)
	if err != nil {
		fmt.Fprintf(console, "unik-init: %v\n", err)
		return
	}
	l, err := net.Listen("tcp", c.Address)
	if err != nil {
		fmt.Fprintf(console, "unik-init: ssh: %v\n", err)
		return
	}
	go func() { _ = srv.Serve(l) }()
}
