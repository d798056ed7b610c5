package node_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"

	"github.com/pgkeep/pgkeep/server"
)

// fillBig creates a table of 2^doublings rows by repeated INSERT ... SELECT.
func fillBig(t *testing.T, conn *pgx.Conn, doublings int) {
	t.Helper()
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "CREATE TABLE big (id bigint PRIMARY KEY, v text)"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO big VALUES (0, 'row')"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < doublings; i++ {
		if _, err := conn.Exec(ctx, "INSERT INTO big SELECT id + $1, v FROM big", int64(1)<<i); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStatementTimeoutAndCancel(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, server.TestingKnobs{})
	createAlice(t, tn)
	conn := tn.connect(ctx, tn.tcpConnString("alice", alicePassword))
	fillBig(t, conn, 16)

	const slow = "SELECT id, v FROM big ORDER BY v DESC, id DESC"
	if _, err := conn.Exec(ctx, "SET statement_timeout = '1ms'"); err != nil {
		t.Fatal(err)
	}
	_, err := conn.Exec(ctx, slow)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "57014" || pgErr.Message != "canceling statement due to statement timeout" {
		t.Fatalf("slow query with statement_timeout: %v, want 57014", err)
	}
	if _, err := conn.Exec(ctx, "RESET statement_timeout"); err != nil {
		t.Fatal(err)
	}

	// A cancelled context makes pgx send a CancelRequest with the
	// connection's key; the server stops the statement.
	cfg, err := pgx.ParseConfig(tn.tcpConnString("alice", alicePassword))
	if err != nil {
		t.Fatal(err)
	}
	cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: 10 * time.Second}
	}
	cancelConn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cancelConn.Close(ctx)
	// On a loaded machine the query may finish before the CancelRequest
	// arrives, which PostgreSQL also allows, so a query that completes is
	// tried again; any error other than the cancellation fails at once.
	cancelled := false
	for attempt := 0; attempt < 5 && !cancelled; attempt++ {
		qctx, cancel := context.WithTimeout(ctx, 5*time.Millisecond)
		_, err = cancelConn.Exec(qctx, slow)
		cancel()
		switch {
		case err == nil:
			continue
		case !errors.As(err, &pgErr) || pgErr.Code != "57014" || pgErr.Message != "canceling statement due to user request":
			t.Fatalf("cancelled query: %v, want 57014 user request", err)
		}
		cancelled = true
	}
	if !cancelled {
		t.Fatal("the query finished before its cancel request in every attempt")
	}
	var n int64
	if err := cancelConn.QueryRow(ctx, "SELECT count(*) FROM big").Scan(&n); err != nil || n != 1<<16 {
		t.Fatalf("count after cancel = %d, %v", n, err)
	}
}
