// Package server accepts PostgreSQL client connections on TCP and a unix
// socket, drives the startup and authentication handshake, and hands each
// authenticated connection to the protocol package. It does not handle SQL:
// a Backend supplied by the caller authenticates users and creates sessions.
//
// # Connection lifecycle
//
//  1. Accept (listener.go). Each connection gets its own goroutine, which
//     recovers its own panic, logs the stack and closes only that
//     connection. The source is decided from the socket alone
//     (source.go): unix socket = local, TCP from 127.0.0.0/8 or ::1 =
//     loopback, anything else = remote.
//  2. Startup packets (startup.go), within Config.AuthenticationTimeout. A
//     packet shorter than 8 or longer than 10,000 bytes closes the connection
//     without a reply. The server replies 'N' to GSSENCRequest, and to
//     SSLRequest when Config.TLS is nil or the connection is a unix socket.
//     Otherwise it replies 'S' and runs a TLS handshake of version 1.2 or
//     newer (tls.go), and the startup continues on the encrypted stream. A
//     second SSLRequest gets FATAL 08P01. With Config.RequireTLSRemote, a
//     StartupMessage from a remote address without TLS gets FATAL 28000.
//     CancelRequest cancels the running statement of the connection with
//     that PID and secret key (cancel.go) and closes without a reply. A
//     protocol major version other than 3 gets FATAL 0A000; version 3.x with
//     x > 0, or "_pq_." options, get NegotiateProtocolVersion for 3.0. A
//     missing user gets FATAL 28000; the database defaults to the user name.
//  3. Connection limit: beyond Config.MaxConnections sessions the client gets
//     FATAL 53300.
//  4. Authentication (auth_exchange.go): Backend.Authenticate talks to the
//     client through a security.Exchange that sends the cleartext password
//     and SASL requests and reads the replies. On TLS connections
//     security.ConnInfo carries the tls-server-end-point channel binding
//     data (RFC 5929) of the certificate the server sent, for
//     SCRAM-SHA-256-PLUS. A failure is logged with the
//     method and reason and sent as FATAL with its SQLSTATE.
//  5. Session: AuthenticationOk, Backend.NewSession, its ParameterStatus
//     values, and BackendKeyData with a random PID and a random 4-byte secret
//     key registered for cancel requests.
//  6. protocol.Conn.Serve runs the message loop until the client leaves.
//
// Shutdown closes the listeners, cancels every connection's context (which
// cancels running statements and ends sessions with FATAL 57P01), and waits
// for the goroutines, closing the sockets that outlast its context.
package server
