package adapter_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/hazardsync/hazardsync/"

// TestImportGraph: the contracts are at the bottom, the runner above them,
// the plugins in their folders: adapter imports neither the runner nor any
// plugin; plugins import neither the runner nor the daemon; the runner
// imports no plugin. (Like Telegraf's input.go/output.go apart from agent/.)
func TestImportGraph(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is needed to list the import graph")
	}
	out, err := exec.Command("go", "list", "-deps=false", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, "../...").CombinedOutput()
	require.NoError(t, err, "%s", out)
	deps := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		deps[strings.TrimPrefix(f[0], module)] = f[1:]
	}
	require.Contains(t, deps, "adapter/runner")
	isPlugin := func(p string) bool {
		return strings.HasPrefix(p, "adapter/sources/") || strings.HasPrefix(p, "adapter/sinks/")
	}
	rules := []struct {
		who    func(string) bool
		what   string
		banned func(string) bool
	}{
		{func(p string) bool { return p == "adapter" }, "the runner or a plugin",
			func(d string) bool { return d == "adapter/runner" || d == "adapter/daemon" || isPlugin(d) }},
		{func(p string) bool { return isPlugin(p) && !strings.HasSuffix(p, "/all") }, "the runner or the daemon",
			func(d string) bool { return d == "adapter/runner" || d == "adapter/daemon" }},
		{func(p string) bool { return p == "adapter/runner" }, "a plugin or the daemon",
			func(d string) bool { return d == "adapter/daemon" || isPlugin(d) }},
	}
	checked := 0
	for pkg, ds := range deps {
		for _, r := range rules {
			if !r.who(pkg) {
				continue
			}
			checked++
			for _, d := range ds {
				d = strings.TrimPrefix(d, module)
				assert.False(t, r.banned(d), "%s imports %s: it must not import %s", pkg, d, r.what)
			}
		}
	}
	assert.Greater(t, checked, 10, "the rules matched the packages")
}
