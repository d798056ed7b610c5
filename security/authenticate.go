package security

import (
	"context"
	"errors"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// Source of a connection, decided by the server from the socket alone.
type Source int

const (
	SourceLocal    Source = iota // unix socket
	SourceLoopback               // TCP from 127.0.0.0/8 or ::1
	SourceRemote                 // any other address
)

// String returns the name of the source as pg_hba.conf-like rules and logs
// use it: "local", "loopback" or "remote".
func (s Source) String() string {
	switch s {
	case SourceLocal:
		return "local"
	case SourceLoopback:
		return "loopback"
	case SourceRemote:
		return "remote"
	default:
		return "unknown"
	}
}

// ConnInfo describes the connection being authenticated. User and Database
// come from the startup message.
type ConnInfo struct {
	User, Database string
	Source         Source
	RemoteAddr     string
	// TLS is set when the connection runs over TLS.
	TLS bool
	// ChannelBinding is the tls-server-end-point channel binding data of a
	// TLS connection (RFC 5929): the hash of the server certificate. It is
	// empty without TLS.
	ChannelBinding []byte
	// Params are the startup parameters other than user and database, such
	// as options=-c pgkeep.auth=jwt.
	Params map[string]string
}

// Values of Result.Method.
const (
	MethodTrust       = "trust"
	MethodSCRAMSHA256 = "scram-sha-256"
	MethodPassword    = "password"
	// MethodReject is for rules that turn a connection away without an
	// exchange. Authenticate does not choose it yet.
	MethodReject = "reject"
)

// Values of Result.Reason for logins that fail like a wrong password.
const (
	ReasonUnknownUser        = "unknown user"
	ReasonWrongPassword      = "wrong password"
	ReasonUserDeleted        = "user deleted"
	ReasonRemoteInternal     = "internal user from remote address"
	ReasonNoPassword         = "no password set"
	ReasonNoSCRAMVerifier    = "no SCRAM verifier set"
	ReasonOAuthUser          = "oauth user"
	ReasonUnknownAuthType    = "unknown auth type"
	ReasonInvalidBcryptHash  = "stored bcrypt hash is invalid"
	ReasonInvalidSCRAMSecret = "stored SCRAM verifier is invalid"
	ReasonEmptyPassword      = "empty password"
	ReasonLookupFailed       = "credential lookup failed"
)

// Result of a successful or failed authentication, for logging.
type Result struct {
	// Method is the method that ran: "trust", "scram-sha-256" or "password".
	Method string
	// Reason explains a failure for the server log only. It is one of the
	// Reason constants or the message of a protocol error, and never contains
	// a password, hash, verifier, nonce, proof or signature.
	Reason string
}

// Authenticate chooses the method for the connection and runs it.
//
// An internal user connecting over a unix socket or loopback is trusted
// without any exchange. Every other login runs Config.PasswordMethod. Some
// logins cannot succeed: unknown, deleted or OAuth users, users without a
// usable password, and internal users from a remote address without remote
// access. They still run the full exchange, with a mock verifier for SCRAM,
// and fail with the same FATAL 28P01 `password authentication failed for user
// "<name>"` as a wrong password. Malformed client messages fail with 08P01 or 0A000 and the
// message PostgreSQL 16 uses. Result.Reason records the real cause for the log.
func (a *Authenticator) Authenticate(ctx context.Context, ci ConnInfo, store CredentialStore, ex Exchange) (Result, error) {
	creds, found, err := store.LookupCredentials(ctx, ci.User)
	if err != nil {
		return Result{Reason: ReasonLookupFailed}, lookupError(err, ci.User)
	}

	if found && !creds.Deleted && creds.AuthType == AuthInternal && ci.Source != SourceRemote {
		return Result{Method: MethodTrust}, nil
	}

	doomReason := a.doomReason(ci, creds, found)
	if a.cfg.PasswordMethod == PasswordMethodPassword {
		return a.authenticatePassword(ci.User, creds, doomReason, ex)
	}
	return a.authenticateSCRAM(ci.User, creds, doomReason, ex)
}

// doomReason returns why a login cannot succeed whatever the client sends, or
// "" when a correct password would let the user in.
func (a *Authenticator) doomReason(ci ConnInfo, creds Credentials, found bool) string {
	if !found {
		return ReasonUnknownUser
	}
	if creds.Deleted {
		return ReasonUserDeleted
	}

	switch creds.AuthType {
	case AuthPassword:
	case AuthInternal:
		// Local and loopback internal users were trusted before this point.
		if !a.cfg.AllowRemoteAccess && !creds.AllowRemote {
			return ReasonRemoteInternal
		}
	case AuthOAuth:
		// TODO: verify a JWT sent as the cleartext password for OAuth users.
		return ReasonOAuthUser
	default:
		return ReasonUnknownAuthType
	}

	if creds.BcryptHash == "" && creds.SCRAMVerifier == "" {
		return ReasonNoPassword
	}
	return ""
}

// authFailed returns the one error for every login that fails on credentials,
// whatever the real reason.
func authFailed(user string) *pgerror.Error {
	return pgerror.New(pgcode.InvalidPassword,
		`password authentication failed for user "`+user+`"`).WithSeverity(pgerror.SeverityFatal)
}

// fatal marks err, created by this package, as FATAL: PostgreSQL ends the
// connection on any error during authentication.
func fatal(err *pgerror.Error) *pgerror.Error {
	return err.WithSeverity(pgerror.SeverityFatal)
}

// exchangeError passes on an error from Exchange, giving it a SQLSTATE if it
// has none.
func exchangeError(err error) error {
	var pe *pgerror.Error
	if errors.As(err, &pe) {
		return err
	}
	return fatal(pgerror.Wrapf(err, pgcode.ProtocolViolation, "authentication exchange failed"))
}

func lookupError(err error, user string) error {
	var pe *pgerror.Error
	if errors.As(err, &pe) {
		return err
	}
	return fatal(pgerror.Wrapf(err, pgcode.InternalError, `looking up credentials of user "%s"`, user))
}

// failure builds the Result and error of a failed login. A protocol error is
// returned as it is, and its message becomes the reason.
func failure(method string, err error) (Result, error) {
	return Result{Method: method, Reason: reasonOf(err)}, err
}

func reasonOf(err error) string {
	var pe *pgerror.Error
	if errors.As(err, &pe) {
		return pe.Message
	}
	return err.Error()
}
