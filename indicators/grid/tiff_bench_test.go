package grid

import (
	"bytes"
	"math"
	"sync"
	"syscall"
	"testing"
)

// countryTiff is a 10,000×10,000 float32 grid laid out as the country
// benchmark's population grid (256-pixel DEFLATE tiles, float predictor,
// nodata), built once per test binary: writing it costs more than reading.
var countryTiff = sync.OnceValue(func() []byte {
	const n = 10000
	v := make([]float32, n*n)
	for r := 0; r < n; r++ {
		for c := 0; c < n; c++ {
			// Smooth with local noise, like a population surface; a sea corner.
			x := 50 + 40*math.Sin(float64(r)/700)*math.Cos(float64(c)/900) + float64((r*31+c*17)%13)*0.37
			if r+c < 900 {
				x = math.NaN()
			}
			v[r*n+c] = float32(x)
		}
	}
	nd := -99999.0
	var b bytes.Buffer
	if err := WriteTiff(&b, v, n, n, Geo{X0: 0, Y0: 10, DX: 0.001, DY: 0.001},
		WriteOptions{Tile: 256, Deflate: true, FloatPredictor: true, NoData: &nd}); err != nil {
		panic(err)
	}
	return b.Bytes()
})

// BenchmarkReadTiffCountry decodes the whole 1e8-cell grid, as a cold
// engine start does.
func BenchmarkReadTiffCountry(b *testing.B) {
	raw := countryTiff()
	b.SetBytes(int64(len(raw)))
	b.ResetTimer()
	cpu0 := processCPU()
	for b.Loop() {
		tf, err := NewTiff(bytes.NewReader(raw), int64(len(raw)))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tf.ReadAll(); err != nil {
			b.Fatal(err)
		}
	}
	// On a shared machine wall time swings with the load; CPU does not.
	b.ReportMetric((processCPU()-cpu0)/float64(b.N), "cpu-s/op")
}

func processCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
