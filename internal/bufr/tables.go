package bufr

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Descriptor is a BUFR descriptor FXXYYY packed as in section 3: F in the top
// 2 bits, X in the next 6, Y in the low 8.
type Descriptor uint16

// NewDescriptor packs f, x, y.
func NewDescriptor(f, x, y int) Descriptor {
	return Descriptor(f&3<<14 | x&63<<8 | y&255)
}

// F is 0 for an element, 1 replication, 2 operator, 3 sequence.
func (d Descriptor) F() int { return int(d >> 14) }

// X is the class (element, sequence) or the number of replicated descriptors.
func (d Descriptor) X() int { return int(d>>8) & 63 }

// Y is the entry (element, sequence), the replication count, or the operand.
func (d Descriptor) Y() int { return int(d) & 255 }

// String gives the usual six-digit FXXYYY form.
func (d Descriptor) String() string { return fmt.Sprintf("%d%02d%03d", d.F(), d.X(), d.Y()) }

// ParseDescriptor reads "FXXYYY".
func ParseDescriptor(s string) (Descriptor, error) {
	if len(s) != 6 {
		return 0, fmt.Errorf("descriptor %q: want 6 digits", s)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("descriptor %q: want 6 digits", s)
	}
	f, x, y := n/100000, n/1000%100, n%1000
	if f > 3 || x > 63 || y > 255 {
		return 0, fmt.Errorf("descriptor %q out of range", s)
	}
	return NewDescriptor(f, x, y), nil
}

// Element is a Table B entry. Width is in bits; for CCITT IA5 text it is
// 8 × the number of characters.
type Element struct {
	Code      Descriptor
	Key       string // ecCodes abbreviation, e.g. "latitude"
	Unit      string
	Scale     int
	Reference int64
	Width     int
}

// IsText reports a character element.
func (e *Element) IsText() bool { return e.Unit == "CCITT IA5" }

// isCoded is a code or flag table: operators 201/202/207 leave those alone.
func (e *Element) isCoded() bool {
	u := strings.ToUpper(e.Unit)
	return strings.Contains(u, "CODE TABLE") || strings.Contains(u, "FLAG TABLE")
}

// Tables are one version of the WMO master tables B and D.
type Tables struct {
	Version int
	b       map[Descriptor]*Element
	d       map[Descriptor][]Descriptor
}

// Element looks up a Table B descriptor.
func (t *Tables) Element(d Descriptor) (*Element, bool) {
	e, ok := t.b[d]
	return e, ok
}

// Sequence looks up a Table D descriptor.
func (t *Tables) Sequence(d Descriptor) ([]Descriptor, bool) {
	s, ok := t.d[d]
	return s, ok
}

type rawTables struct{ b, d string }

var (
	tablesMu    sync.Mutex
	tablesCache = map[int]*Tables{}
)

// Versions lists the master table versions compiled in.
func Versions() []int {
	vs := make([]int, 0, len(masterTables))
	for v := range masterTables {
		vs = append(vs, v)
	}
	sort.Ints(vs)
	return vs
}

// MasterTables returns the WMO tables for a declared master table version.
// WMO only ever adds entries to later versions, so a version we do not carry
// is read with the next newer one we have, or else the newest one; a
// descriptor missing there is reported as unknown when decoding.
func MasterTables(version int) (*Tables, error) {
	vs := Versions()
	if len(vs) == 0 {
		return nil, fmt.Errorf("bufr: no master tables compiled in")
	}
	use := vs[len(vs)-1]
	for _, v := range vs {
		if v >= version {
			use = v
			break
		}
	}
	tablesMu.Lock()
	defer tablesMu.Unlock()
	if t, ok := tablesCache[use]; ok {
		return t, nil
	}
	t, err := parseTables(use, masterTables[use])
	if err != nil {
		return nil, err
	}
	tablesCache[use] = t
	return t, nil
}

func parseTables(version int, raw rawTables) (*Tables, error) {
	t := &Tables{Version: version, b: map[Descriptor]*Element{}, d: map[Descriptor][]Descriptor{}}
	for _, line := range strings.Split(strings.TrimSpace(raw.b), "\n") {
		p := strings.Split(line, "|")
		if len(p) != 6 {
			return nil, fmt.Errorf("bufr: table B v%d: bad line %q", version, line)
		}
		code, err := ParseDescriptor(p[0])
		if err != nil {
			return nil, fmt.Errorf("bufr: table B v%d: %w", version, err)
		}
		scale, err1 := strconv.Atoi(p[3])
		ref, err2 := strconv.ParseInt(p[4], 10, 64)
		width, err3 := strconv.Atoi(p[5])
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("bufr: table B v%d: bad numbers in %q", version, line)
		}
		t.b[code] = &Element{Code: code, Key: p[1], Unit: p[2], Scale: scale, Reference: ref, Width: width}
	}
	for _, line := range strings.Split(strings.TrimSpace(raw.d), "\n") {
		name, list, ok := strings.Cut(line, "|")
		if !ok {
			return nil, fmt.Errorf("bufr: table D v%d: bad line %q", version, line)
		}
		code, err := ParseDescriptor(name)
		if err != nil {
			return nil, fmt.Errorf("bufr: table D v%d: %w", version, err)
		}
		var seq []Descriptor
		for _, f := range strings.Fields(list) {
			d, err := ParseDescriptor(f)
			if err != nil {
				return nil, fmt.Errorf("bufr: table D v%d %s: %w", version, name, err)
			}
			seq = append(seq, d)
		}
		t.d[code] = seq
	}
	return t, nil
}
