package testutil

import (
	"bytes"
	"sync"
)

// SyncBuffer is an io.Writer for logs written from many goroutines (a
// daemon, a scheduler) that a test reads while they run.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
