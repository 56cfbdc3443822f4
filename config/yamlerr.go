package config

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

var yamlLineRE = regexp.MustCompile(`^(?:While parsing config: )?yaml: (?:line \d+: )?`)

// yamlProblem says where a YAML syntax error is. The YAML parser reports
// the line where the enclosing block started, or where it gave up (an
// unclosed quote is reported at the next colon, lines later), so we look
// for the line ourselves: the first line from which every longer prefix of
// the file fails to parse. Before it, a prefix can fail only because it
// cuts a multi-line value short.
func yamlProblem(src []byte, err error) string {
	msg := yamlLineRE.ReplaceAllString(err.Error(), "")
	lines := bytes.SplitAfter(src, []byte("\n"))
	if len(lines) > 5000 {
		return "not valid YAML: " + strings.TrimPrefix(err.Error(), "While parsing config: ")
	}
	parses := func(k int) bool {
		var v any
		return yaml.Unmarshal(bytes.Join(lines[:k], nil), &v) == nil
	}
	k := len(lines)
	for k > 1 && !parses(k-1) {
		k--
	}
	text := strings.TrimRight(string(lines[k-1]), "\r\n")
	if len(text) > 80 {
		text = text[:80] + "…"
	}
	return fmt.Sprintf("not valid YAML at line %d (%s): %s", k, strings.TrimSpace(text), msg)
}
