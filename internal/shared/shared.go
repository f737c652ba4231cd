// Package shared locates the shared/ folder that sits beside the repository
// (the public conformance corpus and the specs) for tests that use it.
package shared

import (
	"os"
	"path/filepath"
	"testing"
)

// RepoRoot returns the repository root: the directory holding go.mod,
// found by walking up from the working directory (the test is skipped when
// there is none).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("repository root (go.mod) not found above the working directory")
		}
		dir = parent
	}
}

// Path returns ../shared/<elem...> relative to the repository root. When it
// is absent the test is skipped with a message saying what is missing: CI
// and developers have it, a bare clone does not.
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{RepoRoot(t), "..", "shared"}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s is not present next to the repository: skipping", filepath.Join(append([]string{"../shared"}, elem...)...))
	}
	return p
}
