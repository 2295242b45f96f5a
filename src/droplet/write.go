package droplet

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/unik-cf/unik/src/image"
)

// Write puts a built payload into appDir/.unik: the file at payloadPath is moved (or copied when
// it is on another file system) to .unik/payload.cpio, then image.json is written, last, so a
// reader never sees a record without its payload. An existing .unik is replaced. The payload
// must have been built without .unik (it is not part of the image).
func Write(appDir, payloadPath string, res image.Result) error {
	img := FromResult(res)
	if err := img.Validate(); err != nil {
		return fmt.Errorf("write unik image: %w", err)
	}
	data, err := img.Encode()
	if err != nil {
		return err
	}
	l := Layout{AppDir: appDir}
	if err := os.RemoveAll(l.Dir()); err != nil {
		return fmt.Errorf("write unik image: %w", err)
	}
	if err := os.Mkdir(l.Dir(), 0o755); err != nil {
		return fmt.Errorf("write unik image: %w", err)
	}
	if err := moveFile(payloadPath, l.Payload()); err != nil {
		return fmt.Errorf("write unik image: payload: %w", err)
	}
	if err := os.WriteFile(l.Image(), data, 0o644); err != nil {
		return fmt.Errorf("write unik image: %w", err)
	}
	return nil
}

// moveFile renames src to dst, or copies and removes src across file systems. dst ends 0644.
func moveFile(src, dst string) error {
	err := os.Rename(src, dst)
	if err == nil {
		return os.Chmod(dst, 0o644)
	}
	if !errors.Is(err, syscall.EXDEV) {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".payload-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return err
	}
	return os.Remove(src)
}
