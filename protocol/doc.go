// Package protocol runs the PostgreSQL frontend/backend protocol version 3.0
// for one authenticated connection. It turns client messages into calls on a
// Session and encodes the results onto the wire. It does not execute SQL
// or touch storage. The server package wires in the executor, and the tests
// use a fake Session.
//
// # Connection lifecycle
//
// The server package reads the startup packet, authenticates the client and
// sends AuthenticationOk, ParameterStatus and BackendKeyData. It then calls
// NewConn and Serve. From there:
//
//  1. Serve sends ReadyForQuery with Session.TxnStatus and reads messages
//     with pgproto3.Backend.Receive, which enforces Config.MaxMessageSize.
//  2. Query (simple.go) drops the unnamed statement and portal, runs
//     Session.ExecSimple with a ResultSink that writes RowDescription (text
//     format), DataRow, CommandComplete, EmptyQueryResponse, NoticeResponse
//     and ParameterStatus, sends an ErrorResponse if a statement failed, and
//     ends with ReadyForQuery.
//  3. Parse, Bind, Describe, Execute and Close (extended.go) keep prepared
//     statements and portals by name, "" being the unnamed one. Bind decodes
//     parameters by type OID in text or binary through pgtype (params.go).
//     Execute with a row limit ends with PortalSuspended while rows remain.
//     The first error sends an ErrorResponse and discards every message but
//     Terminate until Sync.
//  4. Sync calls Session.Sync, which ends an implicit transaction, closes all
//     portals when the session is idle, and sends ReadyForQuery.
//  5. Terminate, end of input, or the end of Serve's context ends the loop.
//     Serve always closes the session, which rolls back an open transaction.
//
// # COPY
//
// A statement runs COPY through its ResultSink (copy.go). CopyIn sends and
// flushes CopyInResponse and returns a reader that takes CopyData messages
// straight from the connection, one at a time, until CopyDone (io.EOF),
// CopyFail (57014) or any other message except Flush and Sync (08P01).
// A client may send its data before it reads CopyInResponse: the data
// waits in the socket until the reader takes it, and CopyInResponse is
// flushed before the first read. CopyOut sends
// CopyOutResponse, one CopyData per Write and CopyDone on Close. COPY
// messages that arrive after a COPY ended with an error are discarded, as
// PostgreSQL does. A connection that fails while a COPY reads from it ends
// once the statement returns.
//
// Cancel, called by the server when a CancelRequest names this connection,
// cancels the context of the running statement; the Session reports 57014.
//
// # Output
//
// Messages are appended to one buffer per connection (write.go) and written
// on Sync, Flush, ReadyForQuery, a FATAL error, or once 64 KiB are pending.
// DataRow values are encoded in place with the connection's pgtype.Map by
// the column's type OID and format (encode.go), without allocations of their
// own. The ResultSink is also a Rewinder: output still in the buffer can be
// withdrawn, so a session can run a statement again after its implicit
// transaction failed to commit. It is also a StatementDeallocator, through
// which SQL's DEALLOCATE and DISCARD ALL drop the connection's prepared
// statements.
//
// # Errors
//
// ErrorResponse (errors.go) converts any error through pgerror.Flatten. An
// error without a SQLSTATE is logged and sent as XX000. Protocol violations
// (unknown message type, oversized or malformed message) are sent as FATAL
// 08P01 and close the connection, as PostgreSQL does. A panic while handling
// a message is recovered in Serve, logged with its stack and sent as FATAL
// XX000; only that connection closes.
package protocol
