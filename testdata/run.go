package testdata

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// RecordTimeout bounds each record, so a hung server fails the record
// instead of the whole test binary.
const RecordTimeout = 30 * time.Second

// boolOID is the type OID of PostgreSQL's bool.
const boolOID = 16

// Failure is a record whose outcome differed from its expectation.
type Failure struct {
	Line    int
	Message string
}

// Outcome is the result of running one file.
type Outcome struct {
	Failures []Failure
	// Ran and Skipped count the records run and the records skipped by
	// their conditions. Records after a halt count as neither.
	Ran     int
	Skipped int

	// actual contains the printed rows of every query that returned rows,
	// for rewriting.
	actual map[*Record][]string
}

// Run executes the records of f that run on engine, in order, over conn
// with the simple query protocol. It stops early at a halt record or when
// the connection closes.
func Run(ctx context.Context, conn *pgconn.PgConn, f *File, engine string) *Outcome {
	out := &Outcome{actual: make(map[*Record][]string)}
	for _, r := range f.Records {
		if !r.RunsOn(engine) {
			out.Skipped++
			continue
		}
		if r.Kind == KindHalt {
			break
		}
		out.Ran++

		if msg := runRecord(ctx, conn, r, out); msg != "" {
			out.Failures = append(out.Failures, Failure{Line: r.Line, Message: msg})
		}
		if conn.IsClosed() {
			out.Failures = append(out.Failures, Failure{Line: r.Line, Message: "connection closed after this record; the remaining records did not run"})
			break
		}
	}
	return out
}

// runRecord runs one record and returns a description of its failure, or
// the empty string when it met its expectation.
func runRecord(ctx context.Context, conn *pgconn.PgConn, r *Record, out *Outcome) string {
	ctx, cancel := context.WithTimeout(ctx, RecordTimeout)
	defer cancel()
	results, err := execAll(ctx, conn, r.SQL)
	if err == nil {
		for _, res := range results {
			if res.Err != nil {
				err = res.Err
				break
			}
		}
	}

	if r.Error != nil {
		return checkError(r, err)
	}
	if err != nil {
		return fmt.Sprintf("unexpected error\nSQL:\n%s\nerror: %s", indent(r.SQL), describeError(err))
	}
	if r.Kind != KindQuery {
		return ""
	}

	if len(results) != 1 {
		return fmt.Sprintf("a query record must run exactly one statement, but it returned %d results\nSQL:\n%s", len(results), indent(r.SQL))
	}
	res := results[0]
	if len(res.FieldDescriptions) != len(r.Types) {
		return fmt.Sprintf("expected %d result columns (%q), got %d\nSQL:\n%s",
			len(r.Types), r.Types, len(res.FieldDescriptions), indent(r.SQL))
	}
	actual := formatResult(res, r.Sort)
	out.actual[r] = actual
	if slices.Equal(r.Expected, actual) {
		return ""
	}
	return fmt.Sprintf("results differ\nSQL:\n%s\nexpected:\n%s\nactual:\n%s",
		indent(r.SQL), indent(strings.Join(r.Expected, "\n")), indent(strings.Join(actual, "\n")))
}

// execAll runs sql and reads every result. Unlike pgconn's ReadAll it
// keeps the column descriptions of results without rows, so a query that
// returns no rows still has its columns counted.
func execAll(ctx context.Context, conn *pgconn.PgConn, sql string) ([]*pgconn.Result, error) {
	mrr := conn.Exec(ctx, sql)
	var results []*pgconn.Result
	for mrr.NextResult() {
		rr := mrr.ResultReader()
		res := &pgconn.Result{FieldDescriptions: slices.Clone(rr.FieldDescriptions())}
		for rr.NextRow() {
			row := make([][]byte, len(rr.Values()))
			for i, v := range rr.Values() {
				// The reader reuses its buffer. A nil value is NULL, so an
				// empty value must stay non-nil.
				if v != nil {
					row[i] = append([]byte{}, v...)
				}
			}
			res.Rows = append(res.Rows, row)
		}
		res.CommandTag, res.Err = rr.Close()
		results = append(results, res)
	}
	return results, mrr.Close()
}

// checkError compares err, the outcome of a record expecting an error,
// with the record's ErrorSpec.
func checkError(r *Record, err error) string {
	spec := r.Error
	if err == nil {
		return fmt.Sprintf("expected error %s, but the statement succeeded\nSQL:\n%s", spec, indent(r.SQL))
	}
	message, code := err.Error(), ""
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		message, code = pgErr.Message, pgErr.Code
	}
	if spec.Code != "" && spec.Code != code {
		return fmt.Sprintf("expected error %s, got %s\nSQL:\n%s", spec, describeError(err), indent(r.SQL))
	}
	if spec.Message != nil && !spec.Message.MatchString(message) {
		return fmt.Sprintf("expected error %s, got %s\nSQL:\n%s", spec, describeError(err), indent(r.SQL))
	}
	return ""
}

// describeError prints err with its SQLSTATE when the server sent one.
func describeError(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return fmt.Sprintf("SQLSTATE %s %q", pgErr.Code, pgErr.Message)
	}
	return fmt.Sprintf("%q (no SQLSTATE: not an error from the server)", err.Error())
}

// formatResult prints the rows of res as the file format expects them.
func formatResult(res *pgconn.Result, mode SortMode) []string {
	var lines []string
	for _, row := range res.Rows {
		values := make([]string, len(row))
		for i, v := range row {
			values[i] = formatValue(v, res.FieldDescriptions[i].DataTypeOID)
		}
		if mode == ValueSort {
			lines = append(lines, values...)
		} else {
			lines = append(lines, strings.Join(values, " "))
		}
	}
	if mode != NoSort {
		sort.Strings(lines)
	}
	return lines
}

// formatValue prints one value of the server's text output.
func formatValue(v []byte, typeOID uint32) string {
	switch {
	case v == nil:
		return "NULL"
	case len(v) == 0:
		return "·"
	case typeOID == boolOID && string(v) == "t":
		return "true"
	case typeOID == boolOID && string(v) == "f":
		return "false"
	}
	// NOTE: a value containing a newline spans several lines and is
	// compared as those lines.
	return string(v)
}

func indent(s string) string {
	if s == "" {
		return "    (no rows)"
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// Rewrite replaces the expected rows of every query in f that returned
// rows in out with the actual rows, and writes f back to its path.
// Records that failed for another reason, were skipped, or expect an
// error keep their text.
func Rewrite(f *File, out *Outcome) error {
	var lines []string
	next := 0
	for _, r := range f.Records {
		actual, ok := out.actual[r]
		if !ok {
			continue
		}
		lines = append(lines, f.lines[next:r.sqlEnd]...)
		if len(actual) > 0 || r.resultEnd > r.resultStart {
			lines = append(lines, resultSeparator)
			lines = append(lines, actual...)
		}
		next = r.resultEnd
	}
	lines = append(lines, f.lines[next:]...)
	return os.WriteFile(f.Path, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}
