package testdata

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

const sampleFile = `# pgkeep-only
# A comment between records.

statement ok
CREATE TABLE t (a int)

statement error SQLSTATE 42P07 relation "t" already exists
CREATE TABLE t (a int)

skipif postgres
# TODO: a comment between a condition and its record.
statement error division by zero
SELECT 1/0

query error SQLSTATE 22012
SELECT 1/0

onlyif pgkeep
query IT rowsort
SELECT a, 'x'
FROM t
----
1 x
2 ·

query B
SELECT false

halt
`

func TestParseSampleFile(t *testing.T) {
	f, err := Parse("sample.slt", sampleFile)
	if err != nil {
		t.Fatal(err)
	}
	if !f.PgkeepOnly {
		t.Error("PgkeepOnly is false; want true from the # pgkeep-only tag")
	}
	if len(f.Records) != 7 {
		t.Fatalf("got %d records, want 7", len(f.Records))
	}

	create := f.Records[0]
	if create.Line != 4 || create.Kind != KindStatement || create.Error != nil || create.SQL != "CREATE TABLE t (a int)" {
		t.Errorf("record 0 = %+v; want statement ok at line 4", create)
	}

	dup := f.Records[1]
	if dup.Error == nil || dup.Error.Code != "42P07" || dup.Error.Message.String() != `relation "t" already exists` {
		t.Errorf("record 1 error = %v; want SQLSTATE 42P07 with a message regexp", dup.Error)
	}

	div := f.Records[2]
	if !reflect.DeepEqual(div.SkipIf, []string{EnginePostgres}) || div.OnlyIf != nil {
		t.Errorf("record 2 conditions = skipif %v onlyif %v; want skipif [postgres]", div.SkipIf, div.OnlyIf)
	}
	if div.Error == nil || div.Error.Code != "" || div.Error.Message.String() != "division by zero" {
		t.Errorf("record 2 error = %v; want the regexp only", div.Error)
	}

	queryErr := f.Records[3]
	if queryErr.Kind != KindQuery || queryErr.Error == nil || queryErr.Error.Code != "22012" || queryErr.Error.Message != nil {
		t.Errorf("record 3 = %+v; want query error with SQLSTATE 22012 and no regexp", queryErr)
	}

	query := f.Records[4]
	if query.Types != "IT" || query.Sort != RowSort || query.SQL != "SELECT a, 'x'\nFROM t" {
		t.Errorf("record 4 = %+v; want a two-line rowsort query of types IT", query)
	}
	if !reflect.DeepEqual(query.Expected, []string{"1 x", "2 ·"}) {
		t.Errorf("record 4 expected rows = %q", query.Expected)
	}
	if !query.RunsOn(EnginePgkeep) || query.RunsOn(EnginePostgres) {
		t.Error("record 4 is onlyif pgkeep but RunsOn disagrees")
	}

	noRows := f.Records[5]
	if noRows.Expected != nil || noRows.Sort != NoSort {
		t.Errorf("record 5 = %+v; want no expected rows and nosort", noRows)
	}
	if f.Records[6].Kind != KindHalt {
		t.Errorf("record 6 kind = %v; want halt", f.Records[6].Kind)
	}
}

func TestParseRejectsInvalidFiles(t *testing.T) {
	cases := []struct {
		name, text, want string
	}{
		{"unknown record", "statemnt ok\nSELECT 1\n", `unknown record type "statemnt"`},
		{"unknown engine", "skipif sqlite\nstatement ok\nSELECT 1\n", `unknown engine "sqlite"`},
		{"blank after condition", "onlyif pgkeep\n\nstatement ok\nSELECT 1\n", "must directly precede"},
		{"condition at end", "statement ok\nSELECT 1\n\nskipif pgkeep\n", "has no record"},
		{"missing SQL", "statement ok\n\n", "has no SQL"},
		{"bad type letter", "query IX\nSELECT 1, 2\n", `invalid column type 'X'`},
		{"bad sort mode", "query I sorted\nSELECT 1\n", `unknown sort mode "sorted"`},
		{"short SQLSTATE", "statement error SQLSTATE 42\nSELECT\n", "five-character code"},
		{"bad regexp", "statement error (\nSELECT\n", "invalid error regexp"},
		{"results on statement", "statement ok\nSELECT 1\n----\n1\n", "only a query record"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("bad.slt", c.text)
			if err == nil {
				t.Fatalf("Parse succeeded; want an error containing %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error = %q; want it to contain %q", err, c.want)
			}
		})
	}
}

func TestFormatResult(t *testing.T) {
	res := &pgconn.Result{
		FieldDescriptions: []pgconn.FieldDescription{{DataTypeOID: 25}, {DataTypeOID: boolOID}},
		Rows: [][][]byte{
			{[]byte("b c"), []byte("f")},
			{nil, []byte("t")},
			{[]byte(""), nil},
		},
	}
	cases := []struct {
		mode SortMode
		want []string
	}{
		{NoSort, []string{"b c false", "NULL true", "· NULL"}},
		{RowSort, []string{"NULL true", "b c false", "· NULL"}},
		{ValueSort, []string{"NULL", "NULL", "b c", "false", "true", "·"}},
	}
	for _, c := range cases {
		if got := formatResult(res, c.mode); !reflect.DeepEqual(got, c.want) {
			t.Errorf("formatResult(mode %d) = %q; want %q", c.mode, got, c.want)
		}
	}
}

func TestRewriteReplacesResults(t *testing.T) {
	text := `query I
SELECT 1
----
2

statement ok
SELECT 1

query T
SELECT 'a'

query I
SELECT 3
----
3
`
	path := filepath.Join(t.TempDir(), "r.slt")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := &Outcome{actual: map[*Record][]string{
		f.Records[0]: {"1"},
		f.Records[2]: {"a", "b"},
		f.Records[3]: {"3"},
	}}
	if err := Rewrite(f, out); err != nil {
		t.Fatal(err)
	}

	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := `query I
SELECT 1
----
1

statement ok
SELECT 1

query T
SELECT 'a'
----
a
b

query I
SELECT 3
----
3
`
	if string(got) != want {
		t.Errorf("rewritten file:\n%s\nwant:\n%s", got, want)
	}
}
