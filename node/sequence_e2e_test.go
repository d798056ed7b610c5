package node_test

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgkeep/pgkeep/server"
)

// queryInt returns the single bigint value a query produces.
func queryInt(t *testing.T, conn *pgx.Conn, sql string, args ...any) int64 {
	t.Helper()
	var v int64
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

func TestNextvalSurvivesRollback(t *testing.T) {
	tn := startNode(t, server.TestingKnobs{})
	ctx := context.Background()
	a := tn.connect(ctx, tn.socketConnString("root"))
	b := tn.connect(ctx, tn.socketConnString("root"))
	execAll(t, a,
		"CREATE SEQUENCE s",
		"CREATE TABLE items (id bigint PRIMARY KEY DEFAULT nextval('s'), v text)",
	)

	execAll(t, a, "BEGIN")
	if got := queryInt(t, a, "SELECT nextval('s')"); got != 1 {
		t.Fatalf("first nextval = %d, want 1", got)
	}
	// Another session does not wait for a's transaction.
	if got := queryInt(t, b, "SELECT nextval('s')"); got != 2 {
		t.Fatalf("nextval in session b = %d, want 2", got)
	}
	execAll(t, a, "ROLLBACK")
	if got := queryInt(t, a, "SELECT nextval('s')"); got != 3 {
		t.Fatalf("nextval after ROLLBACK = %d, want 3: the rolled-back value must stay used", got)
	}

	// A rolled-back INSERT uses up its default value too.
	execAll(t, a, "BEGIN", "INSERT INTO items (v) VALUES ('gone')", "ROLLBACK")
	execAll(t, a, "INSERT INTO items (v) VALUES ('kept')")
	if got := queryInt(t, a, "SELECT id FROM items WHERE v = 'kept'"); got != 5 {
		t.Fatalf("id after a rolled-back insert = %d, want 5", got)
	}

	// currval and lastval belong to the session.
	if got := queryInt(t, b, "SELECT currval('s')"); got != 2 {
		t.Errorf("currval in session b = %d, want 2", got)
	}
	if got := queryInt(t, a, "SELECT lastval()"); got != 5 {
		t.Errorf("lastval in session a = %d, want 5", got)
	}
	c := tn.connect(ctx, tn.socketConnString("root"))
	_, err := c.Exec(ctx, "SELECT currval('s')")
	wantSQLState(t, err, "55000", "currval in a session without nextval")
}

func TestConcurrentNextvalUnique(t *testing.T) {
	tn := startNode(t, server.TestingKnobs{})
	ctx := context.Background()
	root := tn.connect(ctx, tn.socketConnString("root"))
	execAll(t, root, "CREATE SEQUENCE s")

	const sessions, calls = 4, 100
	conns := make([]*pgx.Conn, sessions)
	for i := range conns {
		conns[i] = tn.connect(ctx, tn.socketConnString("root"))
	}
	values := make([][]int64, sessions)
	errs := make([]error, sessions)
	var wg sync.WaitGroup
	for i, conn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range calls {
				var v int64
				if err := conn.QueryRow(ctx, "SELECT nextval('s')").Scan(&v); err != nil {
					errs[i] = err
					return
				}
				values[i] = append(values[i], v)
			}
		}()
	}
	wg.Wait()

	seen := map[int64]bool{}
	for i := range conns {
		if errs[i] != nil {
			t.Fatalf("session %d: %v", i, errs[i])
		}
		for j, v := range values[i] {
			if seen[v] {
				t.Fatalf("value %d handed out twice", v)
			}
			seen[v] = true
			if j > 0 && v <= values[i][j-1] {
				t.Errorf("session %d got %d after %d: values must increase", i, v, values[i][j-1])
			}
		}
	}
	for v := int64(1); v <= sessions*calls; v++ {
		if !seen[v] {
			t.Fatalf("value %d was skipped without a crash or rollback", v)
		}
	}
}

func TestSequenceStateSurvivesRestart(t *testing.T) {
	tn := startNode(t, server.TestingKnobs{})
	ctx := context.Background()
	conn := tn.connect(ctx, tn.socketConnString("root"))
	execAll(t, conn, "CREATE SEQUENCE s INCREMENT BY 10", "SELECT nextval('s')", "SELECT nextval('s')",
		"CREATE SEQUENCE unused START 5", "CREATE SEQUENCE set_only", "SELECT setval('set_only', 40, false)")
	tn.restart()

	conn = tn.connect(ctx, tn.socketConnString("root"))
	if got := queryInt(t, conn, "SELECT nextval('s')"); got != 21 {
		t.Errorf("nextval after a clean restart = %d, want 21", got)
	}
	if got := queryInt(t, conn, "SELECT nextval('unused')"); got != 5 {
		t.Errorf("first nextval of an unused sequence = %d, want its start 5", got)
	}
	if got := queryInt(t, conn, "SELECT nextval('set_only')"); got != 40 {
		t.Errorf("nextval after setval(40, false) and a restart = %d, want 40", got)
	}
}

func TestSequencesForUserRole(t *testing.T) {
	tn := startNode(t, server.TestingKnobs{})
	ctx := context.Background()
	root := tn.connect(ctx, tn.socketConnString("root"))
	execAll(t, root,
		"CREATE USER dave WITH PASSWORD 'Dave-pass-5432' ROLE user",
		"CREATE SEQUENCE s",
	)
	dave := tn.connect(ctx, tn.tcpConnString("dave", "Dave-pass-5432"))

	if got := queryInt(t, dave, "SELECT nextval('s')"); got != 1 {
		t.Errorf("nextval by a user role = %d, want 1", got)
	}
	if got := queryInt(t, dave, "SELECT setval('s', 10)"); got != 10 {
		t.Errorf("setval by a user role = %d, want 10", got)
	}
	if got := queryInt(t, dave, "SELECT last_value FROM s"); got != 10 {
		t.Errorf("last_value read by a user role = %d, want 10", got)
	}
	_, err := dave.Exec(ctx, "CREATE SEQUENCE mine")
	wantSQLState(t, err, "42501", "user role creating a sequence")
	_, err = dave.Exec(ctx, "ALTER SEQUENCE s RESTART")
	wantSQLState(t, err, "42501", "user role altering a sequence")
	_, err = dave.Exec(ctx, "DROP SEQUENCE s")
	wantSQLState(t, err, "42501", "user role dropping a sequence")
}
