package localdiego

import (
	"sync"

	"code.cloudfoundry.org/diego-logging-client/testhelpers"
	"code.cloudfoundry.org/go-loggregator/v9/rpc/loggregator_v2"
)

// Ingress is a real loggregator v2 ingress server (mTLS) that keeps every envelope it
// receives, and hands each to OnEnvelope if set.
type Ingress struct {
	server *testhelpers.TestIngressServer
	Port   int

	mu         sync.Mutex
	envelopes  []*loggregator_v2.Envelope
	OnEnvelope func(*loggregator_v2.Envelope)
	stop       chan struct{}
}

// StartIngress listens on 127.0.0.1 with the given identity.
func StartIngress(certs Certs) (*Ingress, error) {
	s, err := testhelpers.NewTestIngressServer(certs.Cert(), certs.Key(), certs.CA())
	if err != nil {
		return nil, err
	}
	if err := s.Start(); err != nil {
		return nil, err
	}
	port, err := s.Port()
	if err != nil {
		s.Stop()
		return nil, err
	}
	in := &Ingress{server: s, Port: port, stop: make(chan struct{})}
	go in.accept()
	return in, nil
}

func (in *Ingress) accept() {
	for {
		select {
		case <-in.stop:
			return
		case r := <-in.server.Receivers():
			go func() {
				for {
					batch, err := r.Recv()
					if err != nil {
						return
					}
					in.mu.Lock()
					in.envelopes = append(in.envelopes, batch.Batch...)
					on := in.OnEnvelope
					in.mu.Unlock()
					if on != nil {
						for _, e := range batch.Batch {
							on(e)
						}
					}
				}
			}()
		}
	}
}

// Envelopes returns what arrived so far, filtered by keep (nil keeps all).
func (in *Ingress) Envelopes(keep func(*loggregator_v2.Envelope) bool) []*loggregator_v2.Envelope {
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []*loggregator_v2.Envelope
	for _, e := range in.envelopes {
		if keep == nil || keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// SetOnEnvelope sets the callback.
func (in *Ingress) SetOnEnvelope(f func(*loggregator_v2.Envelope)) {
	in.mu.Lock()
	in.OnEnvelope = f
	in.mu.Unlock()
}

// Stop ends the server.
func (in *Ingress) Stop() {
	close(in.stop)
	in.server.Stop()
}
