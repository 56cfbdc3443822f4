package project

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
)

// Outcome of Apply.
type Outcome string

// Outcomes.
const (
	Created   Outcome = "created"
	Updated   Outcome = "updated"
	Unchanged Outcome = "unchanged"
)

// Apply creates the project, or updates it in place keeping what an admin
// changed by hand; with nothing to change it sends nothing.
func Apply(ctx context.Context, e *Editor, s Spec) (Outcome, error) {
	if err := s.Validate(); err != nil {
		return "", err
	}
	exists, err := e.Exists(ctx, s.Slug)
	if err != nil {
		return "", err
	}
	if !exists {
		f, err := Build(s)
		if err != nil {
			return "", err
		}
		if err := e.Save(ctx, "", f); err != nil {
			return "", err
		}
		return Created, nil
	}
	current, err := e.Data(ctx, s.Slug)
	if err != nil {
		return "", err
	}
	f, changed, err := Update(current, s)
	if err != nil {
		return "", err
	}
	if !changed {
		return Unchanged, nil
	}
	if err := e.Save(ctx, s.Slug, f); err != nil {
		return "", err
	}
	return Updated, nil
}

// Update turns a project as the server serves it into the form that saves
// it with hazardsync's parts brought up to date, and says whether anything
// hazardsync owns differs from what is there.
func Update(served map[string]any, s Spec) (Form, bool, error) {
	before := EditorData(served)
	after := EditorData(served)
	if err := merge(after, s); err != nil {
		return Form{}, false, err
	}
	fields := s.fields()
	changed := !sameJSON(before, after)
	for _, k := range []string{"name", "description", "overview"} {
		if fmt.Sprint(served[k]) != fields[k] {
			changed = true
		}
	}
	// Keep what an admin set on the project form itself.
	for k, v := range servedFields(served) {
		fields[k] = v
	}
	return Form{Fields: fields, Data: after}, changed, nil
}

// sameJSON compares two JSON trees after a round trip (ints and floats alike).
func sameJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		return false
	}
	var x, y any
	_ = json.Unmarshal(ja, &x)
	_ = json.Unmarshal(jb, &y)
	return reflect.DeepEqual(x, y)
}
