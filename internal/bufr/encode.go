package bufr

import (
	"bytes"
	"fmt"
	"math"
	"math/bits"
	"time"
)

// This file is a small BUFR edition 4 encoder for tests and fixture
// generation only (the daemon never writes BUFR). It walks the descriptors
// with the decoder's own expansion, taking values from the caller instead of
// from bits, so what it writes is laid out exactly as the decoder reads it.

// Input is one value to encode; replication factors are inputs too.
type Input struct {
	Num     float64
	Str     string
	Missing bool
}

// N is a numeric input, S a text input, Miss a missing one.
func N(v float64) Input { return Input{Num: v} }
func S(s string) Input  { return Input{Str: s} }
func Miss() Input       { return Input{Missing: true} }
func Ns(v ...float64) []Input {
	out := make([]Input, len(v))
	for i, x := range v {
		out[i] = N(x)
	}
	return out
}

// EncodeSpec describes one message to encode.
type EncodeSpec struct {
	MasterVersion int
	Centre        int
	SubCentre     int
	DataCategory  int
	Time          time.Time
	Compressed    bool
	Descriptors   []Descriptor
	// Subsets are the values of each subset in expansion order, including
	// delayed replication factors. Compressed messages need every subset to
	// expand the same way.
	Subsets [][]Input
}

// Encode writes one BUFR edition 4 message.
func Encode(spec EncodeSpec) ([]byte, error) {
	tab, err := MasterTables(spec.MasterVersion)
	if err != nil {
		return nil, err
	}
	if len(spec.Subsets) == 0 || len(spec.Subsets) > 65535 {
		return nil, fmt.Errorf("bufr encode: %d subsets", len(spec.Subsets))
	}
	enc := &encoder{in: spec.Subsets, cur: make([]int, len(spec.Subsets))}
	d := &decoder{tab: tab, lim: DefaultLimits, nsub: len(spec.Subsets), enc: enc, msg: &Message{nsub: len(spec.Subsets)}, budget: &budget{}}
	if spec.Compressed {
		enc.compressed = true
		d.cols = true
		if err := d.expand(spec.Descriptors, 0); err != nil {
			return nil, err
		}
	} else {
		for s := range spec.Subsets {
			enc.subset = s
			d.resetOperators()
			if err := d.expand(spec.Descriptors, 0); err != nil {
				return nil, fmt.Errorf("subset %d: %w", s+1, err)
			}
		}
	}
	for s, c := range enc.cur {
		if c != len(spec.Subsets[s]) {
			return nil, fmt.Errorf("bufr encode: subset %d has %d values, descriptors use %d", s+1, len(spec.Subsets[s]), c)
		}
	}
	data := enc.w.bytes()

	var m bytes.Buffer
	m.WriteString("BUFR")
	m.Write([]byte{0, 0, 0, 4}) // length patched below
	t := spec.Time.UTC()
	m.Write([]byte{0, 0, 22, 0, byte(spec.Centre >> 8), byte(spec.Centre), byte(spec.SubCentre >> 8), byte(spec.SubCentre),
		0, 0, byte(spec.DataCategory), 0, 0, byte(spec.MasterVersion), 0,
		byte(t.Year() >> 8), byte(t.Year()), byte(t.Month()), byte(t.Day()), byte(t.Hour()), byte(t.Minute()), byte(t.Second())})
	s3 := 7 + 2*len(spec.Descriptors)
	flags := byte(0)
	if spec.Compressed {
		flags = 0x40
	}
	m.Write([]byte{byte(s3 >> 16), byte(s3 >> 8), byte(s3), 0, byte(len(spec.Subsets) >> 8), byte(len(spec.Subsets)), flags})
	for _, ds := range spec.Descriptors {
		m.Write([]byte{byte(ds >> 8), byte(ds)})
	}
	s4 := 4 + len(data)
	m.Write([]byte{byte(s4 >> 16), byte(s4 >> 8), byte(s4), 0})
	m.Write(data)
	m.WriteString("7777")
	out := m.Bytes()
	if len(out) >= 1<<24 {
		return nil, fmt.Errorf("bufr encode: message of %d bytes too long", len(out))
	}
	out[4], out[5], out[6] = byte(len(out)>>16), byte(len(out)>>8), byte(len(out))
	return out, nil
}

type encoder struct {
	w          bitWriter
	in         [][]Input
	cur        []int
	subset     int
	compressed bool
}

func (enc *encoder) next(s int, e *Element) (Input, error) {
	if enc.cur[s] >= len(enc.in[s]) {
		return Input{}, fmt.Errorf("bufr encode: subset %d runs out of values at %s (%s)", s+1, e.Code, e.Key)
	}
	v := enc.in[s][enc.cur[s]]
	enc.cur[s]++
	return v, nil
}

// raw is the field value of a numeric input, ok=false if it does not fit.
func raw(e *Element, in Input) (uint64, bool) {
	scaledV := math.Round(in.Num*math.Pow10(e.Scale)) - float64(e.Reference)
	if scaledV < 0 || (e.Width < 64 && scaledV >= float64(uint64(1)<<e.Width-1)) {
		return 0, false
	}
	return uint64(scaledV), true
}

func textBytes(e *Element, s string) []byte {
	b := bytes.Repeat([]byte{' '}, e.Width/8)
	copy(b, s)
	return b
}

func (enc *encoder) element(d *decoder, e *Element) (int, error) {
	if !enc.compressed {
		in, err := enc.next(enc.subset, e)
		if err != nil {
			return 0, err
		}
		var v Value
		switch {
		case e.IsText() && in.Missing:
			enc.w.write(1<<8-1, 8, e.Width/8)
			v = Value{Elem: e, Missing: true}
		case e.IsText():
			b := textBytes(e, in.Str)
			enc.w.writeBytes(b)
			v = textValue(e, b)
		case in.Missing:
			enc.w.write(1<<e.Width-1, e.Width, 1)
			v = Value{Elem: e, Missing: true}
		default:
			r, ok := raw(e, in)
			if !ok {
				return 0, fmt.Errorf("bufr encode: %v does not fit %s (%s)", in.Num, e.Code, e.Key)
			}
			enc.w.write(r, e.Width, 1)
			v = numValue(e, r, e.Width)
		}
		d.out = append(d.out, v)
		if e.Code.X() == 31 {
			return d.factor(v)
		}
		return 0, nil
	}

	ins := make([]Input, d.nsub)
	for s := range ins {
		in, err := enc.next(s, e)
		if err != nil {
			return 0, err
		}
		ins[s] = in
	}
	if e.IsText() {
		same := true
		for _, in := range ins {
			same = same && in == ins[0]
		}
		if same {
			if ins[0].Missing {
				enc.w.write(1<<8-1, 8, e.Width/8)
			} else {
				enc.w.writeBytes(textBytes(e, ins[0].Str))
			}
			enc.w.write(0, 6, 1)
		} else {
			enc.w.write(0, 8, e.Width/8)
			enc.w.write(uint64(e.Width/8), 6, 1)
			for _, in := range ins {
				if in.Missing {
					enc.w.write(1<<8-1, 8, e.Width/8)
				} else {
					enc.w.writeBytes(textBytes(e, in.Str))
				}
			}
		}
	} else {
		raws := make([]uint64, len(ins))
		lo, hi, present := uint64(math.MaxUint64), uint64(0), 0
		for s, in := range ins {
			if in.Missing {
				continue
			}
			r, ok := raw(e, in)
			if !ok {
				return 0, fmt.Errorf("bufr encode: %v does not fit %s (%s)", in.Num, e.Code, e.Key)
			}
			raws[s] = r
			lo, hi = min(lo, r), max(hi, r)
			present++
		}
		switch {
		case present == 0:
			enc.w.write(1<<e.Width-1, e.Width, 1)
			enc.w.write(0, 6, 1)
		case present == len(ins) && lo == hi:
			enc.w.write(lo, e.Width, 1)
			enc.w.write(0, 6, 1)
		default:
			// one more than the spread, so all ones stays free for missing
			nb := bits.Len64(hi - lo + 1)
			enc.w.write(lo, e.Width, 1)
			enc.w.write(uint64(nb), 6, 1)
			for s, in := range ins {
				if in.Missing {
					enc.w.write(1<<nb-1, nb, 1)
				} else {
					enc.w.write(raws[s]-lo, nb, 1)
				}
			}
		}
	}
	if err := enc.replay(d, e, ins); err != nil {
		return 0, err
	}
	if e.Code.X() == 31 {
		return int(ins[0].Num), nil
	}
	return 0, nil
}

// replay appends the values as given (the round-trip tests check the decoder
// reads the same) and checks replication factors agree across subsets.
func (enc *encoder) replay(d *decoder, e *Element, ins []Input) error {
	for s, in := range ins {
		v := Value{Elem: e, Missing: in.Missing, Num: in.Num, Str: in.Str}
		d.put(s, v)
		if e.Code.X() == 31 && (in.Missing || in.Num != ins[0].Num) {
			return fmt.Errorf("bufr encode: compressed replication factor %s differs between subsets", e.Code)
		}
	}
	return nil
}

type bitWriter struct {
	buf  []byte
	nbit int
}

// write appends the low n bits of v, times times.
func (w *bitWriter) write(v uint64, n, times int) {
	for ; times > 0; times-- {
		for i := n - 1; i >= 0; i-- {
			if w.nbit%8 == 0 {
				w.buf = append(w.buf, 0)
			}
			if v>>uint(i)&1 == 1 {
				w.buf[len(w.buf)-1] |= 1 << (7 - w.nbit%8)
			}
			w.nbit++
		}
	}
}

func (w *bitWriter) writeBytes(b []byte) {
	for _, c := range b {
		w.write(uint64(c), 8, 1)
	}
}

func (w *bitWriter) bytes() []byte {
	// Section 4 is padded to whole octets; an even length is customary.
	if len(w.buf)%2 == 1 {
		w.buf = append(w.buf, 0)
	}
	return w.buf
}
