// Package testdata runs pgkeep's SQL logic tests: the sqllogictest files
// under sql/, whose expected results come from a real PostgreSQL.
//
// # Running
//
//	go test ./testdata/                           # against a fresh pgkeep node per file
//	go test ./testdata/ -run 'TestSQLLogic/select' # one file
//	PGKEEP_SLT_PG="host=127.0.0.1 port=55432 user=oracle password=oracle dbname=oracle sslmode=disable" \
//	    go test ./testdata/                       # against PostgreSQL
//	go test ./testdata/ -pg "..." -rewrite        # rewrite expected results from PostgreSQL
//
// With a PostgreSQL target the package also runs TestDifferentialFuzz,
// which sends random SELECT statements to a fresh pgkeep node and to the
// PostgreSQL and reports every difference (difffuzz_test.go lists its
// settings: PGKEEP_DIFF_PG, PGKEEP_DIFF_SEED, PGKEEP_DIFF_QUERIES and
// PGKEEP_DIFF_TIME). `make test-pg` starts a PostgreSQL and runs both.
//
// Against PostgreSQL each file runs in a database of its own, created
// before the file and dropped after it, and files tagged "# pgkeep-only"
// are skipped. -rewrite is accepted only with a PostgreSQL target, because
// the expected results must be PostgreSQL's and never pgkeep's.
//
// NOTE: the expected results were produced by PostgreSQL 15 with the C.UTF-8
// collation, so text sorts by code point ("Eve" before "carla"). A server
// with another collation orders some rows differently.
//
// # File format
//
// Records are separated by blank lines. Lines starting with # between
// records are comments, and a line "# pgkeep-only" anywhere outside a
// record marks the whole file as using pgkeep's own statements.
//
//	statement ok
//	statement error <regexp>
//	statement error SQLSTATE <code> [<regexp>]
//	    run the SQL that follows, up to the next blank line, and expect
//	    success or an error whose message matches the regular expression
//	    and, when given, whose SQLSTATE equals the code.
//
//	query <types> [nosort|rowsort|valuesort]
//	<SQL>
//	----
//	<expected rows>
//	    run one statement and compare its rows. <types> has one letter per
//	    result column (T text, I integer, R float or numeric, B bool), and
//	    only the number of letters is checked. Each row is printed on one
//	    line as its values joined by single spaces: NULL as "NULL", the
//	    empty string as "·", booleans as "true" and "false", anything else
//	    as the server's text output. rowsort sorts the printed rows,
//	    valuesort prints every value on a line of its own and sorts those
//	    lines, and nosort (the default) keeps the server's order. A query
//	    without "----" expects no rows.
//
//	query error ...
//	    the same forms as statement error, for a query expected to fail.
//
//	halt
//	    stop the file here.
//
// A record can be preceded by lines "skipif <engine>" or "onlyif
// <engine>", where the engine is pgkeep or postgres. Comments may sit
// between those lines and the record, but blank lines may not.
package testdata
