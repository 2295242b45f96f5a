package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKVMCannotRunGuests(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	vmx := write("vmx", "processor\t: 0\nflags\t\t: fpu vme de pse tsc msr vmx sse2\n")
	svm := write("svm", "processor\t: 0\nflags\t\t: fpu svm lm\n")
	none := write("none", "processor\t: 0\nflags\t\t: fpu vme de pse tsc msr sse2 hypervisor\n")
	pvm := filepath.Join(dir, "kvm_pvm")
	if err := os.Mkdir(pvm, 0o755); err != nil {
		t.Fatal(err)
	}
	absent := filepath.Join(dir, "absent")
	cases := []struct {
		name string
		h    hostFacts
		want string // substring of the reason; "" = the smoke boot decides
	}{
		{"vmx", hostFacts{CPUInfo: vmx, PVMModule: absent}, ""},
		{"svm", hostFacts{CPUInfo: svm, PVMModule: absent}, ""},
		{"no flag", hostFacts{CPUInfo: none, PVMModule: absent}, "no vmx or svm"},
		{"pvm", hostFacts{CPUInfo: vmx, PVMModule: pvm}, "PVM"},
		{"unreadable cpuinfo", hostFacts{CPUInfo: absent, PVMModule: absent}, ""},
	}
	for _, tc := range cases {
		got := kvmCannotRunGuests(tc.h)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
