package runner

import (
	"crypto/sha256"
	"encoding/json"
)

// hashJSON is a stable content hash of anything JSON-encodable (map keys are
// sorted by encoding/json).
func hashJSON(v any) []byte {
	b, _ := json.Marshal(v)
	h := sha256.Sum256(b)
	return h[:16]
}
