// Command egress-probe is the guest side of the egress and DNS tests and of
// scripts/bench-egress: an app that opens connections from inside its VM when asked over HTTP
// on $PORT (default 8080), as an unprivileged app would. Package devenv/probe is its client.
//
//	GET /                                        200 "hello from unik egress-probe"
//	GET /dial?net=tcp|udp&addr=A:P&timeout_ms=N&n=K
//	    K attempts, one after the other: tcp connects and reads until the server closes, udp
//	    sends "ping" and reads one answer. JSON {"ok","reply","error","micros"}: micros is
//	    the time of each successful attempt's connect (tcp) or round trip (udp).
//	GET /resolve?name=X                          JSON {"addrs","error"}
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello from unik egress-probe")
	})
	mux.HandleFunc("GET /dial", dial)
	mux.HandleFunc("GET /resolve", resolve)
	if err := http.ListenAndServe(":"+port, mux); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

type dialResult struct {
	OK     bool    `json:"ok"`
	Reply  string  `json:"reply,omitempty"`
	Error  string  `json:"error,omitempty"`
	Micros []int64 `json:"micros,omitempty"`
}

func dial(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	network, addr := q.Get("net"), q.Get("addr")
	timeout := time.Second
	if ms, err := strconv.Atoi(q.Get("timeout_ms")); err == nil && ms > 0 {
		timeout = time.Duration(ms) * time.Millisecond
	}
	n := 1
	if k, err := strconv.Atoi(q.Get("n")); err == nil && k > 0 && k <= 10000 {
		n = k
	}
	if network != "tcp" && network != "udp" {
		http.Error(w, "net must be tcp or udp", http.StatusBadRequest)
		return
	}
	var res dialResult
	for range n {
		reply, d, err := attempt(network, addr, timeout)
		if err != nil {
			res.OK, res.Error = false, err.Error()
			break
		}
		res.OK, res.Reply = true, reply
		res.Micros = append(res.Micros, d.Microseconds())
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

// attempt connects once and returns what the server said and how long the connect (tcp) or
// the round trip (udp) took.
func attempt(network, addr string, timeout time.Duration) (string, time.Duration, error) {
	start := time.Now()
	c, err := net.DialTimeout(network, addr, timeout)
	if err != nil {
		return "", 0, err
	}
	defer c.Close()
	took := time.Since(start)
	_ = c.SetDeadline(time.Now().Add(timeout))
	if network == "udp" {
		if _, err := c.Write([]byte("ping")); err != nil {
			return "", 0, err
		}
		buf := make([]byte, 2048)
		n, err := c.Read(buf)
		if err != nil {
			return "", 0, err
		}
		return string(buf[:n]), time.Since(start), nil
	}
	b, err := io.ReadAll(c)
	if err != nil {
		return "", 0, err
	}
	return string(b), took, nil
}

func resolve(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	var res struct {
		Addrs []string `json:"addrs,omitempty"`
		Error string   `json:"error,omitempty"`
	}
	addrs, err := net.DefaultResolver.LookupHost(ctx, r.URL.Query().Get("name"))
	res.Addrs = addrs
	if err != nil {
		res.Error = err.Error()
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}
