package project_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter/geosight/project"
)

// Layers with a dynamic style need their palette on the server; the
// early-warning levels (fixed rules) and String layers without a palette
// need none.
func TestPaletteWarnings(t *testing.T) {
	cases := []struct {
		name     string
		palettes map[int][]string // added to the fake
		want     []string         // substrings of the one warning; nil: none
	}{
		{name: "no palettes (a template deployment)", want: []string{"no colour palette 1", "Children at risk, cyclone",
			"Children exposed", "Multi-hazard index", "Alert level", "load_default_data"}},
		{name: "another palette only", palettes: map[int][]string{3: {"#edf8fb", "#005824"}},
			want: []string{"no colour palette 1"}},
		{name: "GeoSight's default palette", palettes: map[int][]string{1: {"#53a2cc", "#E8A331"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			for id, colors := range c.palettes {
				w.fake.AddPalette(id, "palette", colors...)
			}
			ctx := context.Background()
			e := w.editor(t, "creator", "creator-pass")
			pals, err := e.Palettes(ctx)
			require.NoError(t, err)
			assert.Len(t, pals, len(c.palettes))
			warns := project.PaletteWarnings(w.spec(t), pals)
			if c.want == nil {
				assert.Empty(t, warns)
				return
			}
			require.Len(t, warns, 1)
			for _, s := range c.want {
				assert.Contains(t, warns[0], s)
			}
			assert.NotContains(t, warns[0], "Cyclone early-warning level", "levels are coloured by fixed rules")
		})
	}
}
