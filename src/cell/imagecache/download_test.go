package imagecache

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// TestDownloadWritesNoMoreThanTheQuota: a server that never stops sending, without a length.
func TestDownloadWritesNoMoreThanTheQuota(t *testing.T) {
	chunk := make([]byte, 32<<10)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	}))
	defer s.Close()
	const limit = 1<<20 + 100
	path := filepath.Join(t.TempDir(), "droplet.tgz")
	_, err := download(context.Background(), http.DefaultClient, Request{URL: s.URL, MaxBytes: limit}, path)
	if !errors.Is(err, ErrQuota) {
		t.Fatalf("download: %v, want ErrQuota", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > limit || fi.Size() < limit-int64(len(chunk)) {
		t.Errorf("%d bytes written under a quota of %d", fi.Size(), limit)
	}
}
