package testutil

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGoldenKeepsTheFilesIndentation(t *testing.T) {
	dir := t.TempDir()
	fresh := filepath.Join(dir, "sub", "fresh.json")
	Golden(t, fresh, map[string]int{"a": 1}, true)
	b, err := os.ReadFile(fresh)
	require.NoError(t, err)
	assert.Equal(t, "{\n  \"a\": 1\n}\n", string(b))

	one := filepath.Join(dir, "one.json")
	require.NoError(t, os.WriteFile(one, []byte("{\n \"a\": 0\n}\n"), 0o644))
	Golden(t, one, map[string]int{"a": 2}, true)
	b, err = os.ReadFile(one)
	require.NoError(t, err)
	assert.Equal(t, "{\n \"a\": 2\n}\n", string(b))

	Golden(t, one, []byte(`{"a":2}`), false) // encoded JSON compares semantically
}
