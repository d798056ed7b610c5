package testdata

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// The differential fuzz test loads one schema and data set into a fresh
// pgkeep node and into a database of its own on a PostgreSQL, and runs the
// same random SELECT statements on both. It reports every statement whose
// outcome differs: one engine fails and the other does not, both fail with
// SQLSTATEs of different classes, or the column types or rows differ.
//
// It runs only when a PostgreSQL is configured, because PostgreSQL's
// results are the expected ones. `make test-pg` configures one.
const (
	// diffPGEnvVar names a PostgreSQL for this test alone. Without it the
	// test uses -pg or PGKEEP_SLT_PG, like the .slt files.
	diffPGEnvVar = "PGKEEP_DIFF_PG"
	// diffSeedEnvVar sets the seed of the generator: a number, or "random"
	// for one drawn from the clock.
	diffSeedEnvVar = "PGKEEP_DIFF_SEED"
	// diffQueriesEnvVar sets the number of statements to run.
	diffQueriesEnvVar = "PGKEEP_DIFF_QUERIES"
	// diffTimeEnvVar sets how long to run instead, as a Go duration.
	diffTimeEnvVar = "PGKEEP_DIFF_TIME"

	defaultDiffSeed    = 1
	defaultDiffQueries = 300
	// maxDiffMismatches stops a run early, so a widespread bug does not
	// bury its first reports.
	maxDiffMismatches = 10
	// diffQueryTimeout bounds each statement on each engine.
	diffQueryTimeout = 30 * time.Second
)

// PostgreSQL's type OIDs of the values that the comparison normalises.
const (
	numericOID = 1700
	float4OID  = 700
	float8OID  = 701
)

func TestDifferentialFuzz(t *testing.T) {
	connString := os.Getenv(diffPGEnvVar)
	if connString == "" {
		connString = *pgFlag
	}
	if connString == "" {
		connString = os.Getenv(pgEnvVar)
	}
	if connString == "" {
		t.Skipf("no PostgreSQL to compare with: set %s, %s or -pg (make test-pg does)", diffPGEnvVar, pgEnvVar)
	}
	seed, queries, duration := diffSettings(t)
	if duration > 0 {
		t.Logf("seed %d, running for %v (%s=%d reproduces the statements)", seed, duration, diffSeedEnvVar, seed)
	} else {
		t.Logf("seed %d, %d statements (%s=%d reproduces them)", seed, queries, diffSeedEnvVar, seed)
	}

	postgres := postgresTarget(t, connString).open(t)
	pgkeep := openPgkeep(t)
	loadFuzzData(t, postgres, "PostgreSQL")
	loadFuzzData(t, pgkeep, "pgkeep")

	var stats diffStats
	start := time.Now()
	for i := uint64(0); ; i++ {
		if duration > 0 && time.Since(start) >= duration || duration == 0 && i >= uint64(queries) {
			break
		}
		q := newGenerator(seed, i).query()
		postgresStart := time.Now()
		want := runDiffQuery(t, postgres, "PostgreSQL", q.sql)
		pgkeepStart := time.Now()
		got := runDiffQuery(t, pgkeep, "pgkeep", q.sql)
		stats.count(want, got)
		stats.timed(i, time.Since(pgkeepStart), pgkeepStart.Sub(postgresStart))
		if want.err != nil && got.err != nil && strings.HasPrefix(want.err.Code, "42") {
			// Both engines reject the statement: a gap in the generator,
			// which should produce valid SQL.
			t.Logf("statement %d is invalid: %s\nSQL: %s", i, describePgError(want.err), q.sql)
		}

		if msg := compareDiffResults(q, got, want); msg != "" {
			stats.mismatches++
			t.Errorf("seed %d statement %d: %s\nSQL: %s", seed, i, msg, q.sql)
			if stats.mismatches >= maxDiffMismatches {
				t.Errorf("stopping after %d mismatches", stats.mismatches)
				break
			}
		}
	}
	t.Logf("%s in %v; the slowest on pgkeep was statement %d (%v), the slowest against PostgreSQL statement %d (%v against %v)",
		&stats, time.Since(start).Round(time.Millisecond), stats.slowestIndex, stats.slowest.Round(time.Millisecond),
		stats.slowestRelativeIndex, stats.slowestRelative.Round(time.Millisecond), stats.slowestRelativePostgres.Round(10*time.Microsecond))
}

// diffSettings reads the seed and the bound of the run from the
// environment. A duration of zero means the run is bounded by queries.
func diffSettings(t *testing.T) (seed uint64, queries int, duration time.Duration) {
	seed, queries = defaultDiffSeed, defaultDiffQueries
	switch v := os.Getenv(diffSeedEnvVar); v {
	case "":
	case "random":
		seed = uint64(time.Now().UnixNano())
	default:
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("invalid %s %q: want a non-negative integer or \"random\"", diffSeedEnvVar, v)
		}
		seed = n
	}
	if v := os.Getenv(diffQueriesEnvVar); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("invalid %s %q: want a positive integer", diffQueriesEnvVar, v)
		}
		queries = n
	}
	if v := os.Getenv(diffTimeEnvVar); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("invalid %s %q: want a positive Go duration such as 60s or 10m", diffTimeEnvVar, v)
		}
		duration = d
	}
	return seed, queries, duration
}

// loadFuzzData creates and fills the fuzz tables over conn, whose engine is
// called name in messages.
func loadFuzzData(t *testing.T, conn *pgx.Conn, name string) {
	t.Helper()
	for _, stmt := range fuzzDataSQL() {
		if _, err := conn.Exec(context.Background(), stmt); err != nil {
			t.Fatalf("loading the fuzz data into %s: %v\nSQL: %s", name, err, stmt)
		}
	}
}

// fuzzDataSQL returns the statements that create and fill the tables of
// fuzzSchema. The rows are the same on every run: a fixed seed picks each
// value from a short list, so the tables contain NULLs, duplicates, empty
// strings and bigint values near the limits.
func fuzzDataSQL() []string {
	values := map[string][]string{
		"a":     {"NULL", "-3", "0", "1", "2", "2", "5", "7", "10", "42", "100", "NULL"},
		"c":     {"NULL", "0", "1", "-1", "2", "10", "42", "7", "7"},
		"t1_id": {"NULL", "1", "2", "3", "3", "5", "8", "13", "21", "29", "30", "31", "35"},
		"b":     {"NULL", "0", "-1", "1", "3", "1000000", "2147483648", "9000000000000000000", "-9000000000000000000", "3"},
		"v":     {"NULL", "1", "-5", "42", "0", "9000000000000000000", "-9000000000000000000"},
		"s":     {"NULL", "''", "'a'", "'A'", "'abc'", "'ABC'", "'a%c'", "'a_c'", "'hello world'", "' pad '", "'zeta'", "'über'", "'abc'"},
		"k":     {"NULL", "'abc'", "'a'", "'zeta'", "'x'", "'ABC'", "''"},
		"flag":  {"NULL", "TRUE", "FALSE", "TRUE"},
		"n":     {"NULL", "0", "1.50", "-2.25", "100.00", "3.14", "99999999.99", "1.5", "0.01", "0.333", "12345.678"},
	}
	declared := map[string]string{"t1.n": "numeric(10,2)"}
	rows := map[string]int{"t1": 30, "t2": 40, "t3": 12}

	rng := rand.New(rand.NewPCG(7, 11))
	var stmts []string
	for _, table := range fuzzSchema {
		var columns []string
		for _, c := range table.columns {
			typ := c.typ.name()
			if d, ok := declared[table.name+"."+c.name]; ok {
				typ = d
			}
			if c.name == "id" {
				typ += " PRIMARY KEY"
			}
			columns = append(columns, c.name+" "+typ)
		}
		stmts = append(stmts, fmt.Sprintf("CREATE TABLE %s (%s)", table.name, strings.Join(columns, ", ")))

		var tuples []string
		for id := 1; id <= rows[table.name]; id++ {
			tuple := []string{strconv.Itoa(id)}
			for _, c := range table.columns[1:] {
				tuple = append(tuple, values[c.name][rng.IntN(len(values[c.name]))])
			}
			tuples = append(tuples, "("+strings.Join(tuple, ", ")+")")
		}
		stmts = append(stmts, fmt.Sprintf("INSERT INTO %s VALUES %s", table.name, strings.Join(tuples, ", ")))
	}
	return stmts
}

// diffResult is the outcome of one statement on one engine.
type diffResult struct {
	err *pgconn.PgError
	// oids are the type OIDs of the result columns.
	oids []uint32
	// rows contain the values in the text format, nil for NULL.
	rows [][][]byte
}

// runDiffQuery runs sql on conn, whose engine is called name in messages.
// An error that does not come from the server, such as a closed
// connection, ends the test.
func runDiffQuery(t *testing.T, conn *pgx.Conn, name, sql string) diffResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), diffQueryTimeout)
	defer cancel()
	results, err := execAll(ctx, conn.PgConn(), sql)
	if err == nil && len(results) != 1 {
		t.Fatalf("%s returned %d results for one statement\nSQL: %s", name, len(results), sql)
	}
	if err == nil {
		err = results[0].Err
	}
	if err != nil {
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) {
			t.Fatalf("%s failed without an error from the server: %v\nSQL: %s", name, err, sql)
		}
		return diffResult{err: pgErr}
	}

	res := results[0]
	out := diffResult{rows: res.Rows}
	for _, f := range res.FieldDescriptions {
		out.oids = append(out.oids, f.DataTypeOID)
	}
	return out
}

// compareDiffResults compares pgkeep's result got with PostgreSQL's result
// want for q, and describes the first difference, or returns the empty
// string when they match.
func compareDiffResults(q query, got, want diffResult) string {
	switch {
	case got.err != nil && want.err != nil:
		if got.err.Code[:2] != want.err.Code[:2] {
			return fmt.Sprintf("both failed, with SQLSTATEs of different classes\npgkeep:     %s\nPostgreSQL: %s", describePgError(got.err), describePgError(want.err))
		}
		return ""
	case got.err != nil:
		return fmt.Sprintf("pgkeep failed, PostgreSQL returned %d rows\npgkeep: %s", len(want.rows), describePgError(got.err))
	case want.err != nil:
		return fmt.Sprintf("PostgreSQL failed, pgkeep returned %d rows\nPostgreSQL: %s", len(got.rows), describePgError(want.err))
	}

	if !slices.Equal(got.oids, want.oids) {
		return fmt.Sprintf("column type OIDs differ\npgkeep:     %v\nPostgreSQL: %v", got.oids, want.oids)
	}

	// Rows are compared with numeric values normalised first, in order
	// when the statement orders them totally, because the order of rows
	// that tie (1.5 and 1.50) is free. Where the scale is fixed, the
	// exact text must then match too.
	gotRows, wantRows := formatDiffRows(got, true), formatDiffRows(want, true)
	if !q.ordered {
		slices.Sort(gotRows)
		slices.Sort(wantRows)
	}
	if !slices.Equal(gotRows, wantRows) {
		return describeRowDifference(gotRows, wantRows, q.ordered)
	}
	if q.exactScale {
		gotRows, wantRows = formatDiffRows(got, false), formatDiffRows(want, false)
		slices.Sort(gotRows)
		slices.Sort(wantRows)
		if !slices.Equal(gotRows, wantRows) {
			return "numeric scales differ\n" + describeRowDifference(gotRows, wantRows, false)
		}
	}
	return ""
}

func describePgError(err *pgconn.PgError) string {
	return fmt.Sprintf("SQLSTATE %s %q", err.Code, err.Message)
}

// formatDiffRows prints each row of r on one line: values quoted, NULL as
// NULL. With normalise, numeric values lose trailing fractional zeros and
// floats are rounded to 12 significant digits.
func formatDiffRows(r diffResult, normalise bool) []string {
	lines := make([]string, len(r.rows))
	for i, row := range r.rows {
		values := make([]string, len(row))
		for j, v := range row {
			switch {
			case v == nil:
				values[j] = "NULL"
			case normalise && r.oids[j] == numericOID:
				values[j] = strconv.Quote(normaliseNumeric(string(v)))
			case normalise && (r.oids[j] == float4OID || r.oids[j] == float8OID):
				values[j] = strconv.Quote(normaliseFloat(string(v)))
			default:
				values[j] = strconv.Quote(string(v))
			}
		}
		lines[i] = strings.Join(values, ", ")
	}
	return lines
}

// normaliseNumeric removes trailing fractional zeros from a numeric in
// PostgreSQL's text format, so 1.50 and 1.5 print the same.
func normaliseNumeric(s string) string {
	if !strings.Contains(s, ".") || strings.ContainsAny(s, "eE") {
		return s
	}
	s = strings.TrimRight(s, "0")
	s = strings.TrimSuffix(s, ".")
	if s == "-0" {
		return "0"
	}
	return s
}

func normaliseFloat(s string) string {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	return strconv.FormatFloat(f, 'g', 12, 64)
}

// describeRowDifference shows the rows of both results where they
// differ: for ordered results the first differing position, otherwise the
// rows that only one side returned.
func describeRowDifference(got, want []string, ordered bool) string {
	const maxRows = 10
	var b strings.Builder
	fmt.Fprintf(&b, "rows differ (pgkeep %d rows, PostgreSQL %d rows)", len(got), len(want))
	if ordered {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		fmt.Fprintf(&b, ", first at row %d\npgkeep:\n%s\nPostgreSQL:\n%s", i+1,
			indentRows(got[i:min(len(got), i+maxRows)]), indentRows(want[i:min(len(want), i+maxRows)]))
		return b.String()
	}

	// Both slices are sorted, so a merge finds the rows of each side that
	// the other lacks, duplicates counted.
	var onlyGot, onlyWant []string
	i, j := 0, 0
	for i < len(got) || j < len(want) {
		switch {
		case j == len(want) || i < len(got) && got[i] < want[j]:
			onlyGot = append(onlyGot, got[i])
			i++
		case i == len(got) || want[j] < got[i]:
			onlyWant = append(onlyWant, want[j])
			j++
		default:
			i++
			j++
		}
	}
	fmt.Fprintf(&b, "\nonly pgkeep returned (%d):\n%s\nonly PostgreSQL returned (%d):\n%s",
		len(onlyGot), indentRows(onlyGot[:min(len(onlyGot), maxRows)]),
		len(onlyWant), indentRows(onlyWant[:min(len(onlyWant), maxRows)]))
	return b.String()
}

func indentRows(rows []string) string {
	if len(rows) == 0 {
		return "    (none)"
	}
	return "    " + strings.Join(rows, "\n    ")
}

// diffStats counts the outcomes of a run.
type diffStats struct {
	statements, bothReturned, bothFailed, mismatches int
	// nonEmpty counts the statements for which PostgreSQL returned rows.
	nonEmpty int
	// failedCodes counts PostgreSQL's SQLSTATEs of statements that failed
	// on both engines.
	failedCodes map[string]int
	// slowest is the longest time pgkeep took for one statement, the one
	// numbered slowestIndex.
	slowest      time.Duration
	slowestIndex uint64
	// slowestRelative and slowestRelativePostgres are pgkeep's and
	// PostgreSQL's times for statement slowestRelativeIndex, which has the
	// largest ratio of the two among the statements on which pgkeep took
	// at least minRelativeTime.
	slowestRelative, slowestRelativePostgres time.Duration
	slowestRelativeIndex                     uint64
}

// minRelativeTime keeps statements that are fast on both engines, whose
// ratio is mostly noise, out of diffStats.slowestRelative.
const minRelativeTime = 100 * time.Millisecond

// timed records that statement i took pgkeep and PostgreSQL the given
// times, client round trips included.
func (s *diffStats) timed(i uint64, pgkeep, postgres time.Duration) {
	if pgkeep > s.slowest {
		s.slowest, s.slowestIndex = pgkeep, i
	}
	if pgkeep < minRelativeTime || postgres <= 0 {
		return
	}
	if s.slowestRelative == 0 || float64(pgkeep)/float64(postgres) > float64(s.slowestRelative)/float64(s.slowestRelativePostgres) {
		s.slowestRelative, s.slowestRelativePostgres, s.slowestRelativeIndex = pgkeep, postgres, i
	}
}

func (s *diffStats) count(want, got diffResult) {
	s.statements++
	switch {
	case want.err == nil && got.err == nil:
		s.bothReturned++
		if len(want.rows) > 0 {
			s.nonEmpty++
		}
	case want.err != nil && got.err != nil:
		s.bothFailed++
		if s.failedCodes == nil {
			s.failedCodes = make(map[string]int)
		}
		s.failedCodes[want.err.Code]++
	}
}

func (s *diffStats) String() string {
	codes := make([]string, 0, len(s.failedCodes))
	for code, n := range s.failedCodes {
		codes = append(codes, fmt.Sprintf("%s: %d", code, n))
	}
	slices.Sort(codes)
	return fmt.Sprintf("%d statements: %d succeeded on both engines (%d of them with rows), %d failed on both (%s), %d mismatched",
		s.statements, s.bothReturned, s.nonEmpty, s.bothFailed, strings.Join(codes, ", "), s.mismatches)
}

func TestCompareDiffResults(t *testing.T) {
	row := func(values ...string) [][]byte {
		out := make([][]byte, len(values))
		for i, v := range values {
			if v != "NULL" {
				out[i] = []byte(v)
			}
		}
		return out
	}
	rows := func(rs ...[][]byte) [][][]byte { return rs }
	pgErr := func(code string) *pgconn.PgError { return &pgconn.PgError{Code: code, Message: "failed"} }
	const int4OID, textOID = 23, 25

	tests := []struct {
		name      string
		q         query
		got, want diffResult
		// mismatch is a substring of the expected description, or empty
		// when the results must match.
		mismatch string
	}{
		{
			name: "unordered rows in another order",
			got:  diffResult{oids: []uint32{int4OID}, rows: rows(row("2"), row("1"))},
			want: diffResult{oids: []uint32{int4OID}, rows: rows(row("1"), row("2"))},
		},
		{
			name:     "ordered rows in another order",
			q:        query{ordered: true},
			got:      diffResult{oids: []uint32{int4OID}, rows: rows(row("2"), row("1"))},
			want:     diffResult{oids: []uint32{int4OID}, rows: rows(row("1"), row("2"))},
			mismatch: "first at row 1",
		},
		{
			name:     "duplicate counts differ",
			got:      diffResult{oids: []uint32{textOID}, rows: rows(row("a"), row("a"), row("b"))},
			want:     diffResult{oids: []uint32{textOID}, rows: rows(row("a"), row("b"), row("b"))},
			mismatch: "only pgkeep returned (1):\n    \"a\"\nonly PostgreSQL returned (1):\n    \"b\"",
		},
		{
			name:     "NULL and the text NULL",
			got:      diffResult{oids: []uint32{textOID}, rows: rows(row("NULL"))},
			want:     diffResult{oids: []uint32{textOID}, rows: rows([][]byte{[]byte("NULL")})},
			mismatch: "rows differ",
		},
		{
			name:     "numeric scale where it is fixed",
			q:        query{exactScale: true},
			got:      diffResult{oids: []uint32{numericOID}, rows: rows(row("1.50"))},
			want:     diffResult{oids: []uint32{numericOID}, rows: rows(row("1.5"))},
			mismatch: "numeric scales differ",
		},
		{
			name: "numeric scale where it is free",
			got:  diffResult{oids: []uint32{numericOID}, rows: rows(row("1.50"), row("-0.0"))},
			want: diffResult{oids: []uint32{numericOID}, rows: rows(row("1.5"), row("0"))},
		},
		{
			name: "ordered numeric ties printed differently",
			q:    query{ordered: true, exactScale: true},
			got:  diffResult{oids: []uint32{numericOID}, rows: rows(row("1.50"), row("1.5"))},
			want: diffResult{oids: []uint32{numericOID}, rows: rows(row("1.5"), row("1.50"))},
		},
		{
			name:     "column types differ",
			got:      diffResult{oids: []uint32{numericOID}, rows: rows(row("1"))},
			want:     diffResult{oids: []uint32{int4OID}, rows: rows(row("1"))},
			mismatch: "column type OIDs differ",
		},
		{
			name: "errors of one class",
			got:  diffResult{err: pgErr("22003")},
			want: diffResult{err: pgErr("22012")},
		},
		{
			name:     "errors of different classes",
			got:      diffResult{err: pgErr("0A000")},
			want:     diffResult{err: pgErr("22012")},
			mismatch: "SQLSTATEs of different classes",
		},
		{
			name:     "only pgkeep failed",
			got:      diffResult{err: pgErr("22012")},
			want:     diffResult{oids: []uint32{int4OID}, rows: rows(row("1"))},
			mismatch: "pgkeep failed, PostgreSQL returned 1 rows",
		},
		{
			name:     "only PostgreSQL failed",
			got:      diffResult{oids: []uint32{int4OID}},
			want:     diffResult{err: pgErr("22012")},
			mismatch: "PostgreSQL failed, pgkeep returned 0 rows",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := compareDiffResults(tt.q, tt.got, tt.want)
			if tt.mismatch == "" && msg != "" {
				t.Errorf("reported a mismatch for matching results:\n%s", msg)
			}
			if tt.mismatch != "" && !strings.Contains(msg, tt.mismatch) {
				t.Errorf("description %q does not contain %q", msg, tt.mismatch)
			}
		})
	}
}

func TestGeneratedQueriesParse(t *testing.T) {
	for i := range uint64(500) {
		q := newGenerator(defaultDiffSeed, i).query()
		if _, err := pg_query.Parse(q.sql); err != nil {
			t.Fatalf("statement %d does not parse: %v\nSQL: %s", i, err, q.sql)
		}
		if strings.Contains(q.sql, "%!") {
			t.Fatalf("statement %d has a formatting error:\n%s", i, q.sql)
		}
	}
}
