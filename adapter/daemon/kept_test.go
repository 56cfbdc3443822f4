package daemon_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter/daemon"
	"github.com/hazardsync/hazardsync/adapter/runner"
	"github.com/hazardsync/hazardsync/adapter/state"
)

// copyStateDir copies a state dir, leaving out the files whose names start
// with skip ("" copies all).
func copyStateDir(t *testing.T, from, skip string) string {
	t.Helper()
	to := t.TempDir()
	require.NoError(t, filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o700)
		}
		if skip != "" && strings.HasPrefix(d.Name(), skip) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o600)
	}))
	return to
}

func keptFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, state.KeptCachePrefix+"*.bin"))
	require.NoError(t, err)
	return m
}

// A `once` that is not a dry run keeps what it measured; the next process
// (a `once` from cron) measures no footprint again and computes the same
// values as one that measured everything; a dry run reads the file too.
// A damaged file is a warning and a full measure, and is replaced.
func TestOnceKeepsMeasuresForTheNextProcess(t *testing.T) {
	stateDir := t.TempDir()
	cfg := demoConfig(t, stateDir, nil)
	first, _ := once(t, cfg, nil)
	require.Positive(t, first.Overlay.Computed)
	require.Len(t, keptFiles(t, stateDir), 1, "kept after a sync that is not a dry run")

	// The same second run from two copies of the state: with and without
	// the kept file.
	withKept, without := copyStateDir(t, stateDir, ""), copyStateDir(t, stateDir, state.KeptCachePrefix)
	var logs bytes.Buffer
	restored, _ := once(t, demoConfig(t, withKept, nil), &logs)
	measured, _ := once(t, demoConfig(t, without, nil), nil)
	require.Contains(t, logs.String(), "kept measures restored")
	require.Zero(t, restored.Overlay.Computed, "no footprint measured again")
	require.Equal(t, first.Overlay.Footprints, restored.Overlay.Restored)
	require.Equal(t, measured.Overlay.Footprints, measured.Overlay.Computed)
	require.NotEmpty(t, measured.Current)
	require.Equal(t, measured.Current, restored.Current, "the same values either way")

	// Nothing new was measured: the file is not written again.
	before := hashTree(t, withKept)
	once(t, demoConfig(t, withKept, nil), nil)
	after := hashTree(t, withKept)
	for _, f := range keptFiles(t, withKept) {
		rel, _ := filepath.Rel(withKept, f)
		require.Equal(t, before[rel], after[rel])
	}

	// A dry run reads it.
	d, err := daemon.New(context.Background(), demoConfig(t, withKept, nil), daemon.Options{DryRun: true, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	dry, err := d.Once(context.Background(), runner.SyncOptions{DryRun: true})
	d.Close()
	require.NoError(t, err)
	require.Zero(t, dry.Overlay.Computed)

	// Damaged: measured again, same values, replaced by a good file.
	f := keptFiles(t, withKept)[0]
	b, err := os.ReadFile(f)
	require.NoError(t, err)
	b[len(b)/2] ^= 0xff
	require.NoError(t, os.WriteFile(f, b, 0o600))
	logs.Reset()
	damaged, _ := once(t, demoConfig(t, withKept, nil), &logs)
	require.Contains(t, logs.String(), "kept measures unusable")
	require.Equal(t, damaged.Overlay.Footprints, damaged.Overlay.Computed)
	require.Equal(t, measured.Current, damaged.Current)
	again, _ := once(t, demoConfig(t, withKept, nil), nil)
	require.Zero(t, again.Overlay.Computed, "the damaged file was replaced")
}

// keptDigest is KeptVersion and the digest of what the demo's `once`
// keeps (canonical text of every measure and result): see
// TestKeptVersionPinsTheOutput.
const keptDigest = "1 5bc28cb1dbb8a4636459b9b8fdd31476fed15a28c2918cbd8f2155d01069ef55"

// Kept measures and results are reused by later processes as long as
// KeptVersion is the same, so a change to what the overlay or the grid
// engine computes must bump it. This pins what the demo's `once` keeps: it
// fails, naming the new digest, until KeptVersion is bumped.
func TestKeptVersionPinsTheOutput(t *testing.T) {
	stateDir := t.TempDir()
	once(t, demoConfig(t, stateDir, nil), nil)
	files := keptFiles(t, stateDir)
	require.Len(t, files, 1)
	b, err := os.ReadFile(files[0])
	require.NoError(t, err)
	k, err := runner.DecodeKept(b)
	require.NoError(t, err)
	require.Positive(t, len(k.Measures))
	require.Positive(t, len(k.Results))
	h := sha256.New()
	g := func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
	for _, m := range k.Measures {
		fmt.Fprintf(h, "m %x\n", m.Key)
		for _, p := range m.Pairs {
			fmt.Fprintln(h, p.Area, g(p.Km2), g(p.Share), g(p.Population), g(p.Under18), p.KnownPopulation, p.KnownUnder18)
		}
	}
	for _, r := range k.Results {
		fmt.Fprintf(h, "r %x\n", r.Key)
		for _, x := range r.Res {
			fmt.Fprintln(h, x.Code, g(x.Fraction), g(x.AreaKm2), g(x.Population), g(x.Under18), x.KnownPopulation, x.KnownUnder18, g(x.Share), x.Method)
		}
	}
	sum := hex.EncodeToString(h.Sum(nil))
	got := strings.Fields(keptDigest)
	require.Equal(t, got[1], sum, "what the demo's once keeps changed: bump runner.KeptVersion and set keptDigest to %q", "<new version> "+sum)
	require.Equal(t, got[0], strconv.Itoa(runner.KeptVersion), "keptDigest names another version")
}

// clockTime is a time of day as map.html writes when it was generated.
var clockTime = regexp.MustCompile(`\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?Z?`)

// A start that is not a dry run spells the areas' geometry for previews
// once; a dry run's preview copies it and is the same bytes as one that
// spells it (no file, or a damaged one).
func TestPreviewUsesTheKeptAreaGeometry(t *testing.T) {
	stateDir := t.TempDir()
	cfg := demoConfig(t, stateDir, nil)
	once(t, cfg, nil)
	files, err := filepath.Glob(filepath.Join(stateDir, state.AreaGeometryCachePrefix+"*.bin"))
	require.NoError(t, err)
	require.Len(t, files, 1)

	preview := func(dir string) (map[string]string, string) {
		var logs bytes.Buffer
		d, err := daemon.New(context.Background(), demoConfig(t, dir, nil), daemon.Options{DryRun: true, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		require.NoError(t, err)
		defer d.Close()
		res, err := d.Once(context.Background(), runner.SyncOptions{DryRun: true})
		require.NoError(t, err)
		out := t.TempDir()
		written, err := d.WritePreview(out, res)
		require.NoError(t, err)
		got := map[string]string{}
		for _, f := range written {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			// map.html says when it was written.
			got[filepath.Base(f)] = clockTime.ReplaceAllString(string(b), "<time>")
		}
		return got, logs.String()
	}
	with, logs := preview(stateDir)
	require.Contains(t, logs, "area geometry from the state dir")
	without, logs := preview(copyStateDir(t, stateDir, state.AreaGeometryCachePrefix))
	require.NotContains(t, logs, "area geometry from the state dir")
	require.Len(t, with, 3)
	require.Equal(t, without, with)

	b, err := os.ReadFile(files[0])
	require.NoError(t, err)
	b[len(b)/2] ^= 1
	require.NoError(t, os.WriteFile(files[0], b, 0o600))
	damaged, logs := preview(stateDir)
	require.Contains(t, logs, "spelled area geometry unusable")
	require.Equal(t, without, damaged)
}
