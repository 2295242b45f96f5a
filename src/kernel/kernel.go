package kernel

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

//go:embed config/unik-x86_64.config
var fragment []byte

// recipe changes when scripts/build-kernel changes what it produces.
const recipe = "recipe 1\n"

// Key is the cache key of the minimal kernel built from the embedded config fragment.
func Key() string {
	sum := sha256.Sum256(append(append([]byte{}, fragment...), recipe...))
	return hex.EncodeToString(sum[:])[:16]
}

// Transports of virtio devices.
const (
	TransportMMIO = "mmio" // virtio-mmio devices on the kernel command line (microvm default)
	TransportPCI  = "pci"  // virtio-pci on microvm's PCIe host bridge (needs ACPI in the guest)
)

// Kernel is one bootable guest kernel.
type Kernel struct {
	Name         string `json:"name"`
	Dir          string `json:"-"`
	Image        string `json:"image"`                   // file name in Dir
	InitrdPrefix string `json:"initrd_prefix,omitempty"` // cpio segment put before the app payload
	Transport    string `json:"transport"`
	Fallback     bool   `json:"fallback"`
}

// ImagePath is the kernel file QEMU loads.
func (k Kernel) ImagePath() string { return filepath.Join(k.Dir, k.Image) }

// PrefixPath is the initrd segment to put before the payload, or "".
func (k Kernel) PrefixPath() string {
	if k.InitrdPrefix == "" {
		return ""
	}
	return filepath.Join(k.Dir, k.InitrdPrefix)
}

// ErrNoKernel means neither the minimal kernel nor the fallback is present.
var ErrNoKernel = errors.New("no guest kernel found")

// Load reads a kernel directory.
func Load(dir string) (Kernel, error) {
	b, err := os.ReadFile(filepath.Join(dir, "kernel.json"))
	if err != nil {
		return Kernel{}, fmt.Errorf("kernel %s: %w", dir, err)
	}
	var k Kernel
	if err := json.Unmarshal(b, &k); err != nil {
		return Kernel{}, fmt.Errorf("kernel %s: kernel.json: %w", dir, err)
	}
	k.Dir = dir
	if k.Image == "" {
		return Kernel{}, fmt.Errorf("kernel %s: kernel.json names no image", dir)
	}
	if k.Transport != TransportMMIO && k.Transport != TransportPCI {
		return Kernel{}, fmt.Errorf("kernel %s: transport %q is not mmio or pci", dir, k.Transport)
	}
	for _, p := range []string{k.ImagePath(), k.PrefixPath()} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			return Kernel{}, fmt.Errorf("kernel %s: %w", dir, err)
		}
	}
	return k, nil
}

// Find picks the kernel to boot: dir when given (a kernel directory), else the minimal kernel
// for this build's config in cacheDir, else Debian's cloud kernel (Fallback is then true and
// the caller should say so).
func Find(cacheDir, dir string) (Kernel, error) {
	if dir != "" {
		return Load(dir)
	}
	minimal := filepath.Join(cacheDir, "kernel", Key())
	if k, err := Load(minimal); err == nil {
		return k, nil
	}
	if k, err := FindFallback(cacheDir); err == nil {
		return k, nil
	}
	return Kernel{}, fmt.Errorf("%w: neither %s nor a Debian cloud kernel in %s: run scripts/setup (or scripts/build-kernel)",
		ErrNoKernel, minimal, filepath.Join(cacheDir, "debian-cloud"))
}

// FindFallback returns the newest Debian cloud kernel in the cache.
func FindFallback(cacheDir string) (Kernel, error) {
	dirs, _ := filepath.Glob(filepath.Join(cacheDir, "debian-cloud", "*", "kernel.json"))
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		if k, err := Load(filepath.Dir(d)); err == nil {
			return k, nil
		}
	}
	return Kernel{}, fmt.Errorf("%w: no Debian cloud kernel in %s (run scripts/fetch-debian-kernel)", ErrNoKernel, filepath.Join(cacheDir, "debian-cloud"))
}

// DefaultCacheDir is $UNIK_CACHE_DIR or /var/cache/unik.
func DefaultCacheDir() string {
	if d := os.Getenv("UNIK_CACHE_DIR"); d != "" {
		return d
	}
	return "/var/cache/unik"
}
