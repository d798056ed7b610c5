package protocol

import (
	"context"
	"io"
)

// Session is the execution side of one connection, as the protocol sees it.
// The server wires in the executor; protocol tests use a fake. Calls on a
// Session come from a single goroutine.
type Session interface {
	// ExecSimple runs the statements of one simple Query message in order and
	// reports their results to sink. The statements run as one implicit
	// transaction unless the text contains transaction control statements.
	// The first failing statement stops the message and its error is
	// returned; results already sent stay sent.
	ExecSimple(ctx context.Context, query string, sink ResultSink) error

	// Prepare parses and analyses one statement. paramOIDs are the types the
	// client gave (0 = infer); the returned statement carries the final ones.
	Prepare(ctx context.Context, query string, paramOIDs []uint32) (PreparedStatement, error)

	// Bind creates a portal from a prepared statement and decoded parameter
	// values. A value is nil for SQL NULL, otherwise the Go value that
	// pgtype decodes for the parameter's OID (a string for OID 0).
	Bind(ctx context.Context, stmt PreparedStatement, params []any) (Portal, error)

	// Sync ends an extended-query sequence: an implicit transaction that
	// Execute started is committed, or rolled back when a statement in it
	// failed. The protocol calls it on every Sync message, including Syncs
	// that end an error-discard phase. An error (such as a 40001 commit
	// conflict) is sent to the client before ReadyForQuery.
	Sync(ctx context.Context) error

	// TxnStatus returns the ReadyForQuery status: 'I' idle, 'T' in a
	// transaction block, 'E' in a failed transaction block.
	TxnStatus() byte

	// Close rolls back an open transaction and releases the session.
	Close()
}

// PreparedStatement is an analysed statement that can be bound many times.
type PreparedStatement interface {
	// ParamOIDs returns the type OIDs of the parameters $1..$n.
	ParamOIDs() []uint32
	// Columns returns the result columns, or nil when the statement returns
	// no rows.
	Columns() []Column
}

// Portal is a bound statement ready to run, possibly in several Execute
// steps.
type Portal interface {
	// Columns returns the result columns, or nil when no rows are returned.
	Columns() []Column
	// Execute sends up to maxRows rows (0 = all) to sink. It returns
	// suspended=true when rows remain, in which case no command tag was sent.
	// Otherwise it has sent the command tag through sink.Complete.
	Execute(ctx context.Context, sink ResultSink, maxRows int) (suspended bool, err error)
	// Close releases the portal's resources.
	Close()
}

// Column describes one result column for RowDescription.
type Column struct {
	Name         string
	TableOID     uint32
	AttrNumber   int16
	TypeOID      uint32
	TypeSize     int16
	TypeModifier int32
}

// OutputMark is a position in a connection's output, taken by
// Rewinder.Mark.
type OutputMark struct {
	flushes uint64
	pos     int
}

// Rewinder is implemented by the ResultSink of a connection. Output written
// after a mark can be withdrawn as long as none of it has been sent, which
// lets a session run a statement again after its implicit transaction
// failed to commit.
type Rewinder interface {
	// Mark returns the current end of the output.
	Mark() OutputMark
	// Rewind drops the output written since m and reports true, or reports
	// false and changes nothing when part of it has been sent.
	Rewind(m OutputMark) bool
}

// StatementDeallocator is implemented by the ResultSink of a connection.
// It drops the connection's prepared statements for SQL's DEALLOCATE and
// DISCARD ALL, which share their namespace in PostgreSQL.
type StatementDeallocator interface {
	// DeallocateStatement drops the named prepared statement and reports
	// whether it existed.
	DeallocateStatement(name string) bool
	// DeallocateAllStatements drops every named prepared statement.
	DeallocateAllStatements()
}

// ResultSink receives the results of execution. The protocol layer encodes
// them onto the wire.
type ResultSink interface {
	// Describe announces the columns of the rows that follow. ExecSimple
	// calls it before the rows of each row-returning statement; Portal.Execute
	// never calls it because Describe messages carry that information.
	Describe(cols []Column) error
	// Row sends one row. A nil element is SQL NULL; other elements are values
	// that pgtype can encode for the column's type OID. The slice may be
	// reused by the caller after Row returns.
	Row(values []any) error
	// Complete ends a statement with its command tag, such as "INSERT 0 1".
	Complete(tag string) error
	// EmptyQuery reports an empty statement.
	EmptyQuery() error
	// ParameterStatus reports a changed session parameter that clients track.
	ParameterStatus(name, value string) error
	// Notice sends a NoticeResponse.
	Notice(severity, code, message string) error

	// CopyIn starts COPY FROM STDIN. It sends CopyInResponse with the
	// overall format (0 text, 1 binary) and one format code per column, and
	// returns a reader of the bytes of the client's CopyData messages, in
	// order and without message boundaries. The reader returns io.EOF after
	// CopyDone, error 57014 after CopyFail and error 08P01 for a message
	// other than CopyData, CopyDone, CopyFail, Flush or Sync; it skips Flush
	// and Sync, as PostgreSQL does. It is valid until the statement returns.
	// A statement that stops reading early, such as after a bad row, leaves
	// the remaining COPY messages to the connection, which discards them.
	CopyIn(format int16, columnFormats []int16) (io.Reader, error)
	// CopyOut starts COPY TO STDOUT. It sends CopyOutResponse and returns
	// a writer whose every Write sends one CopyData message and whose
	// Close sends CopyDone. The statement then ends with Complete.
	CopyOut(format int16, columnFormats []int16) (io.WriteCloser, error)
}
