package config_test

import (
	"os"
	"testing"

	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/internal/testutil"
)

// FuzzParse feeds config text — what an admin edits by hand while the daemon
// runs — to the loader: it must never panic, and must either accept the
// config or say why.
func FuzzParse(f *testing.F) {
	demo, err := os.ReadFile(testutil.Fixture(f, "demo", "hazardsync.yaml"))
	if err == nil {
		f.Add(demo)
	}
	f.Add(config.Sample)
	f.Add([]byte("geosight: {url: embedded}\nsources: {x: {type: testsrc, url: a}}\n"))
	f.Add([]byte("triggers: {heat: {levels: {watch: 1, warning: 0}}}\n"))
	f.Add([]byte("indicators: [{shortcode: A, params: {components: [{}]}, recipe: multi_hazard_index}]\n"))
	f.Add([]byte("geographys: {from: file}\ngeosight:\n  timeout: [30s\n"))
	f.Add([]byte("# only a comment\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := config.Parse(b, t.TempDir(), config.Overrides{})
		if err != nil && err.Error() == "" {
			t.Fatal("an error must say what is wrong")
		}
	})
}
