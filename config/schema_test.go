package config_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

type walkLeaf struct {
	Name   string        `mapstructure:"name"`
	Weight float64       `mapstructure:"weight"`
	Every  time.Duration `mapstructure:"every"`
}

type WalkBase struct {
	Shared string `mapstructure:"shared"` // squashed into the parent
}

type walkRoot struct {
	WalkBase `mapstructure:",squash"`
	URL      string               `mapstructure:"url"`
	Tags     []string             `mapstructure:"tags"`
	Levels   map[string]float64   `mapstructure:"levels"`
	Inner    walkLeaf             `mapstructure:"inner"`
	Ptr      *walkLeaf            `mapstructure:"ptr"`
	List     []walkLeaf           `mapstructure:"list"`
	Named    map[string]walkLeaf  `mapstructure:"named"`
	Severity indicators.Severity  `mapstructure:"severity"` // a text value, not a section
	When     time.Time            `mapstructure:"when"`
	Skipped  string               `mapstructure:"-"`
	hidden   string               // unexported: no key
	Default  string               // no tag: the lower-cased name
	Extra    map[string]*walkLeaf `mapstructure:"extra"`
}

type walkVisit struct {
	shape     config.Shape
	def       string
	defaulted bool
}

func walkAll(t *testing.T, v any, opts config.WalkOptions) map[string]walkVisit {
	t.Helper()
	out := map[string]walkVisit{}
	config.WalkSchema("", v, opts, func(k config.SchemaKey) bool {
		_, dup := out[k.Path]
		require.False(t, dup, "visited twice: %s", k.Path)
		out[k.Path] = walkVisit{k.Shape, config.FormatDefault(k.Value), k.Defaulted}
		return true
	})
	return out
}

func TestWalkSchemaKeysShapesDefaults(t *testing.T) {
	root := walkRoot{
		WalkBase: WalkBase{Shared: "s"}, URL: "https://x.example/a", Tags: []string{"a", "b"},
		Levels: map[string]float64{"watch": 1}, Inner: walkLeaf{Name: "in", Every: 90 * time.Minute},
		Named:    map[string]walkLeaf{"one": {Name: "first"}},
		Severity: indicators.SeverityOrange,
	}
	got := walkAll(t, root, config.WalkOptions{
		ElemDefaults: map[reflect.Type]any{reflect.TypeOf(walkLeaf{}): walkLeaf{Weight: 1}},
	})
	for _, c := range []struct {
		path      string
		shape     config.Shape
		def       string
		defaulted bool
	}{
		{"shared", config.ShapeValue, "s", true},
		{"url", config.ShapeValue, `"https://x.example/a"`, true},
		{"tags", config.ShapeValue, "[a, b]", true},
		{"levels", config.ShapeValue, "{watch: 1}", true},
		{"inner", config.ShapeSection, "{name: in, every: 1h30m}", true},
		{"inner.name", config.ShapeValue, "in", true},
		{"inner.every", config.ShapeValue, "1h30m", true},
		{"ptr", config.ShapeSection, "", true},
		{"ptr.weight", config.ShapeValue, "0", true},
		{"list", config.ShapeList, "", true},
		{"list[].weight", config.ShapeValue, "1", true}, // from ElemDefaults
		{"named", config.ShapeMap, "{one: {name: first}}", true},
		{"named.<name>.name", config.ShapeValue, "", false}, // a stand-in, not a default
		{"severity", config.ShapeValue, "orange", true},
		{"when", config.ShapeValue, "", true},
		{"default", config.ShapeValue, "", true},
		{"extra", config.ShapeMap, "", true},
		{"extra.<name>.every", config.ShapeValue, "0s", false},
	} {
		v, ok := got[c.path]
		if assert.True(t, ok, "no key %s", c.path) {
			assert.Equal(t, walkVisit{c.shape, c.def, c.defaulted}, v, c.path)
		}
	}
	for _, absent := range []string{"Skipped", "skipped", "hidden", "walkbase", "WalkBase", "named.one.name"} {
		assert.NotContains(t, got, absent)
	}
	assert.Len(t, got, 27)
}

func TestWalkSchemaEntriesAndPrefix(t *testing.T) {
	root := walkRoot{Named: map[string]walkLeaf{"b": {Name: "bee"}, "a": {Name: "ay"}}}
	var paths []string
	config.WalkSchema("sources.x.", &root, config.WalkOptions{Entries: true}, func(k config.SchemaKey) bool {
		if k.Path == "sources.x.named.a.name" {
			assert.Equal(t, []string{"sources", "x", "named", "a", "name"}, k.Keys)
			assert.Equal(t, "ay", k.Value.Interface())
			assert.True(t, k.Defaulted)
		}
		paths = append(paths, k.Path)
		return k.Shape == config.ShapeMap // into maps only
	})
	assert.Contains(t, paths, "sources.x.named.a.name")
	assert.Contains(t, paths, "sources.x.named.b.every")
	assert.NotContains(t, paths, "sources.x.named.<name>.name")
	assert.NotContains(t, paths, "sources.x.inner.name", "visit said not to descend")
	assert.Less(t, slices.Index(paths, "sources.x.named.a.name"), slices.Index(paths, "sources.x.named.b.name"), "entries in name order")
}

type withElemDefaults struct {
	Items []walkLeaf `mapstructure:"items"`
}

func (withElemDefaults) ElemDefaults() []any { return []any{walkLeaf{Name: "item", Weight: 2}} }

func TestWalkSchemaElemDefaulter(t *testing.T) {
	got := walkAll(t, withElemDefaults{}, config.WalkOptions{})
	assert.Equal(t, walkVisit{config.ShapeValue, "item", true}, got["items[].name"])
	assert.Equal(t, walkVisit{config.ShapeValue, "2", true}, got["items[].weight"])
	assert.Equal(t, walkVisit{config.ShapeValue, "0s", true}, got["items[].every"])
}

func TestMatchKeys(t *testing.T) {
	for _, c := range []struct {
		keys, path []string
		want       bool
	}{
		{[]string{"triggers", "<name>", "levels"}, []string{"triggers", "heat", "levels"}, true},
		{[]string{"triggers", "<name>"}, []string{"triggers", "heat", "levels"}, true},
		{[]string{"triggers", "<name>", "levels"}, []string{"triggers", "heat"}, false},
		{[]string{"geosight", "url"}, []string{"geosight", "user"}, false},
		{nil, []string{"anything"}, true},
	} {
		assert.Equal(t, c.want, config.MatchKeys(c.keys, c.path), "%v vs %v", c.keys, c.path)
	}
}

func TestFormatDefault(t *testing.T) {
	one := 1.5
	for _, c := range []struct {
		v    any
		want string
	}{
		{"", ""},
		{"plain", "plain"},
		{"yes", `"yes"`},
		{"12", `"12"`},
		{"a: b", `"a: b"`},
		{[]string{}, ""},
		{[]int{0, 12}, "[0, 12]"},
		{map[string]int{"b": 2, "a": 1}, "{a: 1, b: 2}"},
		{(*float64)(nil), ""},
		{&one, "1.5"},
		{10 * time.Minute, "10m"},
		{time.Time{}, ""},
		{indicators.SeverityRed, "red"},
		{true, "true"},
		{uint(7), "7"},
	} {
		assert.Equal(t, c.want, config.FormatDefault(reflect.ValueOf(c.v)), "%#v", c.v)
	}
}
