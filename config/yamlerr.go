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
// for the line ourselves: the shortest prefix of the file that no longer
// parses, found by bisection. A prefix that cuts a multi-line value short
// fails too; when a somewhat longer prefix parses again, that failure was
// not the error and the search goes on after it.
func yamlProblem(src []byte, err error) string {
	msg := yamlLineRE.ReplaceAllString(err.Error(), "")
	if len(src) > 256<<10 {
		// Each probe parses up to the whole file: not for huge files.
		return "not valid YAML: " + strings.TrimPrefix(err.Error(), "While parsing config: ")
	}
	lines := bytes.SplitAfter(src, []byte("\n"))
	parses := func(k int) bool {
		var v any
		return yaml.Unmarshal(bytes.Join(lines[:k], nil), &v) == nil
	}
	// parses(lo) holds (the empty prefix), parses(hi) does not (the file).
	lo, hi := 0, len(lines)
	for rounds := 0; rounds < 100; rounds++ {
		for hi-lo > 1 {
			mid := (lo + hi) / 2
			if parses(mid) {
				lo = mid
			} else {
				hi = mid
			}
		}
		moved := false
		for _, d := range []int{1, 2, 4, 8, 16, 32, 64} {
			if j := hi + d; j < len(lines) && parses(j) {
				lo, hi, moved = j, len(lines), true
				break
			}
		}
		if !moved {
			break
		}
	}
	text := strings.TrimRight(string(lines[hi-1]), "\r\n")
	if len(text) > 80 {
		text = text[:80] + "…"
	}
	return fmt.Sprintf("not valid YAML at line %d (%s): %s", hi, strings.TrimSpace(text), msg)
}
