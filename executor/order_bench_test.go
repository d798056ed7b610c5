package executor

import (
	"context"
	"fmt"
	"github.com/pgkeep/pgkeep/pgerror"
	"io"
	"strings"
	"testing"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/kv"
	"github.com/pgkeep/pgkeep/protocol"
	"github.com/pgkeep/pgkeep/security"
)

// benchOrderRows is the size of the table BenchmarkOrderByLimit reads.
const benchOrderRows = 100000

// countingSink counts the rows of a result and keeps nothing else.
type countingSink struct{ rows int }

func (s *countingSink) Describe([]protocol.Column) error     { return nil }
func (s *countingSink) Row([]any) error                      { s.rows++; return nil }
func (s *countingSink) Complete(string) error                { return nil }
func (s *countingSink) EmptyQuery() error                    { return nil }
func (s *countingSink) ParameterStatus(string, string) error { return nil }
func (s *countingSink) Notice(string, string, string) error  { return nil }
func (s *countingSink) CopyIn(int16, []int16) (io.Reader, error) {
	return nil, pgerror.Internal("this test sink takes no COPY data")
}
func (s *countingSink) CopyOut(int16, []int16) (io.WriteCloser, error) {
	return nil, pgerror.Internal("this test sink takes no COPY data")
}
func (s *countingSink) exec(tb testing.TB, sess *Session, sql string) {
	tb.Helper()
	if err := sess.ExecSimple(context.Background(), sql, s); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
}

// newOnDiskSession starts a server over a pebble store in a temporary
// directory and returns a session of root.
func newOnDiskSession(tb testing.TB) *Session {
	tb.Helper()
	engine, err := kv.OpenPebble(tb.TempDir(), kv.PebbleOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = engine.Close() })
	cat := catalog.New(engine)
	_, err = cat.Bootstrap(catalog.BootstrapOptions{
		DatabaseName:     "postgres",
		NewRootPassword:  func() (string, string, string, error) { return "pw", "", "", nil },
		SaveRootPassword: func(string) error { return nil },
	})
	if err != nil {
		tb.Fatal(err)
	}
	srv := NewServer(Config{
		Database:        "postgres",
		HashPassword:    func(pw string) (string, string, error) { return "bcrypt:" + pw, "scram:" + pw, nil },
		IsSCRAMVerifier: func(s string) bool { return strings.HasPrefix(s, "SCRAM-SHA-256$") },
		PasswordPolicy:  security.DefaultPasswordPolicy().Check,
	}, cat, nil)
	sess, _, err := srv.NewSession(context.Background(), SessionOptions{User: "root", Database: "postgres"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(sess.Close)
	return sess
}

// BenchmarkOrderByLimit runs SELECT ... WHERE col > $1 ORDER BY col LIMIT
// 10 over a table of benchOrderRows rows, on an indexed column in both
// directions and on an unindexed column with the same values, and reports
// the index entries and rows each query reads (kv-keys/op).
func BenchmarkOrderByLimit(b *testing.B) {
	s := newOnDiskSession(b)
	load := &countingSink{}
	load.exec(b, s, "CREATE TABLE bench_order (id int PRIMARY KEY, v int, w int, filler text)")
	load.exec(b, s, "CREATE INDEX bench_order_v ON bench_order (v)")
	const batch = 1000
	for start := 0; start < benchOrderRows; start += batch {
		var sql strings.Builder
		sql.WriteString("INSERT INTO bench_order VALUES ")
		for i := start; i < start+batch; i++ {
			if i > start {
				sql.WriteString(", ")
			}
			// 7919 is prime, so v runs through 0..benchOrderRows-1 once.
			v := i * 7919 % benchOrderRows
			fmt.Fprintf(&sql, "(%d, %d, %d, 'row %d')", i, v, v, i)
		}
		load.exec(b, s, sql.String())
	}

	for _, c := range []struct{ name, query string }{
		{"indexed", "SELECT * FROM bench_order WHERE v > $1 ORDER BY v LIMIT 10"},
		{"indexed desc", "SELECT * FROM bench_order WHERE v > $1 ORDER BY v DESC LIMIT 10"},
		{"unindexed", "SELECT * FROM bench_order WHERE w > $1 ORDER BY w LIMIT 10"},
	} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			ps, err := s.Prepare(ctx, c.query, nil)
			if err != nil {
				b.Fatal(err)
			}
			sink := &countingSink{}
			keysBefore := s.keysRead
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// Every bound leaves at least 10 larger values.
				bound := int64(i * 104729 % (benchOrderRows - 100))
				portal, err := s.Bind(ctx, ps, []any{bound})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := portal.Execute(ctx, sink, 0); err != nil {
					b.Fatal(err)
				}
				portal.Close()
				if err := s.Sync(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if sink.rows != 10*b.N {
				b.Fatalf("%d rows in %d queries, want 10 per query", sink.rows, b.N)
			}
			b.ReportMetric(float64(s.keysRead-keysBefore)/float64(b.N), "kv-keys/op")
		})
	}
}
