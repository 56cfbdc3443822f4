package indicators

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Date is a civil day, "YYYY-MM-DD": GeoSight keeps values per day.
type Date string

// DateOf is the civil day of t in loc (UTC when loc is nil).
func DateOf(t time.Time, loc *time.Location) Date {
	if loc == nil {
		loc = time.UTC
	}
	return Date(t.In(loc).Format(time.DateOnly))
}

// Valid reports whether d is a real YYYY-MM-DD day.
func (d Date) Valid() bool {
	_, err := time.Parse(time.DateOnly, string(d))
	return err == nil
}

// ValueType is GeoSight's indicator type.
type ValueType string

const (
	Integer ValueType = "Integer"
	Float   ValueType = "Float"
	String  ValueType = "String"
)

// Value is one indicator value for one area and day: exactly what one
// GeoSight data-browser POST carries.
type Value struct {
	Indicator  string    `json:"indicator"` // shortcode
	Code       string    `json:"code"`      // ucode
	AdminLevel int       `json:"admin_level"`
	Date       Date      `json:"date"`
	Type       ValueType `json:"type"`
	Number     float64   `json:"number,omitempty"` // Integer and Float
	Text       string    `json:"text,omitempty"`   // String
	// Attributes carry provenance (event ids and versions, phase, lead time,
	// method). They must be deterministic for the same inputs so that an
	// unchanged value is recognised as unchanged.
	Attributes map[string]any `json:"attributes,omitempty"`
}

// Key is the GeoSight upsert key: indicator, date, ucode.
type Key struct {
	Indicator string `json:"indicator"`
	Date      Date   `json:"date"`
	Code      string `json:"code"`
}

func (k Key) String() string { return k.Indicator + "|" + string(k.Date) + "|" + k.Code }

// Key returns the value's upsert key.
func (v Value) Key() Key { return Key{Indicator: v.Indicator, Date: v.Date, Code: v.Code} }

// Payload is the value as GeoSight receives it: a number, or a string for
// String indicators.
func (v Value) Payload() any {
	switch v.Type {
	case String:
		return v.Text
	case Integer:
		return math.Round(v.Number)
	default:
		return v.Number
	}
}

// Same reports whether delivering v would change nothing over prev: same
// payload and same attributes.
func (v Value) Same(prev Value) bool {
	if v.Key() != prev.Key() || v.Type != prev.Type || v.AdminLevel != prev.AdminLevel {
		return false
	}
	if v.Payload() != prev.Payload() {
		return false
	}
	return sameAttributes(v.Attributes, prev.Attributes)
}

// sameAttributes reports whether a and b are the same JSON. Marshalling
// both was nearly all of a country-scale sync where nothing changed
// (~35,000 values compared with what was delivered, ~0.4 s), so attribute
// sets that are plainly equal (the same keys, each value an equal string,
// bool or number, a number read back from JSON against the integer it was)
// are recognised without it; anything else is marshalled and compared.
func sameAttributes(a, b map[string]any) bool {
	if len(a) == len(b) && (a == nil) == (b == nil) {
		equal := true
		for k, x := range a {
			y, ok := b[k]
			if !ok || !sameJSONScalar(x, y) {
				equal = false
				break
			}
		}
		if equal {
			return true
		}
	}
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// sameJSONScalar reports x and y that surely marshal to the same JSON; a
// false says only "not surely".
func sameJSONScalar(x, y any) bool {
	switch x := x.(type) {
	case string:
		y, ok := y.(string)
		return ok && x == y
	case bool:
		y, ok := y.(bool)
		return ok && x == y
	case float64:
		switch y := y.(type) {
		case float64:
			return sameFloatJSON(x, y)
		case int:
			return sameIntFloatJSON(y, x)
		}
	case int:
		switch y := y.(type) {
		case int:
			return x == y
		case float64:
			return sameIntFloatJSON(x, y)
		}
	}
	return false
}

// sameFloatJSON: equal bits print the same (-0 and 0 do not; NaN and the
// infinities do not marshal at all).
func sameFloatJSON(x, y float64) bool {
	return math.Float64bits(x) == math.Float64bits(y) && !math.IsNaN(x) && !math.IsInf(x, 0)
}

// sameIntFloatJSON: an integer and a float of the same integral value print
// alike below 2^53 (a float prints without exponent below 1e21).
func sameIntFloatJSON(i int, f float64) bool {
	return i > -1<<53 && i < 1<<53 && sameFloatJSON(float64(i), f)
}

// Zero is the "nothing here any more" value for v's key: 0 for numbers,
// "none" for strings.
func (v Value) Zero() Value {
	z := Value{Indicator: v.Indicator, Code: v.Code, AdminLevel: v.AdminLevel, Date: v.Date, Type: v.Type,
		Attributes: map[string]any{"cleared": true}}
	if v.Type == String {
		z.Text = "none"
	}
	return z
}

// IsZero reports whether v says "nothing here": 0 or "none".
func (v Value) IsZero() bool {
	if v.Type == String {
		return v.Text == "" || v.Text == "none"
	}
	return v.Number == 0
}

func (v Value) String() string {
	return fmt.Sprintf("%s=%v", v.Key(), v.Payload())
}
