package image

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"
)

const maxDynamicSize = 16 << 20 // sanity limit for PT_DYNAMIC and the dynamic string table

// elfObject is what the dynamic loader reads from an ELF file.
type elfObject struct {
	interp     string   // PT_INTERP
	needed     []string // DT_NEEDED
	soname     string   // DT_SONAME
	rpath      []string // DT_RPATH entries (raw)
	runpath    []string // DT_RUNPATH entries (raw)
	hasRunpath bool
}

const (
	hintProgram = "UniK images have no shell or interpreters besides what the app ships; start a compiled program directly"
	hintInit    = "InitPath must be the guest init binary (unik-init), built for linux/amd64 with CGO_ENABLED=0"
)

// openExecutable opens hostPath and checks that it is an x86-64 Linux ELF executable or PIE.
// name is how the file is shown in errors, hint what to do when it is no ELF file. The caller
// closes the file.
func openExecutable(hostPath, name, hint string) (*elf.File, *os.File, error) {
	f, err := os.Open(hostPath)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", name, err)
	}
	ef, err := checkELF(f, name, hint)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if ef.Type != elf.ET_EXEC && ef.Type != elf.ET_DYN {
		f.Close()
		return nil, nil, errorf(ErrNotELF, "%s is an ELF file of type %s, not an executable: build a Linux program", name, ef.Type)
	}
	return ef, f, nil
}

// checkELF parses the ELF header of f and checks OS ABI, class and machine.
func checkELF(f *os.File, name, hint string) (*elf.File, error) {
	head := make([]byte, 128)
	n, err := f.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	head = head[:n]
	if !bytes.HasPrefix(head, []byte(elf.ELFMAG)) {
		what := "it has no ELF header"
		if bytes.HasPrefix(head, []byte("#!")) {
			line, _, _ := strings.Cut(string(head), "\n")
			what = "starts with " + strings.TrimSpace(line)
		}
		return nil, errorf(ErrNotELF, "%s is not a Linux ELF executable (%s): %s", name, what, hint)
	}
	ef, err := elf.NewFile(f)
	if err != nil {
		return nil, &Error{Kind: ErrNotELF, Msg: fmt.Sprintf("%s has a malformed ELF header", name), Err: err}
	}
	if ef.OSABI != elf.ELFOSABI_NONE && ef.OSABI != elf.ELFOSABI_LINUX {
		return nil, errorf(ErrNotELF, "%s is an ELF file for %s, not Linux: build it for linux/amd64", name, ef.OSABI)
	}
	if ef.Class != elf.ELFCLASS64 || ef.Machine != elf.EM_X86_64 || ef.Data != elf.ELFDATA2LSB {
		return nil, errorf(ErrWrongArch, "%s is an ELF file for %s (%s); UniK runs x86-64 Linux programs: rebuild it "+
			"for linux/amd64 (Go: GOOS=linux GOARCH=amd64)", name, ef.Machine, ef.Class)
	}
	return ef, nil
}

// checkInit checks that path is a static x86-64 ELF executable.
func checkInit(path string) error {
	ef, f, err := openExecutable(path, path, hintInit)
	if err != nil {
		return &Error{Kind: ErrBadInit, Err: err}
	}
	defer f.Close()
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			return errorf(ErrBadInit, "%s is dynamically linked; the guest init must be a static binary "+
				"(build it with CGO_ENABLED=0)", path)
		}
	}
	return nil
}

// compatibleLibrary reports whether hostPath is an x86-64 ELF shared object the loader would
// accept; the loader skips other candidates.
func compatibleLibrary(hostPath string) bool {
	f, err := os.Open(hostPath)
	if err != nil {
		return false
	}
	defer f.Close()
	ef, err := checkELF(f, hostPath, "")
	return err == nil && ef.Type == elf.ET_DYN
}

// readObject reads the loader-relevant parts of an x86-64 ELF file through its program
// headers, as the loader does (section headers may be stripped).
func readObject(hostPath, name string) (*elfObject, error) {
	f, err := os.Open(hostPath)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	defer f.Close()
	ef, err := checkELF(f, name, hintProgram)
	if err != nil {
		return nil, err
	}
	obj := &elfObject{}
	var dyn *elf.Prog
	var loads []*elf.Prog
	for _, p := range ef.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			b, err := readProg(p, 4096)
			if err != nil {
				return nil, fmt.Errorf("%s: read PT_INTERP: %w", name, err)
			}
			obj.interp = strings.TrimRight(string(b), "\x00")
		case elf.PT_DYNAMIC:
			dyn = p
		case elf.PT_LOAD:
			loads = append(loads, p)
		}
	}
	if dyn == nil {
		return obj, nil
	}
	if err := readDynamic(f, dyn, loads, obj); err != nil {
		return nil, &Error{Kind: ErrNotELF, Msg: fmt.Sprintf("%s has a malformed dynamic section", name), Err: err}
	}
	return obj, nil
}

func readProg(p *elf.Prog, limit uint64) ([]byte, error) {
	if p.Filesz > limit {
		return nil, fmt.Errorf("segment of %d bytes is too large", p.Filesz)
	}
	return io.ReadAll(io.LimitReader(p.Open(), int64(p.Filesz)))
}

// readDynamic decodes the Elf64_Dyn entries of PT_DYNAMIC and their strings.
func readDynamic(f io.ReaderAt, dyn *elf.Prog, loads []*elf.Prog, obj *elfObject) error {
	data, err := readProg(dyn, maxDynamicSize)
	if err != nil {
		return err
	}
	type ref struct {
		tag elf.DynTag
		off uint64
	}
	var refs []ref
	var strtab, strsz uint64
	for i := 0; i+16 <= len(data); i += 16 {
		tag := elf.DynTag(binary.LittleEndian.Uint64(data[i:]))
		val := binary.LittleEndian.Uint64(data[i+8:])
		if tag == elf.DT_NULL {
			break
		}
		switch tag {
		case elf.DT_NEEDED, elf.DT_SONAME, elf.DT_RPATH, elf.DT_RUNPATH:
			refs = append(refs, ref{tag, val})
		case elf.DT_STRTAB:
			strtab = val
		case elf.DT_STRSZ:
			strsz = val
		}
	}
	if len(refs) == 0 {
		return nil
	}
	off, ok := fileOffset(loads, strtab, strsz)
	if !ok || strsz > maxDynamicSize {
		return fmt.Errorf("DT_STRTAB 0x%x (size %d) is not inside a loaded segment", strtab, strsz)
	}
	str := make([]byte, strsz)
	if _, err := f.ReadAt(str, int64(off)); err != nil {
		return fmt.Errorf("read dynamic string table: %w", err)
	}
	for _, r := range refs {
		if r.off >= strsz {
			return fmt.Errorf("%s string offset %d outside the string table", r.tag, r.off)
		}
		s, _, _ := strings.Cut(string(str[r.off:]), "\x00")
		switch r.tag {
		case elf.DT_NEEDED:
			obj.needed = append(obj.needed, s)
		case elf.DT_SONAME:
			obj.soname = s
		case elf.DT_RPATH:
			obj.rpath = append(obj.rpath, strings.Split(s, ":")...)
		case elf.DT_RUNPATH:
			obj.runpath = append(obj.runpath, strings.Split(s, ":")...)
			obj.hasRunpath = true
		}
	}
	return nil
}

// fileOffset maps the virtual address range [addr, addr+size) to a file offset.
func fileOffset(loads []*elf.Prog, addr, size uint64) (uint64, bool) {
	for _, p := range loads {
		if addr >= p.Vaddr && addr-p.Vaddr <= p.Filesz && size <= p.Filesz-(addr-p.Vaddr) {
			return p.Off + (addr - p.Vaddr), true
		}
	}
	return 0, false
}
