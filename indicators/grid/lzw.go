package grid

import "errors"

// lzwDecode decodes TIFF's LZW variant (MSB-first codes, "early change": the
// code width grows one code sooner than in GIF/compress/lzw) into dst. It
// stops at the end-of-information code or when dst is full.
func lzwDecode(src, dst []byte) error {
	const clearCode, eoiCode = 256, 257
	var (
		prefix [4096]uint16
		suffix [4096]byte
		first  [4096]byte
		length [4096]uint16
	)
	for i := 0; i < 256; i++ {
		suffix[i], first[i], length[i] = byte(i), byte(i), 1
	}
	var bitBuf uint32
	var bitCnt uint
	pos, out := 0, 0
	width := uint(9)
	next := 258
	prev := -1
	stack := make([]byte, 4096)
	for out < len(dst) {
		for bitCnt < width {
			if pos >= len(src) {
				if out < len(dst) {
					return errors.New("data ends before the block is full")
				}
				return nil
			}
			bitBuf = bitBuf<<8 | uint32(src[pos])
			pos++
			bitCnt += 8
		}
		code := int(bitBuf>>(bitCnt-width)) & (1<<width - 1)
		bitCnt -= width
		switch {
		case code == clearCode:
			width, next, prev = 9, 258, -1
			continue
		case code == eoiCode:
			if out < len(dst) {
				return errors.New("end-of-information before the block is full")
			}
			return nil
		}
		var n int
		switch {
		case prev == -1:
			if code > 255 {
				return errors.New("first code after clear is not a literal")
			}
			dst[out] = byte(code)
			out++
			prev = code
			continue
		case code < next:
			n = int(length[code])
		case code == next:
			n = int(length[prev]) + 1
		default:
			return errors.New("invalid code")
		}
		// Expand code (or prev+first(prev) for the KwKwK case) backwards.
		var c int
		if code < next {
			c = code
			for i := n - 1; i >= 0; i-- {
				stack[i] = suffix[c]
				c = int(prefix[c])
			}
		} else {
			c = prev
			for i := n - 2; i >= 0; i-- {
				stack[i] = suffix[c]
				c = int(prefix[c])
			}
			stack[n-1] = first[prev]
		}
		if next < 4096 {
			prefix[next] = uint16(prev)
			suffix[next] = stack[0]
			first[next] = first[prev]
			length[next] = length[prev] + 1
			next++
		}
		out += copy(dst[out:], stack[:n])
		prev = code
		if next+1 >= 1<<width && width < 12 {
			width++
		}
	}
	return nil
}
