package main

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// module is the repository being documented: where it is on disk and its
// module path, so a Go package path maps to a directory.
type module struct {
	Root string
	Path string
	pkgs map[string]*pkgSource
}

// findModule walks up from dir to the directory holding go.mod.
func findModule(dir string) (*module, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	for {
		f, err := os.Open(filepath.Join(dir, "go.mod"))
		if err == nil {
			defer f.Close()
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
					return &module{Root: dir, Path: strings.TrimSpace(rest), pkgs: map[string]*pkgSource{}}, nil
				}
			}
			return nil, fmt.Errorf("%s/go.mod has no module line", dir)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil, fmt.Errorf("no go.mod above the current directory: run from the hazardsync checkout or pass -root")
		}
		dir = parent
	}
}

// pkgSource is one package's parsed non-test source.
type pkgSource struct {
	Dir   string // relative to the module root, slash-separated
	Fset  *token.FileSet
	Files map[string]*ast.File // by base name
	Doc   *doc.Package
	// structs by type name
	structs map[string]*ast.StructType
	types   map[string]*ast.TypeSpec
}

// pkg parses the package at import path p (which must be inside the module).
func (m *module) pkg(p string) (*pkgSource, error) {
	if ps, ok := m.pkgs[p]; ok {
		return ps, nil
	}
	rel, ok := strings.CutPrefix(p, m.Path)
	if !ok {
		return nil, fmt.Errorf("package %s is outside module %s", p, m.Path)
	}
	rel = strings.TrimPrefix(rel, "/")
	dir := filepath.Join(m.Root, filepath.FromSlash(rel))
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("package %s: %w", p, err)
	}
	ps := &pkgSource{Dir: rel, Fset: token.NewFileSet(), Files: map[string]*ast.File{},
		structs: map[string]*ast.StructType{}, types: map[string]*ast.TypeSpec{}}
	var files []*ast.File
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(ps.Fset, filepath.Join(dir, n), nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		ps.Files[n] = f
		files = append(files, f)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("package %s: no Go files in %s", p, dir)
	}
	// go/doc sorts files itself; names must be stable for determinism.
	slices.SortFunc(files, func(a, b *ast.File) int {
		return strings.Compare(ps.Fset.Position(a.Pos()).Filename, ps.Fset.Position(b.Pos()).Filename)
	})
	ps.Doc, err = doc.NewFromFiles(ps.Fset, files, p, doc.PreserveAST|doc.AllDecls)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, s := range g.Specs {
				ts, ok := s.(*ast.TypeSpec)
				if !ok {
					continue
				}
				ps.types[ts.Name.Name] = ts
				if st, ok := ts.Type.(*ast.StructType); ok {
					ps.structs[ts.Name.Name] = st
				}
			}
		}
	}
	m.pkgs[p] = ps
	return ps, nil
}

// typeFile is the base name of the file declaring a named type ("" when
// the package declares none).
func (ps *pkgSource) typeFile(name string) string {
	ts := ps.types[name]
	if ts == nil {
		return ""
	}
	return filepath.Base(ps.Fset.Position(ts.Pos()).Filename)
}

// typeDoc is the doc comment of a named type, as one paragraph.
func (ps *pkgSource) typeDoc(name string) string {
	for _, t := range ps.Doc.Types {
		if t.Name == name {
			return oneLine(t.Doc)
		}
	}
	return ""
}

// fieldDocs maps a struct's Go field names to their doc comments. A field
// without its own comment inherits the comment of the field group it sits
// in (no blank line between them) when that comment names it: authors often
// describe two or three related fields in one comment.
func (ps *pkgSource) fieldDocs(structName string) map[string]string {
	st := ps.structs[structName]
	out := map[string]string{}
	if st == nil {
		return out
	}
	var groupDoc string
	prevEnd := -1
	for _, f := range st.Fields.List {
		line := ps.Fset.Position(f.Pos()).Line
		if f.Doc != nil {
			line = ps.Fset.Position(f.Doc.Pos()).Line
		}
		if line != prevEnd+1 {
			groupDoc = ""
		}
		d := ""
		switch {
		case f.Doc != nil:
			d = oneLine(f.Doc.Text())
			groupDoc = d
		case f.Comment != nil:
			d = oneLine(f.Comment.Text())
		}
		for _, n := range fieldNames(f) {
			switch {
			case d != "":
				out[n] = d
			case groupDoc != "" && mentions(groupDoc, n):
				out[n] = groupDoc
			}
		}
		prevEnd = ps.Fset.Position(f.End()).Line
	}
	return out
}

// mentions reports whether doc names the Go identifier as the subject of a
// clause ("KeyType says…", "…; Geocodes is…", "A, B, C: as in…"), not as
// an object ("…to read LevelProperty").
func mentions(doc, ident string) bool {
	for i := 0; ; {
		j := strings.Index(doc[i:], ident)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(ident)
		wordEnd := end == len(doc) || !isIdentRune(rune(doc[end]))
		before := strings.TrimRight(doc[:j], " ")
		subject := before == "" || strings.HasSuffix(before, ",") || strings.HasSuffix(before, ";") ||
			strings.HasSuffix(before, ".") || strings.HasSuffix(before, ":") ||
			strings.HasSuffix(before, " and") || strings.HasSuffix(before, " or") || strings.HasSuffix(before, "(or")
		if wordEnd && (j == 0 || !isIdentRune(rune(doc[j-1]))) && subject {
			return true
		}
		i = end
	}
}

func isIdentRune(r rune) bool {
	return r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

func fieldNames(f *ast.Field) []string {
	if len(f.Names) == 0 {
		return []string{embeddedName(f.Type)}
	}
	out := make([]string, len(f.Names))
	for i, n := range f.Names {
		out[i] = n.Name
	}
	return out
}

func embeddedName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return embeddedName(t.X)
	case *ast.Ident:
		return t.Name
	case *ast.SelectorExpr:
		return t.Sel.Name
	}
	return ""
}

// fileOverview is a file's free-standing explanatory comment: the first
// comment group after the imports that is not attached to a declaration.
// Recipe files open with one saying what the recipes compute.
func (ps *pkgSource) fileOverview(file string) string {
	f := ps.Files[file]
	if f == nil {
		return ""
	}
	attached := map[*ast.CommentGroup]bool{f.Doc: true}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GenDecl:
			attached[n.Doc] = true
		case *ast.FuncDecl:
			attached[n.Doc] = true
		case *ast.TypeSpec:
			attached[n.Doc] = true
		case *ast.ValueSpec:
			attached[n.Doc] = true
		case *ast.Field:
			attached[n.Doc], attached[n.Comment] = true, true
		}
		return true
	})
	var afterImports token.Pos
	for _, d := range f.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.IMPORT {
			afterImports = g.End()
		}
	}
	for _, cg := range f.Comments {
		if cg.Pos() < afterImports || attached[cg] {
			continue
		}
		// Only comments between declarations, not inside function bodies.
		inside := false
		for _, d := range f.Decls {
			if cg.Pos() > d.Pos() && cg.End() < d.End() {
				inside = true
				break
			}
		}
		if !inside {
			return strings.TrimSpace(cg.Text())
		}
	}
	return ""
}

// oneLine joins a comment's lines for a table cell.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
