package pgerror

import (
	"testing"

	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

func TestNewfQuotesLikePostgres(t *testing.T) {
	cases := []struct {
		format string
		args   []any
		want   string
	}{
		{"invalid input syntax for type integer: %q", []any{`\N`}, `invalid input syntax for type integer: "\N"`},
		{"relation %q does not exist", []any{`a"b`}, `relation "a"b" does not exist`},
		{"%s and %v stay plain", []any{"x", "y"}, "x and y stay plain"},
		{"%q of a number", []any{42}, "'*' of a number"},
		{"width %5s|", []any{"ab"}, "width    ab|"},
	}
	for _, c := range cases {
		if got := Newf(pgcode.SyntaxError, c.format, c.args...).Message; got != c.want {
			t.Errorf("Newf(%q): %q, want %q", c.format, got, c.want)
		}
	}
	if got := New(pgcode.SyntaxError, "x").WithDetailf("key %q", "é\t").Detail; got != "key \"é\t\"" {
		t.Errorf("WithDetailf: %q", got)
	}
	// Internal errors keep Go's escapes, which show the bytes of keys.
	if got := Internal("key %q", "a\x00b").Message; got != `key "a\x00b"` {
		t.Errorf("Internal: %q", got)
	}
}
