// Command hello-go is the UniK example app: an HTTP server on $PORT (default 8080).
//
//	GET /              200 "hello from unik\n" plus instance information
//	GET /env?name=X    the value of the environment variable X (404 if unset)
//	GET /exit?code=N   answers, then exits with status N
//	GET /ready         200 once ready, 503 before (readiness checks); the app starts ready
//	                   unless $START_UNREADY is set
//	GET /ready/on, /ready/off   make it ready, or not
//	GET /file?path=P   the content of the file at P, as the app's user can read it
//
// `hello-go once` prints one line (and writes {"ran":"once"} to $RESULT_FILE when set) and exits 0
// instead (a one-off task, `cf run-task`).
package main

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "once" {
		fmt.Println("hello-go: ran once")
		if p := os.Getenv("RESULT_FILE"); p != "" { // a task's result file
			if err := os.WriteFile(p, []byte(`{"ran":"once"}`), 0o644); err != nil {
				fmt.Fprintln(os.Stderr, "hello-go:", err)
				os.Exit(1)
			}
		}
		return
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	exit := make(chan int, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", hello)
	mux.HandleFunc("GET /env", env)
	mux.HandleFunc("GET /file", func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(r.URL.Query().Get("path"))
		if err != nil {
			http.Error(w, err.Error()+"\n", http.StatusNotFound)
			return
		}
		w.Write(b)
	})
	var ready atomic.Bool
	ready.Store(os.Getenv("START_UNREADY") == "")
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, r *http.Request) {
		if !ready.Load() {
			http.Error(w, "not ready\n", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.HandleFunc("GET /ready/{state}", func(w http.ResponseWriter, r *http.Request) {
		ready.Store(r.PathValue("state") == "on")
		fmt.Fprintf(w, "ready: %v\n", ready.Load())
	})
	mux.HandleFunc("GET /exit", func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(r.URL.Query().Get("code"))
		if err != nil || code < 0 || code > 255 {
			http.Error(w, "code must be 0..255\n", http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "exiting with %d\n", code)
		w.(http.Flusher).Flush()
		select {
		case exit <- code:
		default:
		}
	})
	srv := &http.Server{Addr: ":" + port, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		code := <-exit
		time.Sleep(100 * time.Millisecond) // let the response reach the client
		os.Exit(code)
	}()
	fmt.Fprintf(os.Stdout, "hello-go: listening on :%s\n", port)
	fmt.Fprintln(os.Stderr, "hello-go: stderr is separate")
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintf(os.Stderr, "hello-go: %v\n", err)
		os.Exit(1)
	}
}

func hello(w http.ResponseWriter, _ *http.Request) {
	host, _ := os.Hostname()
	fmt.Fprint(w, "hello from unik\n")
	fmt.Fprintf(w, "hostname: %s\npid: %d\nuid: %d\n", host, os.Getpid(), os.Getuid())
	for _, k := range []string{"INSTANCE_INDEX", "CF_INSTANCE_GUID", "CF_INSTANCE_ADDR", "PORT"} {
		if v, ok := os.LookupEnv(k); ok {
			fmt.Fprintf(w, "%s: %s\n", k, v)
		}
	}
}

func env(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	v, ok := os.LookupEnv(name)
	if name == "" || !ok {
		http.Error(w, fmt.Sprintf("%s is not set\n", name), http.StatusNotFound)
		return
	}
	fmt.Fprint(w, v)
}
