package executor

import (
	"math"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

func TestParseRelationName(t *testing.T) {
	tests := []struct {
		text string
		// want is catalog.schema.name with empty parts left out, or the
		// SQLSTATE of the expected error.
		want string
	}{
		{"s", "s"},
		{"S", "s"},
		{"  Public . S  ", "public.s"},
		{`"Mixed"`, "Mixed"},
		{`public."My Seq"`, "public.My Seq"},
		{`"a.b"`, "a.b"},
		{`"a""b"`, `a"b`},
		{`x"y"`, `x"y"`},
		{"db.public.s", "db.public.s"},
		{"Ä", "Ä"},
		{"", "42602"},
		{"a..b", "42602"},
		{"a.", "42602"},
		{"a b", "42602"},
		{`"unterminated`, "42602"},
		{`""`, "42602"},
		{"a.b.c.d", "42601"},
	}
	for _, tc := range tests {
		rv, err := parseRelationName(tc.text, -1)
		if err != nil {
			if got := string(pgerror.GetCode(err)); got != tc.want {
				t.Errorf("parseRelationName(%q): error %v, want %s", tc.text, err, tc.want)
			}
			continue
		}
		var parts []string
		for _, p := range []string{rv.Catalogname, rv.Schemaname, rv.Relname} {
			if p != "" {
				parts = append(parts, p)
			}
		}
		if got := strings.Join(parts, "."); got != tc.want {
			t.Errorf("parseRelationName(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

func typeNamed(name string) *pg_query.TypeName {
	return &pg_query.TypeName{Names: []*pg_query.Node{pg_query.MakeStrNode(name)}}
}

func TestApplySequenceOptions(t *testing.T) {
	down, ten := int64(-1), int64(10)
	tests := []struct {
		name            string
		options         sequenceOptionSet
		min, max, start int64
	}{
		{name: "ascending bigint", min: 1, max: math.MaxInt64, start: 1},
		{name: "descending bigint", options: sequenceOptionSet{increment: &down}, min: math.MinInt64, max: -1, start: -1},
		{name: "ascending smallint", options: sequenceOptionSet{as: typeNamed("int2")}, min: 1, max: math.MaxInt16, start: 1},
		{name: "descending integer", options: sequenceOptionSet{as: typeNamed("int4"), increment: &down}, min: math.MinInt32, max: -1, start: -1},
		{name: "start at maxvalue", options: sequenceOptionSet{increment: &down, maxValue: &ten}, min: math.MinInt64, max: 10, start: 10},
	}
	for _, tc := range tests {
		opts, restart, err := applySequenceOptions(&tc.options, nil, 0)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if opts.Min != tc.min || opts.Max != tc.max || opts.Start != tc.start {
			t.Errorf("%s: min %d max %d start %d, want %d %d %d", tc.name, opts.Min, opts.Max, opts.Start, tc.min, tc.max, tc.start)
		}
		if restart != nil {
			t.Errorf("%s: CREATE returned a RESTART value", tc.name)
		}
	}
}

func TestAlterSequenceOptions(t *testing.T) {
	old, _, err := applySequenceOptions(&sequenceOptionSet{as: typeNamed("int2")}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}

	// AS moves a bound that was the old type's limit to the new type's.
	widened, _, err := applySequenceOptions(&sequenceOptionSet{as: typeNamed("int4")}, &old, 5)
	if err != nil {
		t.Fatal(err)
	}
	if widened.Max != math.MaxInt32 || widened.Min != 1 {
		t.Errorf("after AS integer: min %d max %d, want 1 %d", widened.Min, widened.Max, math.MaxInt32)
	}

	// The current value must fit new bounds.
	ten := int64(10)
	_, _, err = applySequenceOptions(&sequenceOptionSet{maxValue: &ten}, &old, 50)
	if pgerror.GetCode(err) != pgcode.InvalidParameterValue || err.Error() != "RESTART value (50) cannot be greater than MAXVALUE (10)" {
		t.Errorf("MAXVALUE below the current value: err = %v", err)
	}

	// RESTART without a value goes back to the start value.
	_, restart, err := applySequenceOptions(&sequenceOptionSet{restart: true}, &old, 50)
	if err != nil || restart == nil || *restart != old.Start {
		t.Errorf("RESTART: value %v, err %v; want %d", restart, err, old.Start)
	}
}
