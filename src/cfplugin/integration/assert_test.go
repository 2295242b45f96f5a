package integration

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/unik-cf/unik/src/cfplugin/internal/ccstandin"
)

// want is one expected request: method, path with query, JSON body ("" for none).
type want struct {
	method, path, body string
}

// assertRequests checks that got is exactly wants, comparing JSON bodies by value.
func assertRequests(t *testing.T, got []ccstandin.Request, wants ...want) {
	t.Helper()
	ok := len(got) == len(wants)
	for i := 0; ok && i < len(wants); i++ {
		g, w := got[i], wants[i]
		ok = g.Method == w.method && strings.TrimPrefix(g.String(), g.Method+" ") == w.path && sameJSON(g.Body, w.body)
	}
	if ok {
		return
	}
	var exp strings.Builder
	for _, w := range wants {
		exp.WriteString("  " + w.method + " " + w.path + " " + w.body + "\n")
	}
	t.Fatalf("the stand-in saw:\n%swant:\n%s", dump(got), exp.String())
}

func sameJSON(got []byte, want string) bool {
	if want == "" {
		return len(bytes.TrimSpace(got)) == 0
	}
	var g, w any
	if json.Unmarshal(got, &g) != nil || json.Unmarshal([]byte(want), &w) != nil {
		return false
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	return bytes.Equal(gb, wb)
}

func assertContains(t *testing.T, what, text string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(text, s) {
			t.Errorf("%s does not contain %q:\n%s", what, s, text)
		}
	}
}

func findApp(t *testing.T, cc *ccstandin.Server, name string) ccstandin.AppState {
	t.Helper()
	a, ok := cc.App(name)
	if !ok {
		t.Fatalf("the stand-in has no app %q", name)
	}
	return a
}
