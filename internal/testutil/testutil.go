// Package testutil holds helpers shared by tests: finding the repository
// root and the read-only real payloads in ../shared/hazard-samples.
package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// RepoRoot walks up from the working directory to the directory holding
// go.mod.
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
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// Fixture is a path under the repository's fixtures/ directory.
func Fixture(t testing.TB, parts ...string) string {
	t.Helper()
	return filepath.Join(append([]string{RepoRoot(t), "fixtures"}, parts...)...)
}

// SharedSample is a path under ../shared/hazard-samples beside the checkout.
// The test is skipped, saying so, when that directory is absent (the samples
// are not ours and are never copied into the repository).
func SharedSample(t testing.TB, parts ...string) string {
	t.Helper()
	base := filepath.Join(filepath.Dir(RepoRoot(t)), "shared", "hazard-samples")
	if _, err := os.Stat(base); err != nil {
		t.Skipf("skipping: real samples not found at %s (../shared/hazard-samples beside the checkout)", base)
	}
	p := filepath.Join(append([]string{base}, parts...)...)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("skipping: sample %s not present", p)
	}
	return p
}

// SharedSamples lists files in a ../shared/hazard-samples subdirectory
// matching a glob, skipping the test when absent.
func SharedSamples(t testing.TB, dir, glob string) []string {
	t.Helper()
	d := SharedSample(t, dir)
	m, err := filepath.Glob(filepath.Join(d, glob))
	if err != nil {
		t.Fatal(err)
	}
	if len(m) == 0 {
		t.Skipf("skipping: no %s in %s", glob, d)
	}
	return m
}
