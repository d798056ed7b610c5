// Package pgcode lists PostgreSQL's SQLSTATE error codes.
package pgcode

// Code is a five-character SQLSTATE.
type Code string

// String returns the SQLSTATE itself.
func (c Code) String() string { return string(c) }

// Class returns the two-character class of the code, such as "42" for
// syntax errors and access rule violations.
func (c Code) Class() string {
	if len(c) < 2 {
		return ""
	}
	return string(c[:2])
}
