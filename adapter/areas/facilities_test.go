package areas

import (
	"os"
	"testing"

	"github.com/hazardsync/hazardsync/internal/testutil"
	"github.com/paulmach/orb"
	"github.com/stretchr/testify/require"
)

func TestLoadFacilities(t *testing.T) {
	csvF, err := LoadFacilities(testutil.Fixture(t, "grid", "facilities", "facilities.csv"))
	require.NoError(t, err)
	gj, err := LoadFacilities(testutil.Fixture(t, "grid", "facilities", "facilities.geojson"))
	require.NoError(t, err)
	require.Len(t, csvF, 5)
	for i := range csvF {
		require.Equal(t, csvF[i].ID, gj[i].ID)
		require.Equal(t, csvF[i].Kind, gj[i].Kind)
		require.Equal(t, csvF[i].Point, gj[i].Point)
	}
	require.Equal(t, orb.Point{61.2, 12.2}, csvF[3].Point)

	_, err = ParseFacilities([]byte("id,kind,x,y\n1,school,1,2\n"))
	require.ErrorContains(t, err, "lacks column(s) lon, lat")
	fs, err := ParseFacilities([]byte("lon,lat,kind,id\n1,2,school,a\nx,2,school,b\n1,200,school,c\n"))
	require.Len(t, fs, 1, "good rows are kept")
	require.ErrorContains(t, err, "line 3: lon/lat is not a number")
	require.ErrorContains(t, err, "line 4: lon/lat [1 200] out of range")
}

func FuzzParseFacilities(f *testing.F) {
	for _, n := range []string{"facilities.csv", "facilities.geojson"} {
		b, err := os.ReadFile(testutil.Fixture(f, "grid", "facilities", n))
		if err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, _ := ParseFacilities(b)
		for _, x := range fs {
			if x.ID == "" || x.Kind == "" || x.Point[1] < -90 || x.Point[1] > 90 {
				t.Fatalf("invalid facility accepted: %+v", x)
			}
		}
	})
}
