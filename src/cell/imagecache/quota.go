package imagecache

import (
	"errors"
	"fmt"
	"io"
)

// DefaultMaxBytes bounds a request that names no quota (Request.MaxBytes 0): 1 GiB, Diego's
// default disk_mb for an app.
const DefaultMaxBytes int64 = 1 << 30

// ErrQuota: the droplet does not fit the instance's disk quota (its download, its extracted
// files or its image is larger than Request.MaxBytes). The message names the quota.
var ErrQuota = errors.New("droplet exceeds the instance's disk quota")

// maxBytes is the bound of a request: its MaxBytes, or DefaultMaxBytes when it names none.
func (r Request) maxBytes() int64 {
	if r.MaxBytes > 0 {
		return r.MaxBytes
	}
	return DefaultMaxBytes
}

// quotaError wraps ErrQuota, naming the quota and what passed it.
func quotaError(limit int64, what string) error {
	return fmt.Errorf("%w of %s: %s", ErrQuota, quotaSize(limit), what)
}

func quotaSize(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// limitWriter passes at most limit bytes to w; a write past the limit writes nothing more and
// fails with an error wrapping ErrQuota.
type limitWriter struct {
	w     io.Writer
	limit int64
	n     int64
	what  string // "the image is larger than that"
}

func (l *limitWriter) Write(b []byte) (int, error) {
	if int64(len(b)) > l.limit-l.n {
		return 0, quotaError(l.limit, l.what)
	}
	n, err := l.w.Write(b)
	l.n += int64(n)
	return n, err
}
