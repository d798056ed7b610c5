package node_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgkeep/pgkeep/server"
)

// TestDeallocateDropsProtocolStatements checks that SQL's DEALLOCATE and
// DISCARD ALL drop the prepared statements of the extended protocol, so
// the name can be prepared again, as in PostgreSQL.
func TestDeallocateDropsProtocolStatements(t *testing.T) {
	tn := startNode(t, server.TestingKnobs{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn := tn.connect(ctx, tn.socketConnString("root"))
	pg := conn.PgConn()

	prepare := func(name, sql string) error {
		_, err := pg.Prepare(ctx, name, sql, nil)
		return err
	}
	if err := prepare("s1", "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	if err := prepare("s1", "SELECT 2"); err == nil {
		t.Fatal("preparing s1 twice succeeded")
	}
	if _, err := conn.Exec(ctx, "DEALLOCATE s1", pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatalf("DEALLOCATE s1: %v", err)
	}
	if err := prepare("s1", "SELECT 2"); err != nil {
		t.Fatalf("preparing s1 after DEALLOCATE: %v", err)
	}
	if err := prepare("s2", "SELECT 3"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "DISCARD ALL", pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatalf("DISCARD ALL: %v", err)
	}
	for _, name := range []string{"s1", "s2"} {
		if err := prepare(name, "SELECT 4"); err != nil {
			t.Errorf("preparing %s after DISCARD ALL: %v", name, err)
		}
	}
	if _, err := conn.Exec(ctx, "DEALLOCATE nothing", pgx.QueryExecModeSimpleProtocol); err == nil {
		t.Error("DEALLOCATE of an unknown name succeeded")
	}
}
