package node_test

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/lib/pq"

	"github.com/pgkeep/pgkeep/server"
)

// setupArrays creates a table with array columns of several element types
// and returns alice's pgx connection.
func setupArrays(t *testing.T, tn *testNode) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	createAlice(t, tn)
	conn := tn.connect(ctx, tn.tcpConnString("alice", alicePassword))
	if _, err := conn.Exec(ctx, `CREATE TABLE arrs (
		id int PRIMARY KEY, xs int[], names text[], bigs bigint[], flags boolean[],
		ratios float8[], amounts numeric[], stamps timestamptz[], ids uuid[], docs jsonb[])`); err != nil {
		t.Fatal(err)
	}
	return conn
}

func TestArrayParametersAndResultsPgx(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, server.TestingKnobs{})
	conn := setupArrays(t, tn)

	stamp := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	id := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	// pgx sends slices as binary arrays of the types the server describes.
	_, err := conn.Exec(ctx, `INSERT INTO arrs VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		1, []int32{1, 2, 3}, []string{"a b", `q"uote`, ""}, []int64{1 << 40, -5}, []bool{true, false},
		[]float64{0.5, 1e300}, []float64{1.25, 3}, []time.Time{stamp}, [][16]byte{id}, []string{`{"k": [1, 2]}`})
	if err != nil {
		t.Fatalf("insert with binary array parameters: %v", err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO arrs (id, xs, names) VALUES (2, $1, $2), (3, '{}', NULL)`,
		[]*int32{ptr(int32(7)), nil}, []string{}); err != nil {
		t.Fatalf("insert with NULL elements: %v", err)
	}

	var (
		xs      []int32
		names   []string
		bigs    []int64
		flags   []bool
		ratios  []float64
		amounts []float64
		stamps  []time.Time
		ids     [][16]byte
		docs    []string
	)
	err = conn.QueryRow(ctx, "SELECT xs, names, bigs, flags, ratios, amounts, stamps, ids, docs FROM arrs WHERE id = 1").
		Scan(&xs, &names, &bigs, &flags, &ratios, &amounts, &stamps, &ids, &docs)
	if err != nil {
		t.Fatalf("select array columns: %v", err)
	}
	checkEqual(t, "int[]", xs, []int32{1, 2, 3})
	checkEqual(t, "text[]", names, []string{"a b", `q"uote`, ""})
	checkEqual(t, "bigint[]", bigs, []int64{1 << 40, -5})
	checkEqual(t, "boolean[]", flags, []bool{true, false})
	checkEqual(t, "float8[]", ratios, []float64{0.5, 1e300})
	checkEqual(t, "numeric[]", amounts, []float64{1.25, 3})
	if len(stamps) != 1 || !stamps[0].Equal(stamp) {
		t.Errorf("timestamptz[] = %v, want [%v]", stamps, stamp)
	}
	checkEqual(t, "uuid[]", ids, [][16]byte{id})
	checkEqual(t, "jsonb[]", docs, []string{`{"k": [1, 2]}`})

	var withNull []*int32
	if err := conn.QueryRow(ctx, "SELECT xs FROM arrs WHERE id = 2").Scan(&withNull); err != nil {
		t.Fatal(err)
	}
	if len(withNull) != 2 || withNull[0] == nil || *withNull[0] != 7 || withNull[1] != nil {
		t.Errorf("xs of row 2 = %v, want [7 NULL]", withNull)
	}

	// = ANY($1) with binary int4[] and int8[] parameters and a text one.
	for _, param := range []any{[]int32{1, 3}, []int64{1, 3}, "{1,3}"} {
		got := queryInts(t, conn, "SELECT id FROM arrs WHERE id = ANY($1) ORDER BY id", param)
		checkEqual(t, fmt.Sprintf("= ANY(%T)", param), got, []int32{1, 3})
	}
	got := queryInts(t, conn, "SELECT id FROM arrs WHERE names = $1::text[] ORDER BY id", []string{})
	checkEqual(t, "= empty text[] parameter", got, []int32{2})

	// A two-dimensional parameter keeps its shape. pgx sends a
	// pgtype.Array in binary and a string in text.
	grid2x2 := pgtype.Array[int32]{
		Elements: []int32{1, 2, 3, 4},
		Dims:     []pgtype.ArrayDimension{{Length: 2, LowerBound: 1}, {Length: 2, LowerBound: 1}},
		Valid:    true,
	}
	for _, param := range []any{grid2x2, "{{1,2},{3,4}}"} {
		var text string
		if err := conn.QueryRow(ctx, "SELECT $1::int[]::text", param).Scan(&text); err != nil {
			t.Fatal(err)
		}
		checkEqual(t, fmt.Sprintf("two-dimensional %T parameter", param), text, "{{1,2},{3,4}}")
	}
	var grid pgtype.Array[int32]
	if err := conn.QueryRow(ctx, "SELECT ARRAY[[1,2,3],[4,5,6]]").Scan(&grid); err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "two-dimensional result", grid.Dims,
		[]pgtype.ArrayDimension{{Length: 2, LowerBound: 1}, {Length: 3, LowerBound: 1}})
	checkEqual(t, "two-dimensional elements", grid.Elements, []int32{1, 2, 3, 4, 5, 6})

	// A malformed text parameter fails like array input does.
	_, err = conn.Exec(ctx, "SELECT id FROM arrs WHERE id = ANY($1)", "{1,2")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "22P02" || pgErr.Detail != "Unexpected end of input." {
		t.Errorf("malformed array parameter: err = %v, want 22P02 with detail", err)
	}
}

func TestArrayResultFormats(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, server.TestingKnobs{})
	conn := setupArrays(t, tn)
	if _, err := conn.Exec(ctx, `INSERT INTO arrs (id, xs, names) VALUES (1, '{1,NULL,3}', '{"a b",NULL}')`); err != nil {
		t.Fatal(err)
	}
	const query = "SELECT xs, names FROM arrs WHERE id = 1"

	// RowDescription carries PostgreSQL's array type OIDs.
	rows, err := conn.Query(ctx, query, pgx.QueryResultFormats{pgx.TextFormatCode})
	if err != nil {
		t.Fatal(err)
	}
	if !rows.Next() {
		t.Fatalf("no row: %v", rows.Err())
	}
	fields := rows.FieldDescriptions()
	checkEqual(t, "int[] OID", fields[0].DataTypeOID, uint32(pgtype.Int4ArrayOID))
	checkEqual(t, "text[] OID", fields[1].DataTypeOID, uint32(pgtype.TextArrayOID))
	raw := rows.RawValues()
	checkEqual(t, "int[] text", string(raw[0]), "{1,NULL,3}")
	checkEqual(t, "text[] text", string(raw[1]), `{"a b",NULL}`)
	rows.Close()

	rows, err = conn.Query(ctx, query, pgx.QueryResultFormats{pgx.BinaryFormatCode})
	if err != nil {
		t.Fatal(err)
	}
	if !rows.Next() {
		t.Fatalf("no row: %v", rows.Err())
	}
	raw = rows.RawValues()
	// Binary arrays start with the number of dimensions, the has-NULL
	// flag and the element type.
	header := raw[0][:12]
	checkEqual(t, "int[] binary dimensions", binary.BigEndian.Uint32(header), uint32(1))
	checkEqual(t, "int[] binary has-NULL flag", binary.BigEndian.Uint32(header[4:]), uint32(1))
	checkEqual(t, "int[] binary element type", binary.BigEndian.Uint32(header[8:]), uint32(pgtype.Int4OID))
	var xs []*int32
	var names []*string
	if err := rows.Scan(&xs, &names); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if len(xs) != 3 || *xs[0] != 1 || xs[1] != nil || *xs[2] != 3 {
		t.Errorf("binary int[] = %v, want [1 NULL 3]", xs)
	}
	if len(names) != 2 || *names[0] != "a b" || names[1] != nil {
		t.Errorf("binary text[] = %v, want [a b NULL]", names)
	}
}

func TestArrayParametersLibPQ(t *testing.T) {
	tn := startNode(t, server.TestingKnobs{})
	conn := setupArrays(t, tn)
	if _, err := conn.Exec(context.Background(), `INSERT INTO arrs (id, names) VALUES (1, '{x,y}'), (2, '{z}'), (3, NULL)`); err != nil {
		t.Fatal(err)
	}

	// lib/pq sends pq.Array values as text with no type, so the server
	// infers int4[] and text[] from the query.
	db, err := sql.Open("postgres", fmt.Sprintf("host=127.0.0.1 port=%d user=alice password=%s dbname=postgres sslmode=disable",
		tn.port, alicePassword))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT id, names FROM arrs WHERE id = ANY($1) AND names && $2 ORDER BY id",
		pq.Array([]int64{1, 2, 3}), pq.Array([]string{"y", "z"}))
	if err != nil {
		t.Fatalf("lib/pq query: %v", err)
	}
	defer rows.Close()
	var ids []int64
	var all [][]string
	for rows.Next() {
		var id int64
		var names []string
		if err := rows.Scan(&id, pq.Array(&names)); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		all = append(all, names)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "ids", ids, []int64{1, 2})
	checkEqual(t, "names", all, [][]string{{"x", "y"}, {"z"}})
}

func queryInts(t *testing.T, conn *pgx.Conn, sql string, args ...any) []int32 {
	t.Helper()
	rows, err := conn.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

func checkEqual[T any](t *testing.T, name string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %v, want %v", name, got, want)
	}
}

func ptr[T any](v T) *T { return &v }
