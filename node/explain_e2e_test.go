package node_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgkeep/pgkeep/server"
)

// explainLines runs an EXPLAIN and returns its column name, its column
// type and its lines.
func explainLines(t *testing.T, conn *pgx.Conn, sql string, args ...any) (string, uint32, []string) {
	t.Helper()
	rows, err := conn.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	fields := rows.FieldDescriptions()
	if len(fields) != 1 {
		t.Fatalf("%s: %d columns, want 1", sql, len(fields))
	}
	return fields[0].Name, fields[0].DataTypeOID, lines
}

func TestExplainOverBothProtocols(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, server.TestingKnobs{})
	createAlice(t, tn)
	conn := tn.connect(ctx, tn.tcpConnString("alice", alicePassword))
	setupItems(t, conn)
	if _, err := conn.Exec(ctx, "CREATE INDEX items_qty ON items (qty)"); err != nil {
		t.Fatal(err)
	}

	want := []string{
		"Limit",
		"  ->  Index Scan using items_qty on items",
		"        Index Cond: (qty > $1)",
	}
	// pgx's default mode prepares the statement and reads the column
	// from its description.
	name, oid, lines := explainLines(t, conn, "EXPLAIN SELECT * FROM items WHERE qty > $1 ORDER BY qty LIMIT 2", 15)
	if name != "QUERY PLAN" || oid != pgtype.TextOID {
		t.Errorf("extended protocol: column %q of type %d, want QUERY PLAN of type text", name, oid)
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("extended protocol: got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}

	want[2] = "        Index Cond: (qty > 15)"
	name, oid, lines = explainLines(t, conn, "EXPLAIN SELECT * FROM items WHERE qty > 15 ORDER BY qty LIMIT 2", pgx.QueryExecModeSimpleProtocol)
	if name != "QUERY PLAN" || oid != pgtype.TextOID {
		t.Errorf("simple protocol: column %q of type %d, want QUERY PLAN of type text", name, oid)
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("simple protocol: got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}

	// The plan reads in index order and returns the rows the sort would.
	rows, err := conn.Query(ctx, "SELECT id FROM items WHERE qty > $1 ORDER BY qty LIMIT 2", 15)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || ids[0] != 2 || ids[1] != 3 {
		t.Errorf("ids %v, want [2 3]", ids)
	}

	var pgErr *pgconn.PgError
	_, err = conn.Exec(ctx, "EXPLAIN ANALYZE SELECT * FROM items")
	if !errors.As(err, &pgErr) || pgErr.Code != "0A000" {
		t.Errorf("EXPLAIN ANALYZE: got %v, want SQLSTATE 0A000", err)
	}
}
