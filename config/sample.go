package config

import _ "embed"

// Sample is the commented sample config printed by `hazardsync config
// sample`. A test checks that it validates.
//
//go:embed sample.yaml
var Sample []byte
