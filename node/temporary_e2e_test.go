package node_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/kv"
	"github.com/pgkeep/pgkeep/server"
)

// execAll runs statements and fails the test on the first error.
func execAll(t *testing.T, conn *pgx.Conn, statements ...string) {
	t.Helper()
	for _, sql := range statements {
		if _, err := conn.Exec(context.Background(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
}

// wantSQLState fails unless err is a PostgreSQL error with the given code.
func wantSQLState(t *testing.T, err error, code, what string) {
	t.Helper()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != code {
		t.Fatalf("%s: err = %v, want SQLSTATE %s", what, err, code)
	}
}

// queryText returns the single text value a query produces.
func queryText(t *testing.T, conn *pgx.Conn, sql string, args ...any) string {
	t.Helper()
	var s string
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

// temporaryTable describes a temporary table as system.tables lists it to
// its own session.
func temporaryTable(t *testing.T, conn *pgx.Conn, name string) (id uint32, schema string) {
	t.Helper()
	var id64 int64
	err := conn.QueryRow(context.Background(),
		"SELECT table_id, namespace FROM system.tables WHERE name = $1 AND namespace LIKE 'pg_temp_%'", name).Scan(&id64, &schema)
	if err != nil {
		t.Fatalf("looking up temporary table %s: %v", name, err)
	}
	return uint32(id64), schema
}

// storeHoldsTable reports whether the store still has a descriptor, a
// schema or any row or index entry of a temporary table.
func storeHoldsTable(t *testing.T, cat *catalog.Catalog, id uint32, schema string) bool {
	t.Helper()
	txn, err := cat.Engine().Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Rollback()
	desc, err := cat.TableByID(txn, id)
	if err != nil {
		t.Fatal(err)
	}
	s, err := cat.Schema(txn, schema)
	if err != nil {
		t.Fatal(err)
	}
	prefix := catalog.TablePrefix(id)
	it, err := txn.NewIterator(prefix, kv.PrefixEnd(prefix))
	if err != nil {
		t.Fatal(err)
	}
	hasRows := it.First()
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return desc != nil || s != nil || hasRows
}

// waitUntilDropped polls the store until the session cleanup has removed a
// temporary table. The server drops it after the connection has gone, at
// a moment the client cannot observe.
func waitUntilDropped(t *testing.T, cat *catalog.Catalog, id uint32, schema string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for storeHoldsTable(t, cat, id, schema) {
		if time.Now().After(deadline) {
			t.Fatalf("temporary table %d in %s still stored 20s after its session ended", id, schema)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTemporaryTablePrivateToSession(t *testing.T) {
	tn := startNode(t, server.TestingKnobs{})
	ctx := context.Background()
	a := tn.connect(ctx, tn.socketConnString("root"))
	b := tn.connect(ctx, tn.socketConnString("root"))

	execAll(t, a,
		"CREATE TABLE t (id int PRIMARY KEY, v text)",
		"INSERT INTO t VALUES (1, 'permanent')",
		"CREATE TEMP TABLE t (id int PRIMARY KEY, v text)",
		"INSERT INTO t VALUES (1, 'temp of a')",
		"CREATE TEMP TABLE only_a (x int)",
	)
	if got := queryText(t, a, "SELECT v FROM t"); got != "temp of a" {
		t.Fatalf("session a reads %q, want its temporary table", got)
	}
	if got := queryText(t, b, "SELECT v FROM t"); got != "permanent" {
		t.Fatalf("session b reads %q, want the permanent table", got)
	}
	_, err := b.Exec(ctx, "SELECT * FROM only_a")
	wantSQLState(t, err, "42P01", "session b reading a's temporary table")

	// Both sessions may have a temporary table of the same name.
	execAll(t, b,
		"CREATE TEMP TABLE t (id int PRIMARY KEY, v text)",
		"INSERT INTO t VALUES (1, 'temp of b')",
	)
	if got := queryText(t, b, "SELECT v FROM t"); got != "temp of b" {
		t.Fatalf("session b reads %q, want its own temporary table", got)
	}
	if got := queryText(t, a, "SELECT v FROM t"); got != "temp of a" {
		t.Fatalf("session a reads %q after b created its table, want its own", got)
	}

	// Naming a's temporary schema does not reach a's rows.
	_, schemaA := temporaryTable(t, a, "t")
	_, schemaB := temporaryTable(t, b, "t")
	if schemaA == schemaB {
		t.Fatalf("both sessions got temporary schema %s", schemaA)
	}
	_, err = b.Exec(ctx, fmt.Sprintf("SELECT * FROM %s.t", schemaA))
	wantSQLState(t, err, "0A000", "session b naming a's temporary schema")
	_, err = b.Exec(ctx, fmt.Sprintf("INSERT INTO %s.only_a VALUES (1)", schemaA))
	wantSQLState(t, err, "0A000", "session b writing to a's temporary table")

	// Listings show a session its own temporary objects only.
	names := queryStrings(t, b, "SELECT namespace || '.' || name FROM system.tables ORDER BY 1")
	for _, n := range names {
		if strings.HasPrefix(n, schemaA+".") {
			t.Errorf("session b lists %s of session a", n)
		}
	}
	if got := strings.Join(queryStrings(t, b, "SELECT name FROM system.namespaces WHERE name LIKE 'pg_temp_%'"), ","); got != schemaB {
		t.Errorf("session b lists temporary schemas %q, want only %s", got, schemaB)
	}
}

func TestTemporaryTablesDroppedWithSession(t *testing.T) {
	tn := startNode(t, server.TestingKnobs{})
	ctx := context.Background()
	cat := tn.node.Catalog()
	observer := tn.connect(ctx, tn.socketConnString("root"))
	execAll(t, observer, "CREATE TABLE t (id int PRIMARY KEY)", "INSERT INTO t VALUES (42)")

	tests := []struct {
		name string
		end  func(conn *pgx.Conn) error
	}{
		{"terminate", func(conn *pgx.Conn) error { return conn.Close(ctx) }},
		// Closing the socket without Terminate, as when the client dies.
		{"killed connection", func(conn *pgx.Conn) error { return conn.PgConn().Conn().Close() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := pgx.Connect(ctx, tn.socketConnString("root"))
			if err != nil {
				t.Fatal(err)
			}
			execAll(t, conn,
				"CREATE TEMP TABLE t (id serial PRIMARY KEY, v text UNIQUE)",
				"INSERT INTO t (v) VALUES ('a'), ('b'), ('c')",
				"CREATE TEMP SEQUENCE s",
				"SELECT nextval('s')",
			)
			id, schema := temporaryTable(t, conn, "t")
			seqID, _ := temporaryTable(t, conn, "s")
			if !storeHoldsTable(t, cat, id, schema) {
				t.Fatal("the temporary table is not stored while its session runs")
			}

			if err := tc.end(conn); err != nil {
				t.Fatal(err)
			}
			waitUntilDropped(t, cat, id, schema)
			if storeHoldsTable(t, cat, seqID, schema) {
				t.Error("the temporary sequence outlived its session")
			}
			// The permanent table of the same name is untouched.
			if got := queryText(t, observer, "SELECT id::text FROM t"); got != "42" {
				t.Errorf("permanent table reads %q, want 42", got)
			}
		})
	}
}

func TestTemporaryTablesRemovedAtRestart(t *testing.T) {
	tn := startNode(t, server.TestingKnobs{})
	ctx := context.Background()
	conn := tn.connect(ctx, tn.socketConnString("root"))
	execAll(t, conn, "CREATE TABLE kept (id int PRIMARY KEY)", "INSERT INTO kept VALUES (7)")
	tn.stop()

	// Leave a temporary schema with a table, a row and a sequence in the
	// store, as a session of a process that crashed would.
	engine, err := kv.OpenPebble(filepath.Join(tn.dataDir, "store"), kv.PebbleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.New(engine)
	txn, err := engine.Begin()
	if err != nil {
		t.Fatal(err)
	}
	schema, err := cat.CreateTemporarySchema(txn, "pg_temp_1")
	if err != nil {
		t.Fatal(err)
	}
	table := &catalog.TableDescriptor{SchemaID: schema.ID, Name: "leftover", Kind: catalog.TableKindShared}
	if err := cat.CreateTemporaryTable(txn, table); err != nil {
		t.Fatal(err)
	}
	if err := txn.Put(append(catalog.IndexPrefix(table.ID, catalog.PrimaryIndexID), 1), []byte("row")); err != nil {
		t.Fatal(err)
	}
	seq := &catalog.TableDescriptor{SchemaID: schema.ID, Name: "leftover_seq", Kind: catalog.TableKindSequence,
		Sequence: &catalog.SequenceOptions{TypeOID: 20, Increment: 1, Min: 1, Max: 100, Start: 1, Cache: 1}}
	if err := cat.CreateTemporaryTable(txn, seq); err != nil {
		t.Fatal(err)
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.NextValue(seq); err != nil {
		t.Fatal(err)
	}
	if err := engine.Close(); err != nil {
		t.Fatal(err)
	}

	tn.start()
	live := tn.node.Catalog()
	if storeHoldsTable(t, live, table.ID, schema.Name) {
		t.Error("the leftover temporary table survived the restart")
	}
	if storeHoldsTable(t, live, seq.ID, schema.Name) {
		t.Error("the leftover temporary sequence survived the restart")
	}
	if !strings.Contains(tn.logs.String(), "removed temporary tables of an earlier run") {
		t.Error("the start-up cleanup was not logged")
	}
	conn = tn.connect(ctx, tn.socketConnString("root"))
	if got := queryText(t, conn, "SELECT id::text FROM kept"); got != "7" {
		t.Errorf("permanent table reads %q after the restart, want 7", got)
	}
	// A new session may take the name pg_temp_1 again.
	execAll(t, conn, "CREATE TEMP TABLE leftover (a int)", "INSERT INTO leftover VALUES (1)")
	if got := queryText(t, conn, "SELECT count(*)::text FROM leftover"); got != "1" {
		t.Errorf("new temporary table holds %s rows, want 1", got)
	}
}

func TestTemporaryTableForUserRole(t *testing.T) {
	tn := startNode(t, server.TestingKnobs{})
	ctx := context.Background()
	root := tn.connect(ctx, tn.socketConnString("root"))
	execAll(t, root,
		"CREATE USER carol WITH PASSWORD 'Carol-pass-9876' ROLE user",
		"CREATE TABLE shared_t (id int PRIMARY KEY)",
	)
	carol := tn.connect(ctx, tn.tcpConnString("carol", "Carol-pass-9876"))

	_, err := carol.Exec(ctx, "CREATE TABLE mine (id int)")
	wantSQLState(t, err, "42501", "user role creating a permanent table")
	execAll(t, carol,
		"CREATE TEMP TABLE mine (id int PRIMARY KEY, v text)",
		"INSERT INTO mine VALUES (1, 'one'), (2, 'two')",
		"UPDATE mine SET v = 'uno' WHERE id = 1",
		"DELETE FROM mine WHERE id = 2",
		"CREATE INDEX mine_v ON mine (v)",
		"ALTER TABLE mine ADD COLUMN note text",
		"ALTER TABLE mine RENAME COLUMN note TO remark",
	)
	if got := queryText(t, carol, "SELECT v FROM mine WHERE v = 'uno'"); got != "uno" {
		t.Fatalf("user role reads %q from its temporary table", got)
	}
	execAll(t, carol, "TRUNCATE mine", "CREATE TEMP SEQUENCE mine_seq", "SELECT nextval('mine_seq')")

	// The temporary objects open no door to permanent ones.
	_, err = carol.Exec(ctx, "DROP TABLE shared_t")
	wantSQLState(t, err, "42501", "user role dropping a permanent table")
	_, err = carol.Exec(ctx, "TRUNCATE shared_t")
	wantSQLState(t, err, "42501", "user role truncating a permanent table")
	_, err = carol.Exec(ctx, "ALTER TABLE shared_t ADD COLUMN x int")
	wantSQLState(t, err, "42501", "user role altering a permanent table")
	_, err = carol.Exec(ctx, "CREATE INDEX shared_id ON shared_t (id)")
	wantSQLState(t, err, "42501", "user role indexing a permanent table")
	_, err = carol.Exec(ctx, "CREATE SEQUENCE perm_seq")
	wantSQLState(t, err, "42501", "user role creating a permanent sequence")

	execAll(t, carol, "DROP TABLE mine", "DROP SEQUENCE mine_seq")
	_, err = carol.Exec(ctx, "SELECT * FROM mine")
	wantSQLState(t, err, "42P01", "reading a dropped temporary table")
}

func TestPreparedPlanSeesNewTemporaryTable(t *testing.T) {
	tn := startNode(t, server.TestingKnobs{})
	ctx := context.Background()
	a := tn.connect(ctx, tn.socketConnString("root"))
	b := tn.connect(ctx, tn.socketConnString("root"))
	execAll(t, a, "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t VALUES (1, 'permanent')")

	const query = "SELECT v FROM t WHERE id = $1"
	for _, conn := range []*pgx.Conn{a, b} {
		if _, err := conn.Prepare(ctx, "read_t", query); err != nil {
			t.Fatal(err)
		}
		if got := queryText(t, conn, "read_t", 1); got != "permanent" {
			t.Fatalf("prepared statement reads %q, want the permanent table", got)
		}
	}

	execAll(t, a, "CREATE TEMP TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t VALUES (1, 'temporary')")
	if got := queryText(t, a, "read_t", 1); got != "temporary" {
		t.Errorf("session a's prepared statement reads %q after CREATE TEMP TABLE, want the temporary table", got)
	}
	if got := queryText(t, b, "read_t", 1); got != "permanent" {
		t.Errorf("session b's prepared statement reads %q, want the permanent table", got)
	}

	// A rolled-back temporary table stops hiding the permanent one.
	execAll(t, b, "BEGIN", "CREATE TEMP TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t VALUES (1, 'rolled back')")
	if got := queryText(t, b, "read_t", 1); got != "rolled back" {
		t.Errorf("session b reads %q inside its transaction, want its temporary table", got)
	}
	execAll(t, b, "ROLLBACK")
	if got := queryText(t, b, "read_t", 1); got != "permanent" {
		t.Errorf("session b reads %q after ROLLBACK, want the permanent table", got)
	}
}
