package node_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgkeep/pgkeep/server"
)

// TestConcurrentAutocommitUpdates runs autocommit UPDATEs of one counter
// row from several connections at once, in the simple and the extended
// protocol. Every statement must succeed, as in PostgreSQL, although pgkeep
// detects the write conflicts at commit: the session runs a statement
// whose commit lost again. The values RETURNING reports must be distinct
// and together count up to the final value, so no retry applied an
// increment twice or reported a withdrawn row.
func TestConcurrentAutocommitUpdates(t *testing.T) {
	tn := startNode(t, server.TestingKnobs{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	setup := tn.connect(ctx, tn.socketConnString("root"))
	if _, err := setup.Exec(ctx, "CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)"); err != nil {
		t.Fatal(err)
	}

	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
		t.Run(mode.String(), func(t *testing.T) {
			if _, err := setup.Exec(ctx, "DELETE FROM counter; INSERT INTO counter VALUES (1, 0)"); err != nil {
				t.Fatal(err)
			}
			const clients, updates = 4, 50
			var mu sync.Mutex
			var seen []int
			var wg sync.WaitGroup
			errs := make(chan error, clients)
			for c := 0; c < clients; c++ {
				conn := tn.connect(ctx, tn.socketConnString("root"))
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < updates; i++ {
						var n int
						if err := conn.QueryRow(ctx, "UPDATE counter SET n = n + 1 WHERE id = $1 RETURNING n", mode, 1).Scan(&n); err != nil {
							errs <- fmt.Errorf("update %d: %w", i, err)
							return
						}
						mu.Lock()
						seen = append(seen, n)
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			var final int
			if err := setup.QueryRow(ctx, "SELECT n FROM counter WHERE id = 1").Scan(&final); err != nil {
				t.Fatal(err)
			}
			if final != clients*updates {
				t.Errorf("counter = %d after %d updates", final, clients*updates)
			}
			slices.Sort(seen)
			for i, n := range seen {
				if n != i+1 {
					t.Fatalf("RETURNING values are not 1..%d: position %d holds %d", len(seen), i, n)
				}
			}
		})
	}
}
