package executor

import (
	"bytes"
	"testing"
)

// jsonbOrder lists jsonb values in ascending order, as PostgreSQL 15.18
// sorts them with ORDER BY, and puts the values that dense_rank() ranks
// alike in one inner slice.
var jsonbOrder = [][]string{
	{`[]`},
	{`null`},
	{`""`},
	{`"B"`},
	{`"a"`},
	{`"ab"`},
	{`"é"`},
	{`-1`},
	{`-0.5`},
	{`0`, `-0`, `0.00`, `0e5`},
	{`1.0`, `1`, `1e0`, `0.1e1`},
	{`2.50`, `2.5`},
	{`10`, `1e1`},
	{`false`},
	{`true`},
	{`[null]`},
	{`[""]`},
	{`[3]`, `[3.0]`},
	{`[false]`},
	{`[[]]`},
	{`[[1.0, 2.0]]`, `[[1, 2]]`},
	{`[{}]`},
	{`["a", "b"]`},
	{`[1, 2]`, `[1.0, 2.00]`},
	{`[1, 3]`},
	{`{}`},
	{`{"a": null}`},
	{`{"a": 1}`, `{"a": 1.0}`, `{"a": 0, "a": 1}`},
	{`{"aa": 1}`},
	{`{"b": 1}`},
	{`{"a": 1, "b": 2}`},
	{`{"b": 1, "aa": 1}`, `{"aa": 1, "b": 1.0}`},
	{`{"c": 1, "aa": 1}`},
}

func TestCompareJSONBOrder(t *testing.T) {
	type value struct {
		text  string
		group int
	}
	var values []value
	for g, group := range jsonbOrder {
		for _, text := range group {
			values = append(values, value{text, g})
		}
	}
	for _, a := range values {
		for _, b := range values {
			want := cmpInt(int64(a.group), int64(b.group))
			if got := compareJSONB(a.text, b.text); got != want {
				t.Errorf("compareJSONB(%s, %s) = %d, want %d", a.text, b.text, got, want)
			}
			if got := bytes.Compare(jsonbSortKey(a.text), jsonbSortKey(b.text)); got != want {
				t.Errorf("sort keys of %s and %s compare %d, want %d", a.text, b.text, got, want)
			}
		}
	}
}

func TestCompareTypedJSONBSortKeys(t *testing.T) {
	// A sort that replaced jsonb values by their sort keys compares them
	// as it compares the values.
	keys := []sortKey{{col: 0, typ: oidJSONB}}
	pairs := [][2]string{{`1.0`, `1`}, {`[]`, `null`}, {`{"a": 1}`, `[1, 2]`}, {`"b"`, `"a"`}}
	for _, p := range pairs {
		a, b := []any{p[0]}, []any{p[1]}
		want := compareTyped(a[0], b[0], oidJSONB)
		replaceJSONBSortKeys(a, keys)
		replaceJSONBSortKeys(b, keys)
		if got := compareTyped(a[0], b[0], oidJSONB); got != want {
			t.Errorf("sort keys of %s and %s compare %d, values compare %d", p[0], p[1], got, want)
		}
		if got := equalTyped(a[0], b[0], oidJSONB); got != (want == 0) {
			t.Errorf("equalTyped on the sort keys of %s and %s = %v, want %v", p[0], p[1], got, want == 0)
		}
	}
}

func TestJSONBKeyEncodingMatchesEqualValues(t *testing.T) {
	k1, err := encodeKeyDatum(nil, `{"a": [1, 2.50]}`, oidJSONB)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := encodeKeyDatum(nil, `{"a": [1.000, 2.5]}`, oidJSONB)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k1, k2) {
		t.Errorf("key encodings of equal jsonb values differ: %x and %x", k1, k2)
	}
	k3, err := encodeKeyDatum(nil, `{"a": [1, 2.51]}`, oidJSONB)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Compare(k1, k3) >= 0 {
		t.Errorf("key encoding of %s does not sort below %s", `{"a": [1, 2.50]}`, `{"a": [1, 2.51]}`)
	}
}

func TestJSONBScalarSortKeyMatchesDocument(t *testing.T) {
	scalars := []string{`null`, `true`, `false`, `0`, `-0`, `0e5`, `-1.50`, `1e-3`, `12345678901234567890.5`,
		`""`, `"a b"`, `"é😀"`, ` 7 `, ` "x" `}
	for _, s := range scalars {
		key, ok := jsonbScalarSortKey(s)
		if !ok {
			t.Errorf("jsonbScalarSortKey(%s) did not take the scalar path", s)
			continue
		}
		if want := jsonbDocumentSortKey(s); !bytes.Equal(key, want) {
			t.Errorf("jsonbScalarSortKey(%s) = %x, the decoded document gives %x", s, key, want)
		}
	}
	for _, s := range []string{`"a\"b"`, `"\u00e9"`, `[1]`, `{}`, ``} {
		if _, ok := jsonbScalarSortKey(s); ok {
			t.Errorf("jsonbScalarSortKey(%s) took the scalar path", s)
		}
	}
}
