package executor

import (
	"testing"
	"time"

	"github.com/pgkeep/pgkeep/catalog"
)

func TestCheckDefinitionForms(t *testing.T) {
	table := &catalog.TableDescriptor{Name: "t", Columns: []catalog.ColumnDescriptor{
		{ID: 1, Name: "qty", Type: plainType(oidInt4)},
		{ID: 2, Name: "price", Type: plainType(oidNumeric)},
		{ID: 3, Name: "code", Type: plainType(oidVarchar)},
		{ID: 4, Name: "Mixed", Type: plainType(oidText)},
	}}
	for _, tc := range []struct {
		expr, plain, pretty string
	}{
		{"qty > 0", "CHECK ((qty > 0))", "CHECK (qty > 0)"},
		{"price >= 0 AND qty < 10", "CHECK (((price >= (0)::numeric) AND (qty < 10)))", "CHECK (price >= 0::numeric AND qty < 10)"},
		{"code IN ('a', 'b')",
			"CHECK (((code)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[])))",
			"CHECK (code::text = ANY (ARRAY['a'::character varying, 'b'::character varying]::text[]))"},
		{`"Mixed" <> 'it''s'`, `CHECK (("Mixed" <> 'it''s'::text))`, `CHECK ("Mixed" <> 'it''s'::text)`},
		// A literal that does not convert to the other operand's type
		// leaves the model, and the stored text is printed.
		{"NULLIF('x', qty) > 0", "CHECK ((NULLIF('x', qty) > 0))", "CHECK (NULLIF('x', qty) > 0)"},
		// Outside the model: a function the model does not know.
		{"md5(code) <> ''", "CHECK ((md5(code) <> ''))", "CHECK (md5(code) <> '')"},
	} {
		c := catalog.CheckConstraint{Name: "c", Expr: tc.expr}
		if got := checkDefinition(time.UTC, table, c, false); got != tc.plain {
			t.Errorf("%s: plain form %q, want %q", tc.expr, got, tc.plain)
		}
		if got := checkDefinition(time.UTC, table, c, true); got != tc.pretty {
			t.Errorf("%s: pretty form %q, want %q", tc.expr, got, tc.pretty)
		}
	}
}
