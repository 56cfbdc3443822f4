package config

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watch calls onChange (debounced) whenever the content of the config file
// changes. It watches directories, not the file, and compares content
// hashes, not names, because the file's name rarely sees the change:
//   - editors and config-management tools write a new file and rename it
//     over the old one;
//   - a Kubernetes ConfigMap volume is `hazardsync.yaml -> ..data/hazardsync.yaml`
//     and kubelet updates it by swapping the `..data` symlink, so every event
//     names `..data` or a timestamped directory, never the file;
//   - a config symlinked from elsewhere changes in the target's directory
//     (watched too).
//
// Editors fire several events per save, hence the debounce; a save that
// leaves the content as it was (touch, chmod, a rewrite of the same bytes)
// is not a change. SIGHUP reloads regardless.
func Watch(ctx context.Context, path string, debounce time.Duration, onChange func()) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		w.Close()
		return err
	}
	if err := w.Add(filepath.Dir(abs)); err != nil {
		w.Close()
		return err
	}
	watched := map[string]bool{filepath.Dir(abs): true}
	// followTarget adds the directory the config really lives in when it is
	// a symlink to somewhere else (best effort: the kubelet's timestamped
	// directories come and go, and their swap shows in abs's directory).
	followTarget := func() {
		real, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return
		}
		if dir := filepath.Dir(real); !watched[dir] && w.Add(dir) == nil {
			watched[dir] = true
		}
	}
	followTarget()
	last := contentHash(abs)
	go func() {
		defer w.Close()
		var timer *time.Timer
		fire := make(chan struct{}, 1)
		for {
			select {
			case <-ctx.Done():
				if timer != nil {
					timer.Stop()
				}
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if ev.Op == fsnotify.Chmod {
					continue
				}
				if timer != nil {
					timer.Stop()
				}
				timer = time.AfterFunc(debounce, func() {
					select {
					case fire <- struct{}{}:
					default:
					}
				})
			case <-fire:
				followTarget()
				if h := contentHash(abs); h != last {
					last = h
					onChange()
				}
			case <-w.Errors:
				// A lost event is recovered by the next one; SIGHUP also reloads.
			}
		}
	}()
	return nil
}

// contentHash is the file's SHA-256, following symlinks; an unreadable or
// missing file hashes to "" (a reload then reports why).
func contentHash(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return string(sum[:])
}
