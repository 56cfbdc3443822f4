// Command hazardsync-docs writes the reference docs that are generated from
// the code: docs/config-reference.md (every config key with its type,
// default and doc comment, and every registered source type's options) and
// docs/indicators.md (recipes, their params and attributes, early-warning
// triggers, roll-ups). `make docs` runs it; `make docs-check` and this
// package's test fail when the committed docs are stale.
package main

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	_ "github.com/hazardsync/hazardsync/adapter/sinks/all"
	_ "github.com/hazardsync/hazardsync/adapter/sources/all"
)

func main() {
	root := flag.String("root", ".", "a directory inside the hazardsync module (the module root is found from it)")
	out := flag.String("out", "", "directory to write the docs to (default <module root>/docs)")
	flag.Parse()
	if err := run(*root, *out); err != nil {
		fmt.Fprintln(os.Stderr, "hazardsync-docs:", err)
		os.Exit(1)
	}
}

func run(root, out string) error {
	mod, err := findModule(root)
	if err != nil {
		return err
	}
	if out == "" {
		out = filepath.Join(mod.Root, "docs")
	}
	files, err := generate(mod)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		p := filepath.Join(out, name)
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return err
		}
		fmt.Println("wrote", p)
	}
	return nil
}

// generate renders every generated doc, by file name.
func generate(mod *module) (map[string][]byte, error) {
	cr, err := configReference(mod)
	if err != nil {
		return nil, fmt.Errorf("config reference: %w", err)
	}
	ind, err := indicatorsReference(mod)
	if err != nil {
		return nil, fmt.Errorf("indicators reference: %w", err)
	}
	return map[string][]byte{"config-reference.md": cr, "indicators.md": ind}, nil
}
