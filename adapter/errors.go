package adapter

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
)

// Class says what the runtime should do about an error.
type Class int

const (
	// Retryable: transport errors, timeouts, 5xx, 429. Try again later.
	Retryable Class = iota + 1
	// Permanent: the input or request is wrong (malformed feed, a 400 from
	// GeoSight). Retrying the same thing will not help.
	Permanent
	// Auth: credentials rejected (GeoSight 403). Nothing is marked done.
	Auth
	// Partial: part of a batch succeeded; the rest is described inside.
	Partial
	// NoNewData: nothing changed upstream (304, same version). Not a failure.
	NoNewData
)

func (c Class) String() string {
	switch c {
	case Retryable:
		return "retryable"
	case Permanent:
		return "permanent"
	case Auth:
		return "auth"
	case Partial:
		return "partial"
	case NoNewData:
		return "no-new-data"
	}
	return "unknown"
}

// Error is a classified error with the context an operator needs to find the
// problem: which source or sink, which URL, which key.
type Error struct {
	Class  Class
	Source string // source instance or sink name
	URL    string // never carries a secret: callers redact keys first
	Key    string // value key or event id, when one is concerned
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteByte('[')
	sep := ""
	if e.Source != "" {
		fmt.Fprintf(&b, "source=%s", e.Source)
		sep = " "
	}
	if e.URL != "" {
		fmt.Fprintf(&b, "%surl=%s", sep, e.URL)
		sep = " "
	}
	if e.Key != "" {
		fmt.Fprintf(&b, "%skey=%s", sep, e.Key)
		sep = " "
	}
	fmt.Fprintf(&b, "%sclass=%s]: %v", sep, e.Class, e.Err)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrNoNewData is returned (wrapped or bare) when upstream has not changed.
var ErrNoNewData = errors.New("no new data")

// Classify wraps err with a class and context. A nil err stays nil.
func Classify(class Class, source, url string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Class: class, Source: source, URL: url, Err: err}
}

// ClassOf returns the class of err: an explicit *Error's class, NoNewData for
// ErrNoNewData, Retryable for timeouts and network errors, else Permanent.
func ClassOf(err error) Class {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	if errors.Is(err, ErrNoNewData) {
		return NoNewData
	}
	// A cancelled or timed-out attempt says nothing about the value itself:
	// it must stay queued, never be dropped as rejected.
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return Retryable
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return Retryable
	}
	return Permanent
}

// IsRetryable reports whether err is worth retrying.
func IsRetryable(err error) bool { return ClassOf(err) == Retryable }
