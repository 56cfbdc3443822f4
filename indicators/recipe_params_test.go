package indicators_test

import (
	"maps"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	yaml "go.yaml.in/yaml/v3"

	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

// Every recipe declares its params once (NewParams, a fresh defaulted
// struct each call) and a working example of itself.
func TestRecipesOwnTheirParamsAndExample(t *testing.T) {
	names := indicators.RecipeNames()
	require.NotEmpty(t, names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			r, ok := indicators.LookupRecipe(name)
			require.True(t, ok)
			p := reflect.ValueOf(r.NewParams())
			require.Equal(t, reflect.Pointer, p.Kind(), "NewParams returns %s, not a pointer", p.Kind())
			require.Equal(t, reflect.Struct, p.Elem().Kind())
			q := reflect.ValueOf(r.NewParams())
			assert.NotEqual(t, p.Pointer(), q.Pointer(), "NewParams must return a fresh struct each call")
			assert.Equal(t, p.Interface(), q.Interface())

			ex := r.Example()
			assert.Equal(t, name, ex.Recipe)
			require.NoError(t, ex.Validate())
			require.NoError(t, r.ValidateParams(ex.Params))
			// The example's params decode into the recipe's own type.
			require.NoError(t, indicators.DecodeParams(ex.Params, r.NewParams()))
		})
	}
}

// The defaults NewParams holds, written in a config as the reference
// shows them (config.FormatDefault through the schema walker), decode
// back to the same params; no params decode to the defaults too.
func TestRecipeParamsRoundTripTheirDefaults(t *testing.T) {
	written := 0
	for _, name := range indicators.RecipeNames() {
		t.Run(name, func(t *testing.T) {
			r, _ := indicators.LookupRecipe(name)
			params := map[string]any{}
			config.WalkSchema("", r.NewParams(), config.WalkOptions{}, func(k config.SchemaKey) bool {
				if k.Shape != config.ShapeValue {
					return k.Shape == config.ShapeSection
				}
				text := config.FormatDefault(k.Value)
				if text == "" {
					return false
				}
				var v any
				require.NoError(t, yaml.Unmarshal([]byte(text), &v), "%s: default %s", k.Path, text)
				setPath(params, k.Keys, v)
				written++
				return false
			})
			got := r.NewParams()
			require.NoError(t, indicators.DecodeParams(params, got), "%v", params)
			assert.Equal(t, r.NewParams(), got, "defaults written as %v", params)

			empty := r.NewParams()
			require.NoError(t, indicators.DecodeParams(nil, empty))
			assert.Equal(t, r.NewParams(), empty)
		})
	}
	assert.Positive(t, written, "no recipe has a default to round-trip")
}

// A misspelt param is refused through the recipe's own type.
func TestRecipeParamsRefuseUnknownKeys(t *testing.T) {
	for _, name := range indicators.RecipeNames() {
		r, _ := indicators.LookupRecipe(name)
		params := maps.Clone(r.Example().Params)
		params["no_such_param"] = 1
		err := r.ValidateParams(params)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), "no_such_param: unknown key", name)
	}
}

func setPath(m map[string]any, keys []string, v any) {
	for _, k := range keys[:len(keys)-1] {
		sub, ok := m[k].(map[string]any)
		if !ok {
			sub = map[string]any{}
			m[k] = sub
		}
		m = sub
	}
	m[keys[len(keys)-1]] = v
}
