package node_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgkeep/pgkeep/server"
)

// recordQuery is a query of two record columns from _pg_expandarray, whose
// fields are (numeric, integer) and (timestamptz, integer). The second
// set is shorter, so its column is NULL after the first row.
const recordQuery = `SELECT information_schema._pg_expandarray(ARRAY[1.5, NULL, -2]::numeric[]) AS r,
	information_schema._pg_expandarray(ARRAY['2024-05-06 07:08:09+00'::timestamptz]) AS t`

// TestRecordResultsPgx reads records in binary, which pgx requests for
// the record type in its default mode, and in text over the simple
// protocol.
func TestRecordResultsPgx(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tn := startNode(t, server.TestingKnobs{})
	conn := tn.connect(ctx, tn.socketConnString("root"))
	if _, err := conn.Exec(ctx, "SET TimeZone = 'Europe/Berlin'"); err != nil {
		t.Fatal(err)
	}

	rows, err := conn.Query(ctx, recordQuery)
	if err != nil {
		t.Fatalf("binary records: %v", err)
	}
	var binary []string
	for rows.Next() {
		values, err := rows.Values()
		if err != nil {
			t.Fatalf("decode binary record: %v", err)
		}
		binary = append(binary, describeRecord(t, values[0])+" "+describeRecord(t, values[1]))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("binary records: %v", err)
	}
	// Binary timestamptz values carry no zone, and pgx decodes them in UTC.
	wantBinary := []string{
		"(1.5, 1) (2024-05-06T07:08:09Z, 1)",
		"(NULL, 2) NULL",
		"(-2, 3) NULL",
	}
	checkEqual(t, "binary records", binary, wantBinary)

	rows, err = conn.Query(ctx, recordQuery, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		t.Fatalf("text records: %v", err)
	}
	var text []string
	for rows.Next() {
		raw := rows.RawValues()
		text = append(text, string(raw[0])+" "+string(raw[1]))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("text records: %v", err)
	}
	// The timestamptz field prints in the session time zone, quoted
	// because it contains a space.
	wantText := []string{`(1.5,1) ("2024-05-06 09:08:09+02",1)`, "(,2) ", "(-2,3) "}
	checkEqual(t, "text records", text, wantText)
}

// describeRecord prints a record that pgx decoded from binary as
// (field, field), with numeric fields in their text form.
func describeRecord(t *testing.T, v any) string {
	t.Helper()
	if v == nil {
		return "NULL"
	}
	fields, ok := v.([]any)
	if !ok {
		t.Fatalf("record decoded as %T, want []any", v)
	}
	parts := make([]string, len(fields))
	for i, f := range fields {
		switch x := f.(type) {
		case nil:
			parts[i] = "NULL"
		case pgtype.Numeric:
			if !x.Valid {
				parts[i] = "NULL"
				continue
			}
			text, err := x.Value()
			if err != nil {
				t.Fatalf("numeric field %v: %v", x, err)
			}
			parts[i] = fmt.Sprint(text)
		case time.Time:
			parts[i] = x.UTC().Format(time.RFC3339)
		default:
			parts[i] = fmt.Sprint(x)
		}
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
