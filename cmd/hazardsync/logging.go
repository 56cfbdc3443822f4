package main

import (
	"log/slog"
	"strings"
)

// secondsForJSON writes durations in JSON logs as seconds under a
// `_seconds` key (slog's JSON handler would write integer nanoseconds, which
// log pipelines then show as 1.5e+09). Text logs keep Go's "1.5s".
func secondsForJSON(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() != slog.KindDuration {
		return a
	}
	key := a.Key
	if !strings.HasSuffix(key, "_seconds") {
		key += "_seconds"
	}
	return slog.Float64(key, a.Value.Duration().Seconds())
}
