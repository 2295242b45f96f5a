package imagecache

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"strings"
)

// ErrChecksum: the droplet's bytes do not match the checksum the LRP gives.
var ErrChecksum = errors.New("droplet checksum mismatch")

// download fetches r.URL to path, verifying the checksum, and returns the size. A droplet
// larger than the request's quota is refused with ErrQuota: at once when the server announces
// its length, else as soon as the quota is passed, having written no more than the quota.
func download(ctx context.Context, client *http.Client, r Request, path string) (int64, error) {
	limit := r.maxBytes()
	h, err := hasher(r.ChecksumAlgorithm)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL, nil)
	if err != nil {
		return 0, fmt.Errorf("download droplet: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("download droplet: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("download droplet %s: HTTP %s", redact(r.URL), resp.Status)
	}
	if resp.ContentLength > limit {
		return 0, quotaError(limit, fmt.Sprintf("the download is %d bytes", resp.ContentLength))
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return 0, fmt.Errorf("download droplet: %w", err)
	}
	defer f.Close()
	lw := &limitWriter{w: io.MultiWriter(f, h), limit: limit, what: "the download is larger than that"}
	n, err := io.Copy(lw, resp.Body)
	if errors.Is(err, ErrQuota) {
		return 0, err
	}
	if err != nil {
		return 0, fmt.Errorf("download droplet %s: %w", redact(r.URL), err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("download droplet: %w", err)
	}
	if r.ChecksumValue != "" {
		got := hex.EncodeToString(h.Sum(nil))
		if !strings.EqualFold(got, r.ChecksumValue) {
			return 0, fmt.Errorf("%w: %s %s, expected %s", ErrChecksum, r.ChecksumAlgorithm, got, r.ChecksumValue)
		}
	}
	return n, nil
}

func hasher(algorithm string) (hash.Hash, error) {
	switch strings.ToLower(algorithm) {
	case "sha256", "":
		return sha256.New(), nil
	case "sha1":
		return sha1.New(), nil
	case "md5":
		return md5.New(), nil
	}
	return nil, fmt.Errorf("download droplet: checksum algorithm %q is not sha256, sha1 or md5", algorithm)
}

// redact drops the query of a URL (signed URLs carry credentials there).
func redact(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i] + "?..."
	}
	return u
}
