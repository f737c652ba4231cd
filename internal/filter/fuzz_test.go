package filter

import (
	"reflect"
	"testing"
)

// FuzzParse checks that Parse never panics and that every expression it
// accepts compiles to SQL that SQLite runs and that selects exactly what
// the Go matcher selects on the fixture store.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"~m PUT & ~origin evil & ~cred & ~sev high", "!(~pf | ~c 4xx)", `~u "^https://[a-z]+\."`,
		"~hq Origin=null", "~h cookie ~d example.com", "~rule cors-wildcard | v1", `"a\"b" & !~c 200`, "((((~pf))))",
	} {
		f.Add(seed)
	}
	fx := newFixture(f)
	f.Fuzz(func(t *testing.T, expr string) {
		e, err := Parse(expr)
		if err != nil {
			if e != nil {
				t.Fatal("expression and error both returned")
			}
			return
		}
		got := fx.viaSQL(t, e)
		want := fx.viaGo(e)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: SQL path selects %v, Go selects %v (%s)", expr, got, want, e.Describe())
		}
	})
}
