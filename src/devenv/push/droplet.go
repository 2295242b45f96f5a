package push

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/unik-cf/unik/src/droplet"
	"github.com/unik-cf/unik/src/image"
)

// Droplet is a droplet file and its checksum.
type Droplet struct {
	Path   string
	SHA256 string // hex
	Staged bool   // carries a unik image
}

// MakeDroplet packs appDir into a droplet at out. With staged, the unik image of the app is
// built first (as the unik buildpack's finalize does) and put at ./app/.unik; without, the
// droplet is a plain buildpack droplet and the cell builds the image. startCommand goes to
// staging_info.yml.
func MakeDroplet(ctx context.Context, appDir, out, startCommand, initPath string, staged bool) (Droplet, error) {
	tmp, err := os.MkdirTemp(filepath.Dir(out), ".droplet-")
	if err != nil {
		return Droplet{}, err
	}
	defer os.RemoveAll(tmp)
	app := filepath.Join(tmp, "app")
	if err := copyTree(appDir, app); err != nil {
		return Droplet{}, fmt.Errorf("copy app: %w", err)
	}
	if staged {
		payload := filepath.Join(tmp, "payload.cpio")
		f, err := os.Create(payload)
		if err != nil {
			return Droplet{}, err
		}
		res, err := image.Build(ctx, image.BuildOptions{AppDir: app, StartCommand: startCommand, InitPath: initPath}, f)
		f.Close()
		if err != nil {
			return Droplet{}, fmt.Errorf("build image: %w", err)
		}
		if err := droplet.Write(app, payload, res); err != nil {
			return Droplet{}, err
		}
	}
	info, _ := json.Marshal(map[string]string{"detected_buildpack": "unik", "start_command": startCommand})
	if err := os.WriteFile(filepath.Join(tmp, "staging_info.yml"), info, 0o644); err != nil {
		return Droplet{}, err
	}
	if err := tgz(tmp, []string{"app", "staging_info.yml"}, out); err != nil {
		return Droplet{}, err
	}
	sum, err := fileSHA256(out)
	if err != nil {
		return Droplet{}, err
	}
	return Droplet{Path: out, SHA256: sum, Staged: staged}, nil
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			in, err := os.Open(p)
			if err != nil {
				return err
			}
			defer in.Close()
			out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm())
			if err != nil {
				return err
			}
			if _, err := io.Copy(out, in); err != nil {
				out.Close()
				return err
			}
			return out.Close()
		}
		return nil
	})
}

// tgz writes the named entries of root as a gzipped tar with "./" names, as CC's droplets.
func tgz(root string, names []string, out string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	for _, name := range names {
		err := filepath.WalkDir(filepath.Join(root, name), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			link := ""
			if info.Mode()&fs.ModeSymlink != 0 {
				if link, err = os.Readlink(p); err != nil {
					return err
				}
			}
			h, err := tar.FileInfoHeader(info, link)
			if err != nil {
				return err
			}
			h.Name = "./" + filepath.ToSlash(rel)
			if d.IsDir() {
				h.Name += "/"
			}
			h.Uid, h.Gid, h.Uname, h.Gname = 2000, 2000, "vcap", "vcap"
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			if info.Mode().IsRegular() {
				in, err := os.Open(p)
				if err != nil {
					return err
				}
				defer in.Close()
				_, err = io.Copy(tw, in)
				return err
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}

// fileSHA256 is the hex sha256 of a file, as a Download action's checksum value.
func fileSHA256(path string) (string, error) {
	d, err := image.FileDigest(path)
	return strings.TrimPrefix(d, image.DigestPrefix), err
}
