package postgis

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/indicators"
)

// perValue reports whether the database refused a statement because of the
// row it carried (SQLSTATE classes 22 data exception, 23 integrity
// constraint, 54 program limit such as an index row too large): the same
// value would be refused again, and other values are not concerned.
func perValue(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || len(pe.Code) < 2 {
		return false
	}
	switch pe.Code[:2] {
	case "22", "23", "54":
		return true
	}
	return false
}

// repeatedKey reports PostgreSQL's refusal of one INSERT … ON CONFLICT that
// would update the same row twice (a key twice in one batch).
func repeatedKey(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "21000"
}

// classOf maps an error that concerns the whole sink: credentials refused
// are Auth; the server shutting down, out of resources, a serialisation
// failure or any transport error (upserts are idempotent, so retrying after
// an unknown outcome is safe) are Retryable; other refusals by the server
// (missing privilege, missing database) are Permanent until someone acts.
func classOf(err error) adapter.Class {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return adapter.Retryable
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return adapter.Retryable
	}
	if len(pe.Code) < 2 {
		return adapter.Permanent
	}
	switch pe.Code[:2] {
	case "28":
		return adapter.Auth
	case "08", "40", "53", "57", "58":
		return adapter.Retryable
	}
	return adapter.Permanent
}

// classify wraps a sink-wide error with its class, what was being done and
// where, the password removed from the text.
func (s *Sink) classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var ae *adapter.Error
	if errors.As(err, &ae) {
		return err // already classified (and redacted) below us
	}
	return adapter.Classify(classOf(err), SinkName, s.where, redacted{fmt.Errorf("%s: %w", op, err), s.hide})
}

// reject is the permanent per-value error: the database's own words, the
// constraint it names, and the SQLSTATE.
func (s *Sink) reject(v indicators.Value, err error) error {
	msg := err.Error()
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		msg = pe.Message
		if pe.ConstraintName != "" {
			msg += " (constraint " + pe.ConstraintName + ")"
		}
		msg += " [SQLSTATE " + pe.Code + "]"
	}
	return &adapter.Error{Class: adapter.Permanent, Source: SinkName, URL: s.where, Key: v.Key().String(),
		Err: redacted{errors.New("refused by the database: " + msg), s.hide}}
}

// redacted hides the password in an error's text wherever a driver or the
// server might have echoed it.
type redacted struct {
	err  error
	hide []string
}

func (r redacted) Error() string {
	s := r.err.Error()
	for _, h := range r.hide {
		if h != "" {
			s = strings.ReplaceAll(s, h, "xxxxx")
		}
	}
	return s
}

func (r redacted) Unwrap() error { return r.err }
