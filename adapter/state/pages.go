package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// pageWalker checks the page structure of a bbolt file by reading the file
// (never the memory map), so that every offset is checked before use. bbolt
// itself trusts the offsets in its pages; once this walk found them all
// inside their pages, bbolt's own Check and the store's reads can follow
// them without faulting. Layout: go.etcd.io/bbolt internal/common (page
// header 16 bytes: id, flags, count, overflow; elements 16 bytes each).
type pageWalker struct {
	f        io.ReaderAt
	size     int64
	pageSize int64
	hwm      uint64 // pages below this are in use or free
	seen     map[uint64]bool
	problems []string
}

const (
	pageHeader  = 16
	elemSize    = 16
	branchFlag  = 0x01
	leafFlag    = 0x02
	freeFlag    = 0x10
	bucketFlag  = 0x01
	metaMagic   = 0xED0CDAED
	metaVersion = 2
	maxDepth    = 64
)

var le = binary.LittleEndian

func (w *pageWalker) fail(format string, args ...any) {
	if len(w.problems) < maxCheckErrors {
		w.problems = append(w.problems, fmt.Sprintf(format, args...))
	}
}

// page reads page id with its overflow pages.
func (w *pageWalker) page(id uint64) ([]byte, error) {
	if id < 2 || id >= w.hwm {
		return nil, fmt.Errorf("page %d: out of bounds (the file has %d pages in use)", id, w.hwm)
	}
	off := int64(id) * w.pageSize
	if off+pageHeader > w.size {
		return nil, fmt.Errorf("page %d: beyond the end of the file", id)
	}
	var h [pageHeader]byte
	if _, err := w.f.ReadAt(h[:], off); err != nil {
		return nil, fmt.Errorf("page %d: %w", id, err)
	}
	if got := le.Uint64(h[0:8]); got != id {
		return nil, fmt.Errorf("page %d: header says it is page %d", id, got)
	}
	overflow := uint64(le.Uint32(h[12:16]))
	if id+overflow >= w.hwm || off+int64(overflow+1)*w.pageSize > w.size {
		return nil, fmt.Errorf("page %d: its %d overflow pages run past the end of the file", id, overflow)
	}
	buf := make([]byte, int64(overflow+1)*w.pageSize)
	if _, err := w.f.ReadAt(buf, off); err != nil {
		return nil, fmt.Errorf("page %d: %w", id, err)
	}
	return buf, nil
}

// tree checks the b+tree rooted at page id.
func (w *pageWalker) tree(id uint64, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("page %d: tree deeper than %d levels (a cycle)", id, maxDepth)
	}
	if w.seen[id] {
		return fmt.Errorf("page %d: referenced twice", id)
	}
	w.seen[id] = true
	p, err := w.page(id)
	if err != nil {
		return err
	}
	return w.nodes(p, id, depth)
}

// nodes checks the elements of one page (p may be an inline bucket's page).
func (w *pageWalker) nodes(p []byte, id uint64, depth int) error {
	if len(p) < pageHeader {
		return fmt.Errorf("page %d: shorter than its header", id)
	}
	flags, count := le.Uint16(p[8:10]), int(le.Uint16(p[10:12]))
	if pageHeader+count*elemSize > len(p) {
		return fmt.Errorf("page %d: %d elements do not fit in the page", id, count)
	}
	for i := range count {
		e := p[pageHeader+i*elemSize:]
		at := pageHeader + i*elemSize
		switch flags {
		case branchFlag:
			pos, ksize, child := int(le.Uint32(e[0:4])), int(le.Uint32(e[4:8])), le.Uint64(e[8:16])
			if at+pos+ksize > len(p) {
				return fmt.Errorf("page %d: key %d points outside the page", id, i)
			}
			if err := w.tree(child, depth+1); err != nil {
				return err
			}
		case leafFlag:
			eflags, pos, ksize, vsize := le.Uint32(e[0:4]), int(le.Uint32(e[4:8])), int(le.Uint32(e[8:12])), int(le.Uint32(e[12:16]))
			end := at + pos + ksize + vsize
			if pos < 0 || end > len(p) || end < at {
				return fmt.Errorf("page %d: record %d points outside the page", id, i)
			}
			if eflags&bucketFlag == 0 {
				continue
			}
			v := p[at+pos+ksize : end]
			if len(v) < 16 {
				return fmt.Errorf("page %d: bucket record %d is too short", id, i)
			}
			if root := le.Uint64(v[0:8]); root != 0 {
				if err := w.tree(root, depth+1); err != nil {
					return err
				}
			} else if err := w.nodes(v[16:], id, depth+1); err != nil {
				return fmt.Errorf("inline bucket in %w", err)
			}
		default:
			return fmt.Errorf("page %d: expected a branch or leaf page, found type %#x", id, flags)
		}
	}
	return nil
}

// freelist checks the free page list: every id in use range, none twice.
func (w *pageWalker) freelist(id uint64) error {
	const none = ^uint64(0)
	if id == none {
		return nil
	}
	w.seen[id] = true
	p, err := w.page(id)
	if err != nil {
		return fmt.Errorf("freelist: %w", err)
	}
	if flags := le.Uint16(p[8:10]); flags != freeFlag {
		return fmt.Errorf("freelist: page %d has type %#x", id, flags)
	}
	count, start := uint64(le.Uint16(p[10:12])), pageHeader
	if count == 0xFFFF {
		count, start = le.Uint64(p[pageHeader:pageHeader+8]), pageHeader+8
	}
	if count > uint64(len(p)-start)/8 {
		return fmt.Errorf("freelist: %d ids do not fit in page %d", count, id)
	}
	free := map[uint64]bool{}
	for i := range count {
		fid := le.Uint64(p[start+int(i)*8:])
		if fid < 2 || fid >= w.hwm {
			return fmt.Errorf("freelist: free page %d out of bounds", fid)
		}
		if free[fid] {
			return fmt.Errorf("freelist: page %d freed twice", fid)
		}
		free[fid] = true
	}
	return nil
}

// readMeta returns the newest valid meta page's root, freelist, page count
// and page size, as bbolt picks it.
func readMeta(f io.ReaderAt, size int64) (root, freelist, hwm uint64, pageSize int64, err error) {
	var best uint64
	found := false
	for _, off := range []int64{0, -1} {
		var buf [pageHeader + 64]byte
		if off < 0 {
			// The second meta page sits one page in; the first one's page size
			// says where (bbolt falls back to the OS page size too).
			if pageSize == 0 {
				pageSize = int64(os.Getpagesize())
			}
			off = pageSize
		}
		if off+int64(len(buf)) > size {
			continue
		}
		if _, rerr := f.ReadAt(buf[:], off); rerr != nil {
			continue
		}
		m := buf[pageHeader:]
		h := fnv.New64a()
		_, _ = h.Write(m[:56])
		if le.Uint32(m[0:4]) != metaMagic || le.Uint32(m[4:8]) != metaVersion || le.Uint64(m[56:64]) != h.Sum64() {
			continue
		}
		if txid := le.Uint64(m[48:56]); !found || txid > best {
			found, best = true, txid
			pageSize = int64(le.Uint32(m[8:12]))
			root, freelist, hwm = le.Uint64(m[16:24]), le.Uint64(m[32:40]), le.Uint64(m[40:48])
		}
	}
	if !found {
		return 0, 0, 0, 0, errors.New("neither meta page is valid")
	}
	return root, freelist, hwm, pageSize, nil
}

// walkPages checks the whole page structure of the file at path.
func walkPages(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return []string{err.Error()}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return []string{err.Error()}
	}
	root, freelist, hwm, pageSize, err := readMeta(f, fi.Size())
	if err != nil {
		return []string{err.Error()}
	}
	if pageSize < 512 || pageSize > 1<<20 {
		return []string{fmt.Sprintf("implausible page size %d", pageSize)}
	}
	if fi.Size() < int64(hwm)*pageSize {
		return []string{fmt.Sprintf("the file is %d bytes but its pages reach byte %d: it was cut short", fi.Size(), int64(hwm)*pageSize)}
	}
	w := &pageWalker{f: f, size: fi.Size(), pageSize: pageSize, hwm: hwm, seen: map[uint64]bool{}}
	if err := w.freelist(freelist); err != nil {
		w.fail("%v", err)
	}
	if err := w.tree(root, 0); err != nil {
		w.fail("%v", err)
	}
	return w.problems
}
