package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/unik-cf/unik/src/startcmd"
)

func TestBuildLayout(t *testing.T) {
	app := staticApp(t)
	writeFiles(t, app, map[string]string{
		"x:bin/tool": "#!/bin/sh\n", "data/config.json": "{}", "current": "->data", "abs": "->/home/vcap/app/data/config.json",
		"empty/": "",
	})
	if err := os.Chmod(app, 0o750); err != nil {
		t.Fatal(err)
	}
	payload, res := mustBuild(t, BuildOptions{AppDir: app, Env: map[string]string{"GREETING": "hi"}, Epoch: 1234})
	if int64(len(payload)) != res.Size || res.Size%512 != 0 {
		t.Errorf("size %d (result %d) is not a multiple of 512", len(payload), res.Size)
	}
	sum := sha256.Sum256(payload)
	if res.Digest != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Errorf("digest %s does not match the payload", res.Digest)
	}
	entries, order := readArchive(t, payload)
	if !sort.StringsAreSorted(order) {
		t.Errorf("entries not sorted: %v", order)
	}
	for i, p := range order {
		e := entries[p]
		if dir := path.Dir(p); dir != "/" && !entries[dir].Mode.IsDir() {
			t.Errorf("%s has no parent directory entry", p)
		}
		if e.MTime != 1234 || e.Inode != uint32(i+1) {
			t.Errorf("%s: mtime %d inode %d", p, e.MTime, e.Inode)
		}
		if wantNL := map[bool]uint32{true: 2, false: 1}[e.Mode.IsDir()]; e.NLink != wantNL {
			t.Errorf("%s: nlink %d, want %d", p, e.NLink, wantNL)
		}
	}
	check := func(p string, mode fs.FileMode, uid int) {
		t.Helper()
		e, ok := entries[p]
		if !ok {
			t.Errorf("%s missing", p)
			return
		}
		if e.Mode != mode || e.UID != uid || e.GID != uid {
			t.Errorf("%s: mode %v uid %d gid %d, want %v %d", p, e.Mode, e.UID, e.GID, mode, uid)
		}
	}
	check("/init", 0o755, 0)
	check("/unik/manifest.json", 0o644, 0)
	check("/etc/passwd", 0o644, 0)
	check("/etc/group", 0o644, 0)
	check("/etc/nsswitch.conf", 0o644, 0)
	check("/tmp", fs.ModeDir|fs.ModeSticky|0o777, 0)
	for _, d := range []string{"/dev", "/run", "/home"} {
		check(d, fs.ModeDir|0o755, 0)
	}
	check("/proc", fs.ModeDir|0o555, 0)
	check("/sys", fs.ModeDir|0o555, 0)
	check("/dev/console", fs.ModeDevice|fs.ModeCharDevice|0o600, 0)
	check("/dev/null", fs.ModeDevice|fs.ModeCharDevice|0o666, 0)
	check("/home/vcap", fs.ModeDir|0o755, VcapUID)
	check("/home/vcap/app", fs.ModeDir|0o750, VcapUID)
	check("/home/vcap/app/hello", 0o755, VcapUID)
	check("/home/vcap/app/bin/tool", 0o755, VcapUID)
	check("/home/vcap/app/data/config.json", 0o644, VcapUID)
	check("/home/vcap/app/empty", fs.ModeDir|0o755, VcapUID)
	check("/home/vcap/app/current", fs.ModeSymlink|0o777, VcapUID)
	if e := entries["/dev/console"]; e.Major != 5 || e.Minor != 1 {
		t.Errorf("/dev/console is %d,%d", e.Major, e.Minor)
	}
	if e := entries["/dev/null"]; e.Major != 1 || e.Minor != 3 {
		t.Errorf("/dev/null is %d,%d", e.Major, e.Minor)
	}
	if got := entries["/home/vcap/app/current"].Linkname; got != "data" {
		t.Errorf("symlink target %q", got)
	}
	passwd := string(entries["/etc/passwd"].data)
	if !strings.Contains(passwd, "vcap:x:2000:2000:vcap:/home/vcap/app:/nonexistent\n") || !strings.HasPrefix(passwd, "root:x:0:0:") {
		t.Errorf("/etc/passwd = %q", passwd)
	}
	if !strings.Contains(string(entries["/etc/nsswitch.conf"].data), "hosts: files dns\n") {
		t.Errorf("nsswitch.conf = %q", entries["/etc/nsswitch.conf"].data)
	}
	initData, _ := os.ReadFile(staticELF)
	if !bytes.Equal(entries["/init"].data, initData) {
		t.Error("/init differs from InitPath")
	}
	want := Manifest{
		SchemaVersion: 1, StartCommand: "./hello", Program: "/home/vcap/app/hello", WorkDir: "/home/vcap/app",
		User: "vcap", UID: 2000, GID: 2000, Ports: []int{8080}, Env: map[string]string{"GREETING": "hi"},
	}
	if !reflect.DeepEqual(res.Manifest, want) {
		t.Errorf("manifest = %+v, want %+v", res.Manifest, want)
	}
	got, err := ReadManifest(bytes.NewReader(payload))
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ReadManifest = %+v, %v", got, err)
	}
}

func TestBuildReproducible(t *testing.T) {
	app := staticApp(t)
	writeFiles(t, app, map[string]string{"a/b.txt": "one", "z": "zzz", "link": "->a/b.txt"})
	opts := BuildOptions{AppDir: app, Ports: []int{8080, 9090}}
	first, r1 := mustBuild(t, opts)
	old := time.Now().Add(-48 * time.Hour)
	filepath.WalkDir(app, func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			os.Chtimes(p, old, old)
		}
		return nil
	})
	second, r2 := mustBuild(t, opts)
	if !bytes.Equal(first, second) || r1.Digest != r2.Digest {
		t.Fatalf("touching files changed the payload: %s vs %s", r1.Digest, r2.Digest)
	}
	if err := os.WriteFile(filepath.Join(app, "a/b.txt"), []byte("two"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, r3 := mustBuild(t, opts)
	if r3.Digest == r1.Digest {
		t.Error("changing a file did not change the digest")
	}
	if err := os.Chmod(filepath.Join(app, "z"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, r4 := mustBuild(t, opts)
	if r4.Digest == r3.Digest {
		t.Error("changing a file mode did not change the digest")
	}
	opts.Epoch = 1
	if _, r5 := mustBuild(t, opts); r5.Digest == r4.Digest {
		t.Error("changing Epoch did not change the digest")
	}
}

func TestBuildProgramLookup(t *testing.T) {
	tests := []struct {
		cmd, file, want string
	}{
		{"hello", "hello", "/home/vcap/app/hello"},
		{"exec ./hello --port $PORT", "hello", "/home/vcap/app/hello"},
		{"tool", "bin/tool", "/home/vcap/app/bin/tool"},
		{"bin/tool", "bin/tool", "/home/vcap/app/bin/tool"},
		{"/home/vcap/app/bin/tool", "bin/tool", "/home/vcap/app/bin/tool"},
		{"A=1 ./sub/../bin/tool", "bin/tool", "/home/vcap/app/bin/tool"},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			app := t.TempDir()
			copyFile(t, staticELF, filepath.Join(app, tt.file), 0o755)
			os.Mkdir(filepath.Join(app, "sub"), 0o755)
			_, res := mustBuild(t, BuildOptions{AppDir: app, StartCommand: tt.cmd})
			if res.Manifest.Program != tt.want || res.Manifest.StartCommand != tt.cmd {
				t.Errorf("program %q, start command %q", res.Manifest.Program, res.Manifest.StartCommand)
			}
		})
	}
	t.Run("symlinked program", func(t *testing.T) {
		app := t.TempDir()
		copyFile(t, staticELF, filepath.Join(app, "build/app"), 0o755)
		writeFiles(t, app, map[string]string{"bin/app": "->../build/app", "run": "->/home/vcap/app/build/app"})
		for _, cmd := range []string{"bin/app", "./run"} {
			if _, res := mustBuild(t, BuildOptions{AppDir: app, StartCommand: cmd}); res.Manifest.Program != path.Join(GuestAppDir, cmd) {
				t.Errorf("%s: program %q", cmd, res.Manifest.Program)
			}
		}
	})
	t.Run("absolute program in the system root", func(t *testing.T) {
		payload, res := mustBuild(t, BuildOptions{AppDir: t.TempDir(), StartCommand: staticELF + " -v"})
		entries, _ := readArchive(t, payload)
		if res.Manifest.Program != staticELF || !entries[resolveIn(t, entries, staticELF)].Mode.IsRegular() {
			t.Errorf("program %q not copied to its path", res.Manifest.Program)
		}
	})
}

func TestBuildErrors(t *testing.T) {
	appWith := func(files map[string]string) func(t *testing.T) string {
		return func(t *testing.T) string {
			dir := t.TempDir()
			writeFiles(t, dir, files)
			return dir
		}
	}
	withELF := func(name string, mode os.FileMode, files map[string]string) func(t *testing.T) string {
		return func(t *testing.T) string {
			dir := appWith(files)(t)
			copyFile(t, staticELF, filepath.Join(dir, name), mode)
			return dir
		}
	}
	tests := []struct {
		name    string
		app     func(t *testing.T) string
		cmd     string
		want    []error
		message string
	}{
		{"empty app dir", appWith(nil), "", []error{ErrNoStartCommand},
			"no start command: pass --start-command or add a Procfile with a web: line (the app directory"},
		{"no web line", appWith(map[string]string{"Procfile": "worker: ./w\n"}), "", []error{ErrNoStartCommand}, "no web: line"},
		{"program not found", appWith(map[string]string{"x": "y"}), "./hello", []error{ErrProgramNotFound},
			"start command program ./hello not found in app directory "},
		{"bare name not found", appWith(map[string]string{"x": "y"}), "hello", []error{ErrProgramNotFound}, "bin/hello"},
		{"outside app", appWith(nil), "../hello", []error{ErrProgramNotFound}, "outside the app directory"},
		{"absolute not found", appWith(nil), "/no/such/program", []error{ErrProgramNotFound}, "system root"},
		{"directory", appWith(map[string]string{"hello/": ""}), "./hello", []error{ErrProgramNotFound}, "not a regular file"},
		{"shell script", appWith(map[string]string{"x:start.sh": "#!/bin/sh\nexec ./x\n"}), "./start.sh", []error{ErrNotELF},
			"./start.sh is not a Linux ELF executable (starts with #!/bin/sh): UniK images have no shell"},
		{"text file", appWith(map[string]string{"x:hello": "hello"}), "./hello", []error{ErrNotELF}, "no ELF header"},
		{"not executable", withELF("hello", 0o644, nil), "./hello", []error{ErrNotExecutable}, "chmod +x"},
		{"pipe", withELF("hello", 0o755, nil), "./hello | tee log", []error{ErrStartCommand, startcmd.ErrShellFeature},
			`start command uses a pipe ("|") at offset 8: the guest has no shell`},
		{"procfile redirect", withELF("hello", 0o755, map[string]string{"Procfile": "web: ./hello > log\n"}), "",
			[]error{ErrStartCommand, startcmd.ErrShellFeature}, "the Procfile web: line: start command uses a redirection"},
		{"variable program", withELF("hello", 0o755, nil), "$APP --x", []error{ErrStartCommand}, "contains a variable"},
		{"symlink outside", withELF("hello", 0o755, map[string]string{"etc": "->/etc/passwd"}), "./hello", []error{ErrAppFile},
			"app file etc is a symlink to /etc/passwd, outside the app directory"},
		{"relative symlink outside", withELF("hello", 0o755, map[string]string{"d/up": "->../../x"}), "./hello", []error{ErrAppFile},
			"outside the app directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := build(t, BuildOptions{AppDir: tt.app(t), StartCommand: tt.cmd})
			if err == nil {
				t.Fatal("Build succeeded")
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("error %q is not %v", err, w)
				}
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %q does not contain %q", err, tt.message)
			}
		})
	}
}

func TestBuildWrongArch(t *testing.T) {
	app := t.TempDir()
	fakeELF(t, filepath.Join(app, "hello"), 2, 183) // ELFCLASS64, EM_AARCH64
	_, _, err := build(t, BuildOptions{AppDir: app, StartCommand: "./hello"})
	if !errors.Is(err, ErrWrongArch) || !strings.Contains(err.Error(), "EM_AARCH64") || !strings.Contains(err.Error(), "linux/amd64") {
		t.Errorf("error = %v, want ErrWrongArch naming EM_AARCH64", err)
	}
}

func TestBuildSpecialFile(t *testing.T) {
	app := staticApp(t)
	if err := syscall.Mkfifo(filepath.Join(app, "fifo"), 0o644); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	if _, _, err := build(t, BuildOptions{AppDir: app}); !errors.Is(err, ErrAppFile) || !strings.Contains(err.Error(), "named pipe") {
		t.Errorf("error = %v, want ErrAppFile about a named pipe", err)
	}
}

func TestBuildCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var buf bytes.Buffer
	if _, err := Build(ctx, BuildOptions{AppDir: staticApp(t), InitPath: staticELF}, &buf); !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
}

func TestValidate(t *testing.T) {
	app := staticApp(t)
	file := filepath.Join(app, "Procfile")
	script := filepath.Join(t.TempDir(), "init.sh")
	writeFiles(t, filepath.Dir(script), map[string]string{"x:init.sh": "#!/bin/sh\n"})
	dynamic := cc(t, t.TempDir(), "init", "int main(void) { return 0; }\n")
	ok := BuildOptions{AppDir: app, InitPath: staticELF}
	tests := []struct {
		name  string
		edit  func(o *BuildOptions)
		field string
		also  error
	}{
		{"no AppDir", func(o *BuildOptions) { o.AppDir = "" }, "AppDir", nil},
		{"missing AppDir", func(o *BuildOptions) { o.AppDir = filepath.Join(app, "nope") }, "AppDir", fs.ErrNotExist},
		{"AppDir is a file", func(o *BuildOptions) { o.AppDir = file }, "AppDir", nil},
		{"no InitPath", func(o *BuildOptions) { o.InitPath = "" }, "InitPath", nil},
		{"missing InitPath", func(o *BuildOptions) { o.InitPath = filepath.Join(app, "nope") }, "InitPath", ErrBadInit},
		{"init not ELF", func(o *BuildOptions) { o.InitPath = script }, "InitPath", ErrNotELF},
		{"init dynamic", func(o *BuildOptions) { o.InitPath = dynamic }, "InitPath", ErrBadInit},
		{"SysRoot missing", func(o *BuildOptions) { o.SysRoot = filepath.Join(app, "nope") }, "SysRoot", nil},
		{"bad port", func(o *BuildOptions) { o.Ports = []int{8080, 70000} }, "Ports[1]", nil},
		{"duplicate port", func(o *BuildOptions) { o.Ports = []int{8080, 8080} }, "Ports[1]", nil},
		{"bad env", func(o *BuildOptions) { o.Env = map[string]string{"A-B": "x"} }, "Env", nil},
		{"bad library dir", func(o *BuildOptions) { o.LibraryDirs = []string{""} }, "LibraryDirs[0]", nil},
		{"bad epoch", func(o *BuildOptions) { o.Epoch = -1 }, "Epoch", nil},
	}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid options: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.edit(&o)
			err := o.Validate()
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || !errors.Is(err, ErrInvalidOptions) {
				t.Fatalf("error = %v, want a FieldError for %s", err, tt.field)
			}
			if tt.also != nil && !errors.Is(err, tt.also) {
				t.Errorf("error %v is not %v", err, tt.also)
			}
			if _, _, err := build(t, o); !errors.Is(err, ErrInvalidOptions) && tt.field != "InitPath" {
				t.Errorf("Build error = %v, want ErrInvalidOptions", err)
			}
		})
	}
}
