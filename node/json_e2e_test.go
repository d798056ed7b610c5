package node_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgkeep/pgkeep/server"
)

// TestJSONBParametersPgx runs the jsonb operators and functions with
// extended-protocol parameters, whose types the server infers from the
// operator or function.
func TestJSONBParametersPgx(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, server.TestingKnobs{})
	createAlice(t, tn)
	conn := tn.connect(ctx, tn.tcpConnString("alice", alicePassword))
	if _, err := conn.Exec(ctx, `CREATE TABLE docs (id int PRIMARY KEY, d jsonb)`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO docs VALUES (1, '{"a": 1}'), (2, '[1, 2]')`); err != nil {
		t.Fatal(err)
	}

	// d || $1 infers jsonb for $1, as PostgreSQL does.
	ps, err := conn.Prepare(ctx, "concat", "UPDATE docs SET d = d || $1 WHERE id = $2")
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "parameter types of d || $1", ps.ParamOIDs, []uint32{3802, 23})
	if _, err := conn.Exec(ctx, "concat", `{"b": {"c": 2}}`, 1); err != nil {
		t.Fatalf("UPDATE with d || $1: %v", err)
	}
	if _, err := conn.Exec(ctx, "UPDATE docs SET d = d - $1::int WHERE id = 2", 0); err != nil {
		t.Fatalf("UPDATE with d - $1: %v", err)
	}

	var doc string
	if err := conn.QueryRow(ctx, "SELECT d::text FROM docs WHERE id = 1").Scan(&doc); err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "document after ||", doc, `{"a": 1, "b": {"c": 2}}`)
	if err := conn.QueryRow(ctx, "SELECT d::text FROM docs WHERE id = 2").Scan(&doc); err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "document after -", doc, `[2]`)

	// jsonb_set with a text[] path parameter in binary.
	err = conn.QueryRow(ctx, "SELECT jsonb_set(d, $1, $2)::text FROM docs WHERE id = 1",
		[]string{"b", "c"}, `"x"`).Scan(&doc)
	if err != nil {
		t.Fatalf("jsonb_set with parameters: %v", err)
	}
	checkEqual(t, "jsonb_set result", doc, `{"a": 1, "b": {"c": "x"}}`)

	// jsonb_each in FROM reading a column of the table before it.
	rows, err := conn.Query(ctx, "SELECT e.key, e.value::text FROM docs, jsonb_each(docs.d) e WHERE docs.id = $1 ORDER BY 1", 1)
	if err != nil {
		t.Fatal(err)
	}
	type member struct{ Key, Value string }
	members, err := pgx.CollectRows(rows, pgx.RowToStructByPos[member])
	if err != nil {
		t.Fatalf("jsonb_each rows: %v", err)
	}
	checkEqual(t, "jsonb_each members", members, []member{{"a", "1"}, {"b", `{"c": 2}`}})

	// A bulk insert from a JSON array parameter.
	_, err = conn.Exec(ctx, "INSERT INTO docs SELECT * FROM jsonb_to_recordset($1) AS x(id int, d jsonb)",
		`[{"id": 3, "d": {"k": true}}, {"id": 4}]`)
	if err != nil {
		t.Fatalf("INSERT from jsonb_to_recordset($1): %v", err)
	}
	var count int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM docs WHERE id IN (3, 4)").Scan(&count); err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "rows inserted from jsonb_to_recordset", count, 2)

	// json_agg of whole rows, decoded by pgx as JSON.
	var agg []map[string]any
	if err := conn.QueryRow(ctx, "SELECT json_agg(docs ORDER BY id) FROM docs").Scan(&agg); err != nil {
		t.Fatalf("json_agg of rows: %v", err)
	}
	checkEqual(t, "json_agg rows", len(agg), 4)
	checkEqual(t, "json_agg first id", agg[0]["id"], any(float64(1)))
}
