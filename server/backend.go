package server

import (
	"context"

	"github.com/pgkeep/pgkeep/protocol"
	"github.com/pgkeep/pgkeep/security"
)

// Backend is the interface to the rest of pgkeep that the server needs:
// authentication and sessions. The wiring in cmd implements it, and tests
// use fakes.
type Backend interface {
	// Authenticate runs the authentication conversation. The Result is
	// logged on success and on failure. An error ends the connection with
	// its SQLSTATE and message, sent with severity FATAL.
	Authenticate(ctx context.Context, ci security.ConnInfo, ex security.Exchange) (security.Result, error)
	// NewSession creates the execution session of an authenticated user. It
	// returns the ParameterStatus values to send after AuthenticationOk, in
	// order.
	NewSession(ctx context.Context, info SessionInfo) (protocol.Session, []ParameterStatus, error)
}

// SessionInfo describes an authenticated connection.
type SessionInfo struct {
	User, Database string
	// Params contains the startup parameters except user, database and the
	// protocol options that start with "_pq_.".
	Params     map[string]string
	Source     security.Source
	RemoteAddr string
	// PID is the process ID sent in BackendKeyData.
	PID uint32
}

// ParameterStatus is one session parameter reported to the client.
type ParameterStatus struct{ Name, Value string }
