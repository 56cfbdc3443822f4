package runner

import (
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/indicators"
)

// sortByKey must order values exactly as a stable sort on Key().String()
// does, duplicates in their input order included: it replaced one in the
// hysteresis, whose output order is what gets queued.
func TestSortByKeyIsTheStableKeySort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	// Indicators that prefix each other and codes with separators in
	// them: the string order is not the field order there.
	inds := []string{"EW", "EW_LEAD", "EW|X", "AL"}
	codes := []string{"A", "A|B", "AB", "B_1", ""}
	dates := []indicators.Date{"2026-11-27", "2026-11-28"}
	for round := range 200 {
		vals := make([]indicators.Value, rng.IntN(60))
		for i := range vals {
			vals[i] = indicators.Value{Indicator: inds[rng.IntN(len(inds))], Code: codes[rng.IntN(len(codes))],
				Date: dates[rng.IntN(len(dates))], Text: strconv.Itoa(i)} // Text tells duplicates apart
		}
		want := slices.Clone(vals)
		sort.SliceStable(want, func(i, j int) bool { return want[i].Key().String() < want[j].Key().String() })
		sortByKey(vals)
		require.Equal(t, want, vals, "round %d", round)
	}
}
