package keys

import (
	"strings"
	"testing"

	"github.com/gdamore/tcell/v2"
)

var scopes = []Scope{Findings, FindingDetail, Exchanges, Detail, Hosts}

func TestNoKeyIsBoundTwiceInOneScope(t *testing.T) {
	for _, s := range scopes {
		seen := map[string]Action{}
		for _, b := range Bindings {
			if b.Scopes&s == 0 {
				continue
			}
			k := tcell.KeyNames[b.Key] + string(b.Rune)
			if prev, dup := seen[k]; dup {
				t.Errorf("%s: %q bound to %s and %s", ScopeName(s), k, prev, b.Action)
			}
			seen[k] = b.Action
		}
	}
}

func TestLookupHelpAndHintComeFromTheTable(t *testing.T) {
	act, ok := Lookup(tcell.NewEventKey(tcell.KeyRune, 'f', tcell.ModNone), Exchanges)
	if !ok || act != Filter {
		t.Fatalf("f in exchanges = %q, %v", act, ok)
	}
	if _, ok := Lookup(tcell.NewEventKey(tcell.KeyRune, 'f', tcell.ModNone), Findings); ok {
		t.Error("f is bound in the findings view")
	}
	if _, ok := Lookup(tcell.NewEventKey(tcell.KeyRune, 'f', tcell.ModAlt), Exchanges); ok {
		t.Error("alt-f treated as f")
	}
	if act, _ := Lookup(tcell.NewEventKey(tcell.KeyRune, 'q', tcell.ModNone), Detail); act != Back {
		t.Errorf("q = %q, want back", act)
	}
	help := strings.Join(HelpLines(Exchanges), "\n")
	for _, b := range Bindings {
		if b.Label != "" && b.Scopes&Exchanges != 0 && !strings.Contains(help, b.Label) {
			t.Errorf("exchanges help lacks %s", b.Label)
		}
	}
	if strings.Index(help, "quick filter") > strings.Index(help, "quit") {
		t.Error("view keys are not listed before global keys")
	}
	if hint := Hint(Detail); !strings.Contains(hint, "p pair") || strings.Contains(hint, "quick-filter") {
		t.Errorf("detail hint = %q", hint)
	}
}
