// Package executor parses, plans and runs SQL statements for one session
// at a time.
//
// # Statement flow
//
// A statement text is parsed once per session: parseQuery recognises
// pgkeep's own statements with a pre-parser built on PostgreSQL's lexer
// (pg_query.Scan), so quoting, comments and dollar quoting behave as in
// PostgreSQL, and hands everything else to pg_query.Parse. The session
// caches the parse result by text, and each statement keeps its analysed
// plan until the catalog's schema version changes. Prepared statements of
// the extended protocol keep their plan the same way, so a hot statement is
// neither parsed nor planned again.
//
// Analysis (the analyser type) resolves names against the catalog and the
// search_path, types every expression (builder, expr.go), infers parameter
// types and checks the session's role for DDL and user management. It
// builds a plan whose run function executes the statement as a pipeline of
// row iterators. The pipeline starts with a scan of the primary index or
// of a secondary index: a point get, a key range, or one range per value
// of an IN list or = ANY (array), when the WHERE clause constrains the key
// (scan.go). An ORDER BY on an index's leading columns reads that index
// forwards or backwards instead of sorting (order.go). The pipeline
// continues with filter, aggregation, projection, sort, DISTINCT and
// LIMIT.
//
// FROM items become relations (relation.go): table scans, joins, derived
// tables, WITH queries and views, whose stored query is analysed again for
// the reader. WHERE conjuncts that read one table of a join tree filter
// that table's scan (pushdown.go). A join on equality keys whose right side
// is a table indexed on those keys reads up to 64 left rows first. When the
// left side ends there, it looks each left row's key up in the right table.
// Otherwise it builds a hash table over the right side. Joins without
// equality keys are nested loops.
//
// The pg_catalog and information_schema tables (pgcatalog*.go,
// infoschema_*.go) are virtual tables computed here rather than in
// package catalog, as DESIGN.md places them: their columns hold type
// names, default expressions and constraint definitions that only the
// executor can render. checkdef.go prints CHECK conditions with the
// implicit casts that PostgreSQL's deparser shows.
// Subqueries in expressions (subquery.go) run once per execution, or once
// per row of the enclosing query when they are correlated.
//
// # Access control
//
// Every table reference is checked with package security (access.go) for
// the acting user: the session's user, or the target of EXECUTE AS USER.
// Rows of USER and STREAM tables are stored under their owner's user ID,
// and a scan reads only the acting user's part of the key space unless the
// role may read all users' rows, so no query shape reaches other users'
// rows. Writes always go to the acting user's rows.
//
// # Sequences and temporary tables
//
// Sequences (sequence.go, sequence_funcs.go) are DDL objects: creating,
// altering and dropping one needs the dba or system role, like CREATE
// TABLE. nextval, currval, setval, lastval and SELECT * FROM a sequence
// are open to every logged-in user, whatever the role, because pgkeep has
// no per-object privileges to grant USAGE with. Like in PostgreSQL,
// nextval and setval are not transactional.
//
// Temporary tables and sequences (temporary.go) live in a schema private
// to the session, pg_temp_N, which name resolution searches before the
// search_path. Every role may create them, as PostgreSQL grants TEMP to
// PUBLIC, and the session may alter, index, truncate and drop them. They
// are SHARED tables that no other session can name, so the access levels
// do not apply to them. The session drops them when it ends, and the node
// drops any left by a crash when it starts.
//
// # Transactions
//
// Every statement runs in a kv transaction. Outside BEGIN ... COMMIT, a
// simple Query message is one implicit transaction, and in the extended
// protocol the implicit transaction lasts until Sync, as in PostgreSQL. An
// error inside a transaction block puts it in the failed state (ReadyForQuery
// status E) until ROLLBACK or COMMIT. Settings changed by SET are restored
// when their transaction rolls back, and SET LOCAL ones when it ends.
//
// kv detects write conflicts at commit, and the loser fails with 40001.
// When that loser is an implicit transaction whose only write statement is
// an INSERT, UPDATE or DELETE, and the statement's output has not been
// sent, the session withdraws the output and runs the statement again in
// a new transaction (retry.go). Autocommit writes to one row from many
// connections therefore succeed, as under PostgreSQL's row locks. Explicit
// transactions still get the 40001, as DESIGN.md specifies.
//
// # Datums
//
// Values are plain Go values chosen so that pgtype can encode them for the
// wire (datum.go lists them); numerics are apd decimals, converted to
// pgtype.Numeric when a row is sent. Rows are stored as the column values
// tagged by column ID (rowenc.go), under keys built from the primary key
// columns with package kv's order-preserving encoding.
//
// # Dependencies
//
// The executor implements protocol.Session, so it imports package protocol
// for that contract (Session, ResultSink, Column) and for pgtext's output
// formats. Package protocol itself does not import the executor.
package executor
