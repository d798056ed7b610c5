package executor

import (
	"bytes"
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgkeep/pgkeep/kv"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// mustParseArray parses an array literal of type oid or fails the test.
func mustParseArray(t *testing.T, text string, oid uint32) []any {
	t.Helper()
	a, err := parseArray(text, plainType(oid), time.UTC)
	if err != nil {
		t.Fatalf("parsing %s as %s: %v", text, typeName(oid), err)
	}
	return a
}

func TestArrayValueEncodingRoundTrip(t *testing.T) {
	cases := []struct {
		oid  uint32
		text string
	}{
		{oidInt4Array, `{1,-2,NULL,2147483647}`},
		{oidInt8Array, `{{1,2,3},{4,NULL,6}}`},
		{oidTextArray, `{"","a b","q\"uote",NULL,"NULL",é}`},
		{oidBoolArray, `{t,f,NULL}`},
		{1022, `{0.5,-Infinity,NaN,1e+300}`},
		{1231, `{1.50,0.000,-12345678901234567890.5,NaN}`},
		{1182, `{2024-02-29,1999-12-31}`},
		{1185, `{"2024-01-02 03:04:05.123456+00"}`},
		{1187, `{"1 mon","30 days","-1 days +02:00:00"}`},
		{2951, `{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}`},
		{3807, `{"{\"a\": [1, 2]}",NULL}`},
		{1001, `{"\\x00ff"}`},
		{oidInt4Array, `{}`},
		{oidInt4Array, `{{{{{{1}}}}}}`},
	}
	for _, c := range cases {
		a := mustParseArray(t, c.text, c.oid)
		buf, err := encodeValueDatum([]byte("prefix"), a, c.oid)
		if err != nil {
			t.Fatalf("encoding %s: %v", c.text, err)
		}
		got, rest, err := decodeValueDatum(buf[len("prefix"):], c.oid)
		if err != nil {
			t.Fatalf("decoding %s: %v", c.text, err)
		}
		if len(rest) != 0 {
			t.Errorf("decoding %s left %d bytes", c.text, len(rest))
		}
		if out := formatArray(got.([]any), arrayElem(c.oid), time.UTC); out != c.text {
			t.Errorf("round trip of %s as %s gave %s", c.text, typeName(c.oid), out)
		}
	}
}

// TestArrayValueSkippable checks that a row holding an array of a
// dropped column can skip over it with the generic kv decoder.
func TestArrayValueSkippable(t *testing.T) {
	a := mustParseArray(t, `{{1,NULL},{3,4}}`, oidInt4Array)
	buf, err := encodeValueDatum(nil, a, oidInt4Array)
	if err != nil {
		t.Fatal(err)
	}
	buf = append(buf, 0x42)
	rest, err := kv.SkipValue(buf)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rest, []byte{0x42}) {
		t.Errorf("skipping an array left %q, want the next byte", rest)
	}
}

func TestArrayValueRejectsCorruptInput(t *testing.T) {
	a := mustParseArray(t, `{1,2,3}`, oidInt4Array)
	good, err := encodeValueDatum(nil, a, oidInt4Array)
	if err != nil {
		t.Fatal(err)
	}
	body, _, err := kv.DecodeBytes(good)
	if err != nil {
		t.Fatal(err)
	}
	corrupt := map[string][]byte{
		"unknown version":       append([]byte{9}, body[1:]...),
		"missing element":       body[:len(body)-9],
		"extra bytes":           append(append([]byte(nil), body...), 0),
		"too many dimensions":   {arrayValueVersion, 7},
		"huge dimension":        {arrayValueVersion, 1, 0xff, 0xff, 0x03},
		"zero-length dimension": {arrayValueVersion, 1, 0},
	}
	for name, b := range corrupt {
		_, _, err := decodeArrayValue(kv.EncodeBytes(nil, b), oidInt4Array)
		if err == nil {
			t.Errorf("%s: decoding succeeded", name)
		}
	}
}

// TestArrayKeyEncodingOrder checks that the key encoding sorts arrays as
// compareArrays does, which is PostgreSQL's order.
func TestArrayKeyEncodingOrder(t *testing.T) {
	texts := []string{
		`{}`, `{1}`, `{1,2}`, `{1,2,3}`, `{1,NULL}`, `{NULL}`, `{NULL,NULL}`, `{2}`, `{-5,9}`,
		`{{1,2}}`, `{{1,2},{3,4}}`, `{{1},{2}}`, `{1,2,3,4}`, `{{1,2,3}}`, `{0,100}`,
	}
	arrays := make([][]any, len(texts))
	keys := map[string]string{}
	for i, text := range texts {
		arrays[i] = mustParseArray(t, text, oidInt4Array)
		key, err := encodeKeyDatum(nil, arrays[i], oidInt4Array)
		if err != nil {
			t.Fatal(err)
		}
		keys[text] = string(key)
	}
	byCompare := append([]string(nil), texts...)
	sort.SliceStable(byCompare, func(i, j int) bool {
		return compareArrays(mustParseArray(t, byCompare[i], oidInt4Array), mustParseArray(t, byCompare[j], oidInt4Array), oidInt4) < 0
	})
	byKey := append([]string(nil), texts...)
	sort.SliceStable(byKey, func(i, j int) bool { return keys[byKey[i]] < keys[byKey[j]] })
	if strings.Join(byCompare, " ") != strings.Join(byKey, " ") {
		t.Errorf("key order differs from compareArrays:\n keys:    %v\n compare: %v", byKey, byCompare)
	}
	for i := 1; i < len(byCompare); i++ {
		if keys[byCompare[i-1]] == keys[byCompare[i]] {
			t.Errorf("%s and %s have the same key", byCompare[i-1], byCompare[i])
		}
	}
}

// TestParseArrayErrors checks malformed literals against PostgreSQL 15's
// messages and details.
func TestParseArrayErrors(t *testing.T) {
	cases := []struct {
		text, code, detail string
	}{
		{`{1,2`, "22P02", `Unexpected end of input.`},
		{`{{1,2},{3}}`, "22P02", `Multidimensional arrays must have sub-arrays with matching dimensions.`},
		{`1,2`, "22P02", `Array value must start with "{" or dimension information.`},
		{``, "22P02", `Array value must start with "{" or dimension information.`},
		{`{1,2}x`, "22P02", `Junk after closing right brace.`},
		{`{1,{2}}`, "22P02", `Unexpected "{" character.`},
		{`{{1},2}`, "22P02", `Unexpected array element.`},
		{`{1"a"}`, "22P02", `Unexpected array element.`},
		{`{"a"b}`, "22P02", `Unexpected array element.`},
		{`{{}}`, "22P02", `Unexpected "}" character.`},
		{`{a,,b}`, "22P02", `Unexpected "," character.`},
		{`{,}`, "22P02", `Unexpected "," character.`},
		{`{"a`, "22P02", `Unexpected end of input.`},
		{`{a\`, "22P02", `Unexpected end of input.`},
		{`{{1} {2}}`, "22P02", `Unexpected "{" character.`},
		{`[1:3]={1,2}`, "22P02", `Specified array dimensions do not match array contents.`},
		{`[1:2={1,2}`, "22P02", `Missing "]" after array dimensions.`},
		{`[1:2]{1,2}`, "22P02", `Missing "=" after array dimensions.`},
		{`[a:b]={1}`, "22P02", `"[" must introduce explicitly-specified array dimensions.`},
		{`[3:1]={1}`, "2202E", ``},
		{`{{{{{{{1}}}}}}}`, "54000", ``},
		{`{1 2}`, "22P02", ``},
		{`[0:1]={1,2}`, "0A000", ``},
	}
	for _, c := range cases {
		_, err := parseArray(c.text, plainType(oidInt4Array), time.UTC)
		pe, ok := pgerror.Flatten(err)
		if !ok {
			t.Errorf("%q: err = %v, want SQLSTATE %s", c.text, err, c.code)
			continue
		}
		if string(pe.Code) != c.code || pe.Detail != c.detail {
			t.Errorf("%q: got %s %q (detail %q), want %s with detail %q", c.text, pe.Code, pe.Message, pe.Detail, c.code, c.detail)
		}
		if c.code == "22P02" && c.detail != "" && pe.Message != `malformed array literal: "`+c.text+`"` {
			t.Errorf("%q: message %q", c.text, pe.Message)
		}
	}
}

func TestParseArrayElements(t *testing.T) {
	a := mustParseArray(t, ` { "a\"b" , c\,d ,  e  f , NULL, "NULL", \NULL, x\  } `, oidTextArray)
	want := []any{`a"b`, `c,d`, `e  f`, nil, `NULL`, `NULL`, `x `}
	if len(a) != len(want) {
		t.Fatalf("got %q, want %q", a, want)
	}
	for i := range want {
		if a[i] != want[i] {
			t.Errorf("element %d = %#v, want %#v", i+1, a[i], want[i])
		}
	}
}

func TestFormatArrayQuoting(t *testing.T) {
	a := []any{"", "a b", "NULL", "null", nil, `q"`, `b\s`, "{x}", "a,b", "tab\t", "plain", "é"}
	want := `{"","a b","NULL","null",NULL,"q\"","b\\s","{x}","a,b","tab` + "\t" + `",plain,é}`
	if got := formatArray(a, oidText, nil); got != want {
		t.Errorf("formatArray = %s, want %s", got, want)
	}
	stamp := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	loc := time.FixedZone("", 2*3600)
	if got := formatArray([]any{stamp, true}, oidTimestamptz, loc); got != `{"2024-01-02 05:04:05+02",t}` {
		t.Errorf("timestamptz in +02 = %s", got)
	}
}

// TestWireArrayBinaryEncoding checks the binary form pgtype writes for a
// result array: header, dimensions and elements.
func TestWireArrayBinaryEncoding(t *testing.T) {
	m := pgtype.NewMap()
	a := mustParseArray(t, `{{1,NULL},{3,4}}`, oidInt4Array)
	buf, err := m.Encode(oidInt4Array, pgtype.BinaryFormatCode, newWireArray(a, oidInt4, time.UTC), nil)
	if err != nil {
		t.Fatal(err)
	}
	var decoded pgtype.Array[pgtype.Int4]
	if err := m.Scan(oidInt4Array, pgtype.BinaryFormatCode, buf, &decoded); err != nil {
		t.Fatal(err)
	}
	if len(decoded.Dims) != 2 || decoded.Dims[0].Length != 2 || decoded.Dims[1].Length != 2 {
		t.Fatalf("dimensions = %v, want 2x2", decoded.Dims)
	}
	want := []pgtype.Int4{{Int32: 1, Valid: true}, {}, {Int32: 3, Valid: true}, {Int32: 4, Valid: true}}
	for i := range want {
		if decoded.Elements[i] != want[i] {
			t.Errorf("element %d = %v, want %v", i, decoded.Elements[i], want[i])
		}
	}
	empty, err := m.Encode(oidInt4Array, pgtype.TextFormatCode, newWireArray([]any{}, oidInt4, time.UTC), nil)
	if err != nil || string(empty) != "{}" {
		t.Errorf("empty array text = %q, %v", empty, err)
	}
}

func TestCopyArrayColumns(t *testing.T) {
	s := newTestSession(t, newTestServer(t), "root")
	run(t, s, "CREATE TABLE src (id int PRIMARY KEY, xs int[], names text[], nums numeric[], grid int[])")
	run(t, s, "CREATE TABLE dst (id int PRIMARY KEY, xs int[], names text[], nums numeric[], grid int[])")
	if err := copyIn(s, "COPY src FROM STDIN", "1\t{1,NULL}\t{\"a b\",c}\t{1.50}\t{{1,2},{3,4}}\n2\t{}\t\\N\t\\N\t\\N\n"); err != nil {
		t.Fatalf("COPY FROM text: %v", err)
	}
	text := copyOut(t, s, "COPY src TO STDOUT")
	if want := "1\t{1,NULL}\t{\"a b\",c}\t{1.50}\t{{1,2},{3,4}}\n2\t{}\t\\N\t\\N\t\\N\n"; text != want {
		t.Errorf("COPY TO text = %q, want %q", text, want)
	}

	sink := &copySink{}
	if err := s.ExecSimple(context.Background(), "COPY src TO STDOUT (FORMAT binary)", sink); err != nil {
		t.Fatal(err)
	}
	if err := copyIn(s, "COPY dst FROM STDIN (FORMAT binary)", sink.out.String()); err != nil {
		t.Fatalf("COPY FROM binary: %v", err)
	}
	if got := copyOut(t, s, "COPY dst TO STDOUT"); got != text {
		t.Errorf("binary round trip gave %q, want %q", got, text)
	}

	err := copyIn(s, "COPY dst FROM STDIN", "3\t{1,2\t\\N\t\\N\t\\N\n")
	if err == nil || err.Code != pgcode.InvalidTextRepresentation || err.Detail != "Unexpected end of input." {
		t.Errorf("malformed array in COPY: got %v", err)
	}
}

// TestSetFunctionPlacement checks the places where a set-returning
// function fails instead of running: PostgreSQL's errors first, then the
// places PostgreSQL allows but pgkeep does not support yet.
func TestSetFunctionPlacement(t *testing.T) {
	s := newTestSession(t, newTestServer(t), "root")
	run(t, s, "CREATE TABLE t (id int PRIMARY KEY, xs int[])")
	cases := []struct {
		sql, code, message string
	}{
		{"SELECT id FROM t WHERE unnest(xs) = 1", "0A000", "set-returning functions are not allowed in WHERE"},
		{"SELECT id FROM t GROUP BY id HAVING unnest(ARRAY[id]) = 1", "0A000", "set-returning functions are not allowed in HAVING"},
		{"SELECT count(unnest(xs)) FROM t", "0A000", "aggregate function calls cannot contain set-returning function calls"},
		{"SELECT unnest(xs) OVER () FROM t", "42809", "OVER specified, but unnest is not a window function nor an aggregate function"},
		{"SELECT unnest(5)", "42883", "function unnest(integer) does not exist"},
		{"SELECT unnest('{1}')", "42725", "function unnest(unknown) is not unique"},
		{"SELECT id FROM t ORDER BY unnest(xs)", "0A000", "set-returning functions in ORDER BY is not supported"},
		{"SELECT unnest(xs), count(*) FROM t GROUP BY 1", "0A000", "set-returning functions in GROUP BY is not supported"},
		{"SELECT row_number() OVER (ORDER BY unnest(xs)) FROM t", "0A000", "set-returning functions in window functions is not supported"},
		{"SELECT unnest(unnest(ARRAY[xs])) FROM t", "0A000", "set-returning functions in the arguments of set-returning functions is not supported"},
	}
	for _, c := range cases {
		err := runErr(t, s, c.sql)
		if string(err.Code) != c.code || err.Message != c.message {
			t.Errorf("%s: got %s %q, want %s %q", c.sql, err.Code, err.Message, c.code, c.message)
		}
	}
}
