package testutil

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Golden compares got, as JSON, with the golden file at path (semantically,
// so key order and spacing do not matter). With update it first (re)writes
// the file. got may be already-encoded JSON ([]byte); anything else is
// encoded indented like the existing file (two spaces for a new one), so a
// rewrite of unchanged content leaves the file as it was.
func Golden(t testing.TB, path string, got any, update bool) {
	t.Helper()
	b, ok := got.([]byte)
	if !ok {
		var err error
		b, err = json.MarshalIndent(got, "", goldenIndent(path))
		require.NoError(t, err)
	}
	if update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, append(bytes.TrimRight(b, "\n"), '\n'), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "golden file %s missing: rerun the test with -update", path)
	assert.JSONEq(t, string(want), string(b))
}

// goldenIndent is the indentation of the file's second line ("  " when the
// file is absent or flat).
func goldenIndent(path string) string {
	old, err := os.ReadFile(path)
	if err != nil {
		return "  "
	}
	_, rest, _ := bytes.Cut(old, []byte("\n"))
	if n := len(rest) - len(bytes.TrimLeft(rest, " ")); n > 0 {
		return string(rest[:n])
	}
	return "  "
}

// AssertErrorHas checks a validation result: no error when want is nil,
// otherwise an error whose text contains every string in want.
func AssertErrorHas(t testing.TB, err error, want []string) {
	t.Helper()
	if want == nil {
		assert.NoError(t, err)
		return
	}
	require.Error(t, err)
	for _, w := range want {
		assert.Contains(t, err.Error(), w)
	}
}
