package node_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgkeep/pgkeep/security"
	"github.com/pgkeep/pgkeep/server"
)

// benchTarget is a server a benchmark drives: pgkeep, or the PostgreSQL
// named by PGKEEP_BENCH_PG for a side-by-side ratio.
type benchTarget struct {
	name       string
	connString string
}

func benchTargets(b *testing.B) []benchTarget {
	b.Helper()
	tn := startNode(b, server.TestingKnobs{})
	targets := []benchTarget{{name: "pgkeep", connString: tn.tcpConnString("root", "")}}
	if pg := os.Getenv("PGKEEP_BENCH_PG"); pg != "" {
		targets = append(targets, benchTarget{name: "postgres", connString: pg})
	}
	return targets
}

const benchRows = 10000

func prepareBenchTable(b *testing.B, connString string) {
	b.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, sql := range []string{
		"DROP TABLE IF EXISTS bench_accounts",
		"CREATE TABLE bench_accounts (aid integer PRIMARY KEY, bid integer, abalance integer, filler char(84))",
		"INSERT INTO bench_accounts VALUES (1, 1, 0, '')",
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			b.Fatal(err)
		}
	}
	for n := 1; n < benchRows; n *= 2 {
		if _, err := conn.Exec(ctx, "INSERT INTO bench_accounts SELECT aid + $1, bid, abalance, filler FROM bench_accounts WHERE aid + $1 <= $2", n, benchRows); err != nil {
			b.Fatal(err)
		}
	}
}

// runClients runs clients connections that each execute query with a
// random-looking aid until b.N queries have run in total, and returns the
// elapsed time.
func runClients(b *testing.B, connString string, clients int, query string, mode pgx.QueryExecMode) time.Duration {
	b.Helper()
	ctx := context.Background()
	conns := make([]*pgx.Conn, clients)
	for i := range conns {
		c, err := pgx.Connect(ctx, connString)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close(ctx)
		conns[i] = c
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	start := time.Now()
	per := b.N / clients
	for i, c := range conns {
		wg.Add(1)
		go func(i int, c *pgx.Conn) {
			defer wg.Done()
			for j := 0; j < per; j++ {
				aid := (j*7919+i*104729)%benchRows + 1
				var balance int32
				if err := c.QueryRow(ctx, query, mode, aid).Scan(&balance); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
			}
		}(i, c)
	}
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	return time.Since(start)
}

// BenchmarkPointSelect runs pgbench's select-only transaction. With
// PGKEEP_BENCH_PG set, it reports pgkeep's throughput as a ratio of
// PostgreSQL's in the metric pgkeep/postgres.
func BenchmarkPointSelect(b *testing.B) {
	const query = "SELECT abalance FROM bench_accounts WHERE aid = $1"
	targets := benchTargets(b)
	for _, t := range targets {
		prepareBenchTable(b, t.connString)
	}
	for _, mode := range []struct {
		name string
		mode pgx.QueryExecMode
	}{{"prepared", pgx.QueryExecModeCacheStatement}, {"simple", pgx.QueryExecModeSimpleProtocol}} {
		for _, clients := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/clients=%d", mode.name, clients), func(b *testing.B) {
				perSecond := map[string]float64{}
				for _, t := range targets {
					elapsed := runClients(b, t.connString, clients, query, mode.mode)
					perSecond[t.name] = float64(b.N) / elapsed.Seconds()
					b.ReportMetric(perSecond[t.name], t.name+"-queries/s")
				}
				if pg, ok := perSecond["postgres"]; ok {
					b.ReportMetric(perSecond["pgkeep"]/pg, "pgkeep/postgres")
				}
			})
		}
	}
}

// BenchmarkLoginTiming compares cleartext logins that fail for an unknown
// user with ones that fail for a known user's wrong password. It reports
// the median of each and their ratio as unknown/known, which should stay
// near 1 so that timing does not reveal which users exist. Timing is
// reported, never asserted.
func BenchmarkLoginTiming(b *testing.B) {
	ctx := context.Background()
	tn := startNodeWithAuth(b, server.TestingKnobs{}, security.Config{PasswordMethod: security.PasswordMethodPassword, BcryptCost: 10})
	admin, err := pgx.Connect(ctx, tn.socketConnString("root"))
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE USER known WITH PASSWORD 'Known-user-pass-1'"); err != nil {
		b.Fatal(err)
	}
	measure := func(user string) time.Duration {
		start := time.Now()
		if conn, err := pgx.Connect(ctx, tn.tcpConnString(user, "Wrong-pass-000")); err == nil {
			conn.Close(ctx)
			b.Fatalf("login of %s succeeded", user)
		}
		return time.Since(start)
	}
	var unknown, known []time.Duration
	for i := 0; i < b.N; i++ {
		unknown = append(unknown, measure("nobody"))
		known = append(known, measure("known"))
	}
	mu, mk := median(unknown), median(known)
	b.ReportMetric(float64(mu.Microseconds()), "unknown-median-µs")
	b.ReportMetric(float64(mk.Microseconds()), "known-median-µs")
	b.ReportMetric(float64(mu)/float64(mk), "unknown/known")
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
