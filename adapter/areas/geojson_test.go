package areas

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/paulmach/orb/geojson"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/internal/testutil"
)

// sameAsOrb checks that decodeFeatures gives what orb's decoder gives:
// the same error-or-not, and per feature the same type, geometry and
// properties.
func sameAsOrb(t *testing.T, doc []byte) {
	t.Helper()
	got, gotErr := decodeFeatures(doc)
	fc, wantErr := geojson.UnmarshalFeatureCollection(doc)
	if wantErr != nil {
		require.Error(t, gotErr)
		assert.Equal(t, wantErr.Error(), gotErr.Error())
		return
	}
	require.NoError(t, gotErr)
	require.Len(t, got, len(fc.Features))
	for i, want := range fc.Features {
		if want == nil {
			assert.Nil(t, got[i])
			continue
		}
		assert.Equal(t, want.Type, got[i].Type, "feature %d", i)
		assert.Equal(t, want.Geometry, got[i].Geometry, "feature %d", i)
		assert.Equal(t, want.Properties, got[i].Properties, "feature %d", i)
	}
}

// randomCollection is a FeatureCollection of polygons (some with holes),
// multipolygons, points and lines, with properties of every JSON kind, ids,
// bboxes and foreign members, in varied number notations and spacing.
func randomCollection(r *rand.Rand, n int) []byte {
	num := func() string {
		v := (r.Float64() - 0.5) * 360
		switch r.IntN(5) {
		case 0:
			return fmt.Sprintf("%.17g", v)
		case 1:
			return fmt.Sprintf("%e", v)
		case 2:
			return fmt.Sprintf("%d", int(v))
		case 3:
			return fmt.Sprintf("%.3E", v)
		}
		return fmt.Sprintf("%g", v)
	}
	sp := func() string { return []string{"", " ", "\n  ", "\t", "\r\n"}[r.IntN(5)] }
	pos := func() string {
		if r.IntN(6) == 0 {
			return "[" + num() + "," + sp() + num() + "," + num() + "]" // with a height
		}
		return "[" + sp() + num() + "," + sp() + num() + sp() + "]"
	}
	list := func(k int, el func() string) string {
		parts := make([]string, k)
		for i := range parts {
			parts[i] = el()
		}
		return "[" + sp() + strings.Join(parts, ","+sp()) + sp() + "]"
	}
	ring := func() string { return list(4+r.IntN(8), pos) }
	poly := func() string { return list(1+r.IntN(3), ring) }
	geom := func() string {
		switch r.IntN(7) {
		case 0:
			return `{"type":"MultiPolygon","coordinates":` + list(1+r.IntN(3), poly) + `}`
		case 1:
			return `{"coordinates":` + pos() + `, "type": "Point"}`
		case 2:
			return `{"type":"LineString","coordinates":` + list(2+r.IntN(4), pos) + `,"bbox":[0,0,1,1]}`
		case 3:
			return `{"type":"MultiLineString","coordinates":` + list(1+r.IntN(3), ring) + `}`
		case 4:
			return `{"type":"MultiPoint","coordinates":` + list(r.IntN(4), pos) + `}`
		case 5:
			return "null"
		}
		return `{"type":` + sp() + `"Polygon",` + sp() + `"coordinates":` + poly() + `}`
	}
	props := func() string {
		switch r.IntN(6) {
		case 0:
			return "null"
		case 1:
			return "{}"
		}
		return fmt.Sprintf(`{"ucode":"C%d","name":"Caf\u00e9 \"%d\"","admin_level":%d,"parent":null,"pop":%s,"tags":["a",{"b":[1,2]}],"ok":true}`,
			r.IntN(1000), r.IntN(9), r.IntN(3), num())
	}
	feats := make([]string, n)
	for i := range feats {
		extra := ""
		switch r.IntN(4) {
		case 0:
			extra = fmt.Sprintf(`,"id":%d`, i)
		case 1:
			extra = fmt.Sprintf(`,"id":"f%d","bbox":[%s,%s,%s,%s]`, i, num(), num(), num(), num())
		case 2:
			extra = `,"foreign":{"x":[1,"]}",{"y":"a\\\"b}"}]}`
		}
		feats[i] = `{"type":"Feature",` + sp() + `"properties":` + props() + `,"geometry":` + geom() + extra + `}`
	}
	return []byte(`{"type":"FeatureCollection","name":"x","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:OGC:1.3:CRS84"}},"features":[` +
		strings.Join(feats, ","+sp()) + "]" + sp() + "}" + sp())
}

func TestDecodeFeaturesFastPathMatchesOrb(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for i := 0; i < 200; i++ {
		doc := randomCollection(r, 1+r.IntN(6))
		_, err := fastFeatures(doc)
		require.NoError(t, err, "the common shape stays on the fast path:\n%s", doc)
		sameAsOrb(t, doc)
	}
	demo, err := os.ReadFile(testutil.Fixture(t, "demo", "areas.geojson"))
	require.NoError(t, err)
	_, err = fastFeatures(demo)
	require.NoError(t, err)
	sameAsOrb(t, demo)
}

// Documents off the fast path go to orb's decoder and give exactly what it
// gives, errors included.
func TestDecodeFeaturesSlowPathMatchesOrb(t *testing.T) {
	f := func(geom string) string {
		return `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"a":1},"geometry":` + geom + `}]}`
	}
	tests := []struct{ name, doc string }{
		{"geometry collection", f(`{"type":"GeometryCollection","geometries":[{"type":"Point","coordinates":[1,2]}]}`)},
		{"capitalised key", f(`{"type":"Point","Coordinates":[1,2]}`)},
		{"geometries beside coordinates", f(`{"type":"Point","coordinates":[1,2],"geometries":[]}`)},
		{"four numbers", f(`{"type":"Point","coordinates":[1,2,3,4]}`)},
		{"one number", f(`{"type":"Point","coordinates":[1]}`)},
		{"empty point", f(`{"type":"Point","coordinates":[]}`)},
		{"null in a position", f(`{"type":"Point","coordinates":[1,null]}`)},
		{"string in a position", f(`{"type":"Point","coordinates":[1,"2"]}`)},
		{"wrong depth", f(`{"type":"Polygon","coordinates":[[1,2],[3,4]]}`)},
		{"mixed depth", f(`{"type":"Polygon","coordinates":[[[1,2],[3,4]],[5,6]]}`)},
		{"no coordinates", f(`{"type":"Polygon"}`)},
		{"null coordinates", f(`{"type":"Polygon","coordinates":null}`)},
		{"unknown type", f(`{"type":"Circle","coordinates":[1,2]}`)},
		{"out of range", f(`{"type":"Point","coordinates":[1e400,2]}`)},
		{"bad number", f(`{"type":"Point","coordinates":[01,2]}`)},
		{"escaped key", `{"type":"FeatureCollection","fe\u0061tures":[]}`},
		{"duplicate type", f(`{"type":"Point","type":"LineString","coordinates":[[1,2],[3,4]]}`)},
		{"null feature", `{"type":"FeatureCollection","features":[null]}`},
		{"not a feature", `{"type":"FeatureCollection","features":[{"type":"Thing","geometry":null}]}`},
		{"null features", `{"type":"FeatureCollection","features":null}`},
		{"not a collection", `{"type":"Feature","features":[]}`},
		{"bad bbox", `{"type":"FeatureCollection","features":[],"bbox":["a"]}`},
		{"bad properties", `{"type":"FeatureCollection","features":[{"type":"Feature","properties":[1],"geometry":null}]}`},
		{"invalid foreign member", `{"type":"FeatureCollection","features":[],"x":[1,]}`},
		{"trailing garbage", `{"type":"FeatureCollection","features":[]} x`},
		{"truncated", `{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[1,`},
		{"not json", `hello`},
		{"empty", ``},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := fastFeatures([]byte(tc.doc))
			assert.ErrorIs(t, err, errSlow)
			sameAsOrb(t, []byte(tc.doc))
		})
	}
}

// FuzzDecodeFeatures: whatever the bytes, the result is orb's.
func FuzzDecodeFeatures(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 5; i++ {
		f.Add(randomCollection(r, 2))
	}
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":null,"geometry":{"type":"Point","coordinates":[1,2]}}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		sameAsOrb(t, doc)
	})
}

// BenchmarkDecodeFeatures: the one-pass reader against orb's decoder on
// the same admin-like file (polygons of ~300 vertices).
func BenchmarkDecodeFeatures(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"type":"FeatureCollection","features":[`)
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 500; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"type":"Feature","properties":{"ucode":"BX_%d","name":"Area %d","admin_level":2,"parent":"BX1_%d"},"geometry":{"type":"Polygon","coordinates":[[`, i, i, i/50)
		for k := 0; k <= 300; k++ {
			if k > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, "[%v,%v]", 30+r.Float64(), 10+r.Float64())
		}
		sb.WriteString(`]]}}`)
	}
	sb.WriteString(`]}`)
	doc := []byte(sb.String())
	b.Run("one-pass", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		for b.Loop() {
			if _, err := decodeFeatures(doc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("orb", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		for b.Loop() {
			if _, err := geojson.UnmarshalFeatureCollection(doc); err != nil {
				b.Fatal(err)
			}
		}
	})
}
