package engine

import (
	"bytes"
	"fmt"
	"path"
	"strconv"
	"strings"
)

// initramfs is a model of how Linux 6.1 unpacks concatenated newc archives into its rootfs
// (init/initramfs.c): entries in order; clean_path removes what is at a name when its type
// differs (rmdir only works on an empty directory); a regular file with nlink >= 2 is
// hard-linked to the first earlier one of the same inode since the last TRAILER!!! (maybe_link)
// and written without O_TRUNC; files are opened with O_CREAT and follow symlinks in every
// component, the last included; directories are chowned and chmoded through symlinks; zero
// padding between archives; anything else unpacking stops at ("junk"), with what was unpacked
// so far kept, as the kernel does. It is what the tests check initrds against.
type initramfs struct {
	root  *fsNode
	links map[string]string // inode key -> first path, reset at each trailer
	err   error             // why unpacking stopped
}

type fsNode struct {
	kind     byte // 'd', 'f', 'l', 'c'
	children map[string]*fsNode
	data     []byte
	target   string
	uid      int
	mode     uint32
}

func unpack(initrd []byte) *initramfs {
	m := &initramfs{root: &fsNode{kind: 'd', children: map[string]*fsNode{}}, links: map[string]string{}}
	m.err = m.unpack(initrd)
	return m
}

func (m *initramfs) unpack(b []byte) error {
	off := 0
	for off < len(b) {
		if b[off] == 0 {
			off++
			continue
		}
		if off%4 != 0 || len(b)-off < 110 || string(b[off:off+6]) != "070701" {
			return fmt.Errorf("junk at offset %d", off)
		}
		var f [13]uint64
		for i := range f {
			v, err := strconv.ParseUint(string(b[off+6+8*i:off+14+8*i]), 16, 32)
			if err != nil {
				return fmt.Errorf("bad header at %d", off)
			}
			f[i] = v
		}
		nameEnd := off + 110 + int(f[11])
		dataStart := (nameEnd + 3) &^ 3
		dataEnd := dataStart + int(f[6])
		if nameEnd > len(b) || dataEnd > len(b) {
			return fmt.Errorf("truncated entry at %d", off)
		}
		name := strings.TrimRight(string(b[off+110:nameEnd]), "\x00")
		m.entry(name, uint32(f[1]), int(f[2]), uint32(f[4]), fmt.Sprintf("%d/%d/%d", f[0], f[9], f[1]), b[dataStart:dataEnd])
		off = (dataEnd + 3) &^ 3
	}
	return nil
}

func (m *initramfs) entry(name string, mode uint32, uid int, nlink uint32, key string, data []byte) {
	if name == "TRAILER!!!" {
		m.links = map[string]string{}
		return
	}
	kind := map[uint32]byte{0o040000: 'd', 0o100000: 'f', 0o120000: 'l', 0o020000: 'c', 0o060000: 'c', 0o010000: 'c'}[mode&0o170000]
	m.cleanPath(name, kind)
	switch kind {
	case 'f':
		linked := false
		if nlink >= 2 {
			if old, ok := m.links[key]; ok {
				m.cleanPath(name, 0)
				if !m.link(old, name) {
					return
				}
				linked = true
			} else {
				m.links[key] = name
			}
		}
		n := m.open(name)
		if n == nil {
			return
		}
		if !linked {
			n.data = nil
		}
		n.data = append(append([]byte(nil), data...), n.data[min(len(data), len(n.data)):]...)
		n.uid, n.mode = uid, mode
	case 'd':
		m.create(name, &fsNode{kind: 'd', children: map[string]*fsNode{}})
		if n := m.lookup(name, true); n != nil {
			n.uid, n.mode = uid, mode
		}
	case 'l':
		m.create(name, &fsNode{kind: 'l', target: string(data), uid: uid})
	case 'c':
		if nlink < 2 || m.links[key] == "" {
			m.create(name, &fsNode{kind: 'c', uid: uid, mode: mode})
		}
	}
}

// cleanPath is clean_path: kind 0 (a symlink or link to come) removes whatever is there.
func (m *initramfs) cleanPath(name string, kind byte) {
	dir, base, n := m.locate(name, false)
	if n == nil || n.kind == kind && kind != 0 {
		return
	}
	if n.kind == 'd' && len(n.children) > 0 {
		return // rmdir fails on a directory that is not empty
	}
	delete(dir.children, base)
}

func (m *initramfs) link(old, name string) bool {
	n := m.lookup(old, false)
	dir, base, there := m.locate(name, false)
	if n == nil || n.kind == 'd' || dir == nil || there != nil {
		return false
	}
	dir.children[base] = n
	return true
}

// open is filp_open(O_WRONLY|O_CREAT): it follows a symlink at the last component too.
func (m *initramfs) open(name string) *fsNode {
	n := m.lookup(name, true)
	if n == nil {
		dir, base, _ := m.resolve(name, true)
		if dir == nil {
			return nil
		}
		n = &fsNode{kind: 'f'}
		dir.children[base] = n
	}
	if n.kind != 'f' {
		return nil
	}
	return n
}

func (m *initramfs) create(name string, n *fsNode) {
	if dir, base, there := m.locate(name, false); dir != nil && there == nil {
		dir.children[base] = n
	}
}

func (m *initramfs) lookup(name string, follow bool) *fsNode {
	_, _, n := m.resolve(name, follow)
	return n
}

func (m *initramfs) locate(name string, follow bool) (*fsNode, string, *fsNode) {
	return m.resolve(name, follow)
}

// resolve walks name from the root as the VFS does: symlinks in the parent components are
// followed (absolute ones from the root), the last one only when follow. It returns the parent
// directory, the last component and the node there (nil when missing).
func (m *initramfs) resolve(name string, follow bool) (*fsNode, string, *fsNode) {
	stack := []*fsNode{m.root}
	rest := strings.Split(name, "/")
	for hops := 0; len(rest) > 0; {
		c := rest[0]
		rest = rest[1:]
		last := len(rest) == 0
		cur := stack[len(stack)-1]
		switch c {
		case "", ".":
			if last {
				return cur, ".", cur
			}
			continue
		case "..":
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
			if last {
				return stack[len(stack)-1], ".", stack[len(stack)-1]
			}
			continue
		}
		if cur.kind != 'd' {
			return nil, "", nil
		}
		n := cur.children[c]
		if n != nil && n.kind == 'l' && (!last || follow) {
			if hops++; hops > 40 {
				return nil, "", nil
			}
			if path.IsAbs(n.target) {
				stack = stack[:1]
			}
			rest = append(strings.Split(n.target, "/"), rest...)
			continue
		}
		if last {
			return cur, c, n
		}
		if n == nil {
			return nil, "", nil
		}
		stack = append(stack, n)
	}
	return nil, "", nil
}

// paths lists every path of the tree (without following symlinks) at which node n is.
func (m *initramfs) paths(n *fsNode) []string {
	var out []string
	var walk func(dir *fsNode, p string)
	walk = func(dir *fsNode, p string) {
		for name, c := range dir.children {
			q := path.Join(p, name)
			if c == n {
				out = append(out, q)
			}
			if c.kind == 'd' {
				walk(c, q)
			}
		}
	}
	walk(m.root, "/")
	return out
}

// bootsCellInit checks what the guest's kernel and init will find: /init (followed as execve
// does) is the cell's init, root's; /unik is a root directory; /unik/config.json is root's,
// 0600, holds the config and has no other name; no other file holds the config.
func (m *initramfs) bootsCellInit(init, config []byte) error {
	if m.err != nil {
		return fmt.Errorf("unpacking stopped (%v): the kernel keeps the rest out", m.err)
	}
	n := m.lookup("init", true)
	if n == nil || n.kind != 'f' || !bytes.Equal(n.data, init) || n.uid != 0 {
		return fmt.Errorf("/init is not the cell's init: %+v", n)
	}
	if u := m.root.children["unik"]; u == nil || u.kind != 'd' || u.uid != 0 || u.mode&0o022 != 0 {
		return fmt.Errorf("/unik is not a root-owned directory: %+v", u)
	}
	c := m.lookup("unik/config.json", false)
	if c == nil || c.kind != 'f' || !bytes.Equal(c.data, config) || c.uid != 0 || c.mode&0o777 != 0o600 {
		return fmt.Errorf("/unik/config.json is not the config, root's, 0600: %+v", c)
	}
	if p := m.paths(c); len(p) != 1 {
		return fmt.Errorf("the config has other names: %v", p)
	}
	var leak []string
	var walk func(dir *fsNode, p string)
	walk = func(dir *fsNode, p string) {
		for name, x := range dir.children {
			q := path.Join(p, name)
			if x != c && x.kind == 'f' && bytes.Contains(x.data, config) {
				leak = append(leak, q)
			}
			if x.kind == 'd' {
				walk(x, q)
			}
		}
	}
	walk(m.root, "/")
	if len(leak) > 0 {
		return fmt.Errorf("the config is also in %v", leak)
	}
	return nil
}
