package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hazardsync/hazardsync/indicators"
)

// Problem is one validation failure at a key path.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// Problems collects every problem of a config; as an error it lists them
// one per line.
type Problems []Problem

// Add records a problem.
func (ps *Problems) Add(path, format string, args ...any) {
	*ps = append(*ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// AddErr records each error inside err (a join of FieldErrors) under path.
func (ps *Problems) AddErr(path string, err error) {
	for _, e := range indicators.Flatten(err) {
		var fe indicators.FieldError
		if errors.As(e, &fe) {
			p := path
			if fe.Field != "" {
				if p != "" {
					p += "."
				}
				p += fe.Field
			}
			*ps = append(*ps, Problem{Path: p, Message: fe.Message})
			continue
		}
		*ps = append(*ps, Problem{Path: path, Message: e.Error()})
	}
}

// Err returns nil when there are no problems, else a *ValidationError.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	sorted := append(Problems(nil), ps...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	return &ValidationError{Problems: sorted}
}

// ValidationError is an invalid config: every problem, with its key path.
type ValidationError struct {
	File     string
	Problems Problems
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	where := "config"
	if e.File != "" {
		where = e.File
	}
	fmt.Fprintf(&b, "%s: %d problem(s):", where, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p.String())
	}
	return b.String()
}
