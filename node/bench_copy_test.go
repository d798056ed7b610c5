package node_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// BenchmarkCopyLoad loads rows shaped like pgbench_accounts with
// COPY FROM STDIN in text format into a new table, in one transaction, on
// a pgkeep server process and, when PGKEEP_BENCH_PG is set, on that
// PostgreSQL. PGKEEP_BENCH_COPY_ROWS sets the row count (default
// 1,000,000). It reports rows per second, the ratio pgkeep/postgres of
// those, and the peak resident memory of the pgkeep process and of the
// PostgreSQL backend (VmHWM, which for PostgreSQL includes the shared
// buffers the backend touched).
func BenchmarkCopyLoad(b *testing.B) {
	rows := 1000000
	if s := os.Getenv("PGKEEP_BENCH_COPY_ROWS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("PGKEEP_BENCH_COPY_ROWS=%q is not a positive number", s)
		}
		rows = n
	}
	targets := []benchTarget{{name: "pgkeep", connString: startPgkeepProcess(b)}}
	if pg := os.Getenv("PGKEEP_BENCH_PG"); pg != "" {
		targets = append(targets, benchTarget{name: "postgres", connString: pg})
	}

	perSecond := map[string]float64{}
	for _, target := range targets {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, target.connString)
		if err != nil {
			b.Fatal(err)
		}
		var elapsed time.Duration
		for range b.N {
			for _, sql := range []string{
				"DROP TABLE IF EXISTS bench_copy",
				"CREATE TABLE bench_copy (aid integer PRIMARY KEY, bid integer, abalance integer, filler char(84))",
			} {
				if _, err := conn.Exec(ctx, sql); err != nil {
					b.Fatal(err)
				}
			}
			start := time.Now()
			tag, err := conn.PgConn().CopyFrom(ctx, &accountsReader{last: rows}, "COPY bench_copy FROM STDIN")
			if err != nil {
				b.Fatalf("%s: COPY: %v", target.name, err)
			}
			elapsed += time.Since(start)
			if tag.RowsAffected() != int64(rows) {
				b.Fatalf("%s: COPY loaded %d rows, want %d", target.name, tag.RowsAffected(), rows)
			}
		}
		perSecond[target.name] = float64(rows*b.N) / elapsed.Seconds()
		b.ReportMetric(perSecond[target.name], target.name+"-rows/s")
		if peak, ok := peakMemoryMB(b, conn, target.name); ok {
			b.ReportMetric(peak, target.name+"-peak-MB")
		}
		conn.Close(ctx)
	}
	if pg, ok := perSecond["postgres"]; ok {
		b.ReportMetric(perSecond["pgkeep"]/pg, "pgkeep/postgres")
	}
}

// pgkeepPID is the process startPgkeepProcess started, for peakMemoryMB.
var pgkeepPID int

// peakMemoryMB returns the peak resident memory of the server process
// behind conn: the pgkeep process, or the PostgreSQL backend.
func peakMemoryMB(b *testing.B, conn *pgx.Conn, name string) (float64, bool) {
	pid := pgkeepPID
	if name != "pgkeep" {
		if err := conn.QueryRow(context.Background(), "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			b.Fatal(err)
		}
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		// A server on another machine or of another user.
		return 0, false
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		if rest, ok := strings.CutPrefix(scanner.Text(), "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err != nil {
				b.Fatalf("parse %q: %v", scanner.Text(), err)
			}
			return float64(kb) / 1024, true
		}
	}
	return 0, false
}

// startPgkeepProcess builds pgkeep, starts it as its own process on a free
// loopback port with a new data directory, and returns a connection
// string for root. The process is measured alone, without the benchmark's
// own memory.
func startPgkeepProcess(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	bin := filepath.Join(dir, "pgkeep")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/pgkeep").CombinedOutput(); err != nil {
		b.Fatalf("build pgkeep: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	dataDir := filepath.Join(dir, "data")
	cmd := exec.Command(bin, "serve", "--data-dir", dataDir, "--listen", addr, "--socket-dir", dir)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	// pgkeep rejects PGKEEP_ variables it does not know, such as the
	// benchmark's own.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PGKEEP_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	pgkeepPID = cmd.Process.Pid
	b.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})

	host, port, _ := net.SplitHostPort(addr)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		password, err := os.ReadFile(filepath.Join(dataDir, "root.password"))
		if err != nil {
			continue
		}
		connString := fmt.Sprintf("host=%s port=%s user=root password=%s dbname=postgres sslmode=disable",
			host, port, strings.TrimSpace(string(password)))
		if conn, err := pgx.Connect(context.Background(), connString); err == nil {
			conn.Close(context.Background())
			return connString
		}
	}
	b.Fatal("pgkeep did not accept connections within 30 seconds")
	return ""
}

// accountsReader streams COPY text rows of pgbench_accounts' shape with
// aid 1..last.
type accountsReader struct {
	aid, last int
	buf       []byte
	off       int
}

func (r *accountsReader) Read(p []byte) (int, error) {
	if r.off == len(r.buf) {
		r.buf, r.off = r.buf[:0], 0
		for len(r.buf) < 64<<10 && r.aid < r.last {
			r.aid++
			r.buf = strconv.AppendInt(r.buf, int64(r.aid), 10)
			r.buf = append(r.buf, '\t')
			r.buf = strconv.AppendInt(r.buf, int64(r.aid/100000+1), 10)
			r.buf = append(r.buf, "\t0\t"...)
			r.buf = append(r.buf, filler84...)
			r.buf = append(r.buf, '\n')
		}
		if len(r.buf) == 0 {
			return 0, io.EOF
		}
	}
	n := copy(p, r.buf[r.off:])
	r.off += n
	return n, nil
}

var filler84 = strings.Repeat(" ", 84)
