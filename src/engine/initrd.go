package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/unik-cf/unik/src/guestinit"
	"github.com/unik-cf/unik/src/image"
)

// writeInitrd composes a VM's initrd: the kernel's prefix segment (modules of a fallback
// kernel), the image payload, and a segment holding /unik/config.json. The kernel unpacks
// concatenated cpio archives in order. The file is private (0600): the config holds the env.
func writeInitrd(path, prefix, payload string, cfg guestinit.Config) error {
	seg, err := configSegment(cfg)
	if err != nil {
		return err
	}
	out, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	for _, p := range []string{prefix, payload} {
		if p == "" {
			continue
		}
		if err := appendFile(out, p); err != nil {
			out.Close()
			return err
		}
	}
	if _, err := out.Write(seg); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func appendFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// configSegment is a cpio archive with /unik/config.json, readable by root only.
func configSegment(cfg guestinit.Config) ([]byte, error) {
	js, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w := image.NewCpioWriter(&buf)
	if err := w.WriteDir("unik", 0o755, 0, 0); err != nil {
		return nil, err
	}
	if err := w.WriteFile("unik/config.json", 0o600, 0, 0, bytes.NewReader(js), int64(len(js))); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("config segment: %w", err)
	}
	return buf.Bytes(), nil
}
