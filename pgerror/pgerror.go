// Package pgerror is the one error type of pgkeep: an error with a SQLSTATE
// attached where it is created, plus the optional fields of PostgreSQL's
// ErrorResponse (detail, hint, cursor position). The protocol layer turns any
// error into an ErrorResponse through Flatten.
package pgerror

import (
	"errors"
	"fmt"

	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// Severity values of an ErrorResponse.
const (
	SeverityError = "ERROR"
	SeverityFatal = "FATAL"
)

// Error is an error with a SQLSTATE.
type Error struct {
	Code     pgcode.Code
	Severity string // empty means ERROR
	Message  string
	Detail   string
	Hint     string
	// Position is the 1-based character offset into the statement text, or 0.
	Position int32
	// Where is the context of the error, such as the line of a COPY,
	// which clients show as CONTEXT.
	Where string
	// TableName, ColumnName and ConstraintName name the object that an
	// integrity error is about, as the ErrorResponse fields t, c and n.
	// Clients read them, psycopg2 as Diagnostics.constraint_name for one.
	TableName      string
	ColumnName     string
	ConstraintName string
	cause          error
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Unwrap returns the wrapped error, if any.
func (e *Error) Unwrap() error { return e.cause }

// New creates an error with code and message.
func New(code pgcode.Code, msg string) *Error {
	return &Error{Code: code, Message: msg}
}

// Newf creates an error with code and a formatted message. %q quotes a
// string the way PostgreSQL's messages do (see sprintf).
func Newf(code pgcode.Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: sprintf(format, args...)}
}

// sprintf formats like fmt.Sprintf, except that %q of a string writes it
// between double quotes with nothing escaped, as PostgreSQL's messages
// quote names and input values: invalid input syntax for type integer:
// "\N", where Go's quoting would print "\\N".
func sprintf(format string, args ...any) string {
	quoted := make([]any, len(args))
	for i, a := range args {
		if s, ok := a.(string); ok {
			quoted[i] = messageString(s)
		} else {
			quoted[i] = a
		}
	}
	return fmt.Sprintf(format, quoted...)
}

// messageString is a string argument of sprintf.
type messageString string

// Format writes %q as "s" and any other verb as for a plain string.
func (s messageString) Format(f fmt.State, verb rune) {
	if verb == 'q' && !f.Flag('#') && !f.Flag('+') {
		fmt.Fprint(f, `"`+string(s)+`"`)
		return
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), string(s))
}

// Wrapf creates an error with code whose message is the formatted text
// followed by the cause's message. errors.Is and errors.As see the cause.
func Wrapf(cause error, code pgcode.Code, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	if cause != nil {
		msg += ": " + cause.Error()
	}
	return &Error{Code: code, Message: msg, cause: cause}
}

// WithDetail sets the detail field and returns e.
func (e *Error) WithDetail(detail string) *Error {
	e.Detail = detail
	return e
}

// WithDetailf sets a formatted detail field and returns e.
func (e *Error) WithDetailf(format string, args ...any) *Error {
	e.Detail = sprintf(format, args...)
	return e
}

// WithHint sets the hint field and returns e.
func (e *Error) WithHint(hint string) *Error {
	e.Hint = hint
	return e
}

// WithPosition sets the 1-based cursor position and returns e.
func (e *Error) WithPosition(pos int32) *Error {
	e.Position = pos
	return e
}

// WithWhere sets the context field and returns e.
func (e *Error) WithWhere(where string) *Error {
	e.Where = where
	return e
}

// WithConstraint sets the table and constraint name fields and returns e.
func (e *Error) WithConstraint(table, constraint string) *Error {
	e.TableName, e.ConstraintName = table, constraint
	return e
}

// WithColumn sets the table and column name fields and returns e.
func (e *Error) WithColumn(table, column string) *Error {
	e.TableName, e.ColumnName = table, column
	return e
}

// WithSeverity sets the severity and returns e.
func (e *Error) WithSeverity(severity string) *Error {
	e.Severity = severity
	return e
}

// NotSupported creates a 0A000 error naming the unsupported feature.
func NotSupported(feature string) *Error {
	return Newf(pgcode.FeatureNotSupported, "%s is not supported", feature)
}

// Internal creates an XX000 error.
func Internal(format string, args ...any) *Error {
	// Go's quoting keeps the bytes of keys and values readable in logs.
	return &Error{Code: pgcode.InternalError, Message: fmt.Sprintf(format, args...)}
}

// GetCode returns the SQLSTATE of err, or XX000 when err carries none.
func GetCode(err error) pgcode.Code {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	return pgcode.InternalError
}

// HasCode reports whether err carries the given SQLSTATE.
func HasCode(err error, code pgcode.Code) bool {
	var pe *Error
	return errors.As(err, &pe) && pe.Code == code
}

// Flatten returns err as an *Error. The second result is false when err
// carried no SQLSTATE: such an error is a bug and becomes XX000 with the
// original message.
func Flatten(err error) (*Error, bool) {
	var pe *Error
	if errors.As(err, &pe) {
		out := *pe
		if out.Severity == "" {
			out.Severity = SeverityError
		}
		return &out, true
	}
	return &Error{Code: pgcode.InternalError, Severity: SeverityError, Message: err.Error()}, false
}
