package state

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzOpenDamagedFile: whatever bytes the state file holds, Open and the
// store's reads and writes return errors, never panic or fault. (The seeds
// are a healthy file and damaged variants; `make fuzz` mutates them.)
func FuzzOpenDamagedFile(f *testing.F) {
	good := healthyDBOf(f, 60)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(good[:8192])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, FileName), b, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(dir, Options{LockTimeout: 50 * time.Millisecond, NoSync: true})
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error must say what is wrong")
			}
			return
		}
		_ = useStore(s)
		_ = s.Close()
	})
}
