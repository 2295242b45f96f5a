package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestJailIDsAreUniqueAndFreedWithTheirInstance(t *testing.T) {
	leases, state := t.TempDir(), t.TempDir()
	r := IDRange{First: 3000000, Count: 3}
	owner := func(n string) string {
		d := filepath.Join(state, n)
		os.Mkdir(d, 0o700)
		return d
	}
	a, b := owner("a"), owner("b")
	ida, err := leaseJailID(leases, r, a)
	if err != nil {
		t.Fatal(err)
	}
	idb, err := leaseJailID(leases, r, b)
	if err != nil || ida == idb || ida != 3000000 || idb != 3000001 {
		t.Fatalf("ids %d %d, %v", ida, idb, err)
	}
	if err := releaseJailID(leases, ida, b); err != nil { // not b's lease: kept
		t.Fatal(err)
	}
	if again, _ := leaseJailID(leases, r, owner("c")); again == ida {
		t.Fatal("an id was leased twice")
	}
	if err := releaseJailID(leases, ida, a); err != nil {
		t.Fatal(err)
	}
	if again, err := leaseJailID(leases, r, owner("d")); err != nil || again != ida {
		t.Fatalf("a released id was not reused: %d %v", again, err)
	}
	if _, err := leaseJailID(leases, r, owner("e")); err == nil || !strings.Contains(err.Error(), "leased") {
		t.Fatalf("a full range: %v", err)
	}
	os.RemoveAll(b) // an instance removed without Remove: its lease is stale, the id free
	if again, err := leaseJailID(leases, r, owner("f")); err != nil || again != idb {
		t.Fatalf("a stale lease was not reclaimed: %d %v", again, err)
	}
}

func TestConfigJail(t *testing.T) {
	if err := (Config{StateDir: "/x", Jail: "maybe"}).Validate(); err == nil {
		t.Error("jail maybe accepted")
	}
	if err := (Config{StateDir: "/x", JailIDs: IDRange{First: 0, Count: 10}}).Validate(); err == nil {
		t.Error("jail ids from 0 accepted")
	}
	if (Config{Jail: "off"}).jailed() {
		t.Error("jail off jails")
	}
	if got := (Config{Jail: "auto"}).jailed(); got != (os.Geteuid() == 0) {
		t.Errorf("jail auto as uid %d: %v", os.Geteuid(), got)
	}
	if _, err := (Config{ShimPath: "/nonexistent/unik-shim"}).shim(); err == nil || !strings.Contains(err.Error(), "scripts/setup") {
		t.Errorf("missing shim: %v", err)
	}
}
