// Package healthcheck probes an instance from the host, as Diego's healthcheck binary and
// declarative checks do from inside a container: a TCP connect or an HTTP GET expecting 200,
// against the instance's own address. Messages match Diego's so that operators and Cloud
// Controller see the same crash reasons.
package healthcheck
