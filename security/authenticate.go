package security

import (
	"context"
	"errors"
	"fmt"

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
	// MethodReject is the method of rules that turn a connection away
	// without an exchange.
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
	ReasonJWTNotConfigured   = "jwt not configured"
	ReasonInvalidToken       = "invalid token"
)

// ReasonNoMatchingRule is the Result.Reason of a connection that no rule
// matches. A rejecting rule gives the reason "rejected by rule N".
const ReasonNoMatchingRule = "no matching connection rule"

// Result of a successful or failed authentication, for logging.
type Result struct {
	// Method is the method that ran: "trust", "scram-sha-256",
	// "scram-sha-256-plus", "password", "jwt" or "reject". It is empty when
	// no rule matched or the lookup failed.
	Method string
	// Reason explains a failure for the server log only. It is one of the
	// Reason constants, the reason a TokenVerifier returned, or the message
	// of a protocol error, and never contains a password, hash, verifier,
	// nonce, proof, token or signature.
	Reason string
}

// TokenVerifier checks a token that a client sent as its cleartext password
// under the jwt method.
//
// VerifyToken is called for every jwt login that is not locked out,
// including logins of unknown users (found is false and creds is the zero
// value) and deleted ones, so that they take as long as real ones.
// Authenticate fails those whatever it returns, with one exception: a
// verifier that has just created the unknown user from the token returns ok
// with the reason ReasonProvisioned. ok reports whether the token proves
// the identity of ci.User. reason explains a rejection in the server
// log, and err reports a failure to verify at all, such as an unreadable key
// file. Neither may contain the token or its signature.
type TokenVerifier interface {
	VerifyToken(ctx context.Context, ci ConnInfo, token string, creds Credentials, found bool) (ok bool, reason string, err error)
}

// Authenticate chooses the method for the connection and runs it.
//
// The method comes from the first rule in Config.Rules that matches the
// connection, or from the default rules when there are none (see Config).
// No matching rule and a reject rule end the connection with FATAL 28000
// before any exchange.
//
// Some logins cannot succeed: unknown, deleted or OAuth users (except under
// jwt), users without a usable password, and internal users from a remote
// address without remote access. They still run the full exchange, with a
// mock verifier for SCRAM, and fail with the same FATAL 28P01 `password
// authentication failed for user "<name>"` as a wrong password. So do logins
// whose user name or client address is locked out by the throttle, which
// skip the password check itself. Malformed client messages fail with 08P01
// or 0A000 and the message PostgreSQL 16 uses. Result.Reason records the
// real cause for the log.
func (a *Authenticator) Authenticate(ctx context.Context, ci ConnInfo, store CredentialStore, ex Exchange) (Result, error) {
	creds, found, err := store.LookupCredentials(ctx, ci.User)
	if err != nil {
		return Result{Reason: ReasonLookupFailed}, lookupError(err, ci.User)
	}

	method, res, err := a.chooseMethod(ci, creds, found)
	if err != nil {
		return res, err
	}
	if method == MethodTrust {
		// Trust checks no secret, so the throttle neither applies nor counts.
		return authenticateTrust(a.cfg, ci, creds, found)
	}

	userKey, keys := a.throttleKeys(ci)
	lockedOut := a.throttle.lockedOut(keys, a.cfg.Now())
	res, err = a.runMethod(ctx, method, ci, creds, found, lockedOut, ex)
	switch {
	case err == nil:
		a.throttle.reset(userKey)
	case countsAsFailure(res, err):
		a.throttle.recordFailure(keys, a.cfg.Now())
	}
	return res, err
}

// chooseMethod returns the method of the first rule that matches the
// connection, or the FATAL 28000 error when none matches or that rule
// rejects the connection.
func (a *Authenticator) chooseMethod(ci ConnInfo, creds Credentials, found bool) (string, Result, error) {
	rules := a.cfg.Rules
	if len(rules) == 0 {
		// The default rules make one exception for the user's auth type:
		// internal users such as root are trusted on the local machine.
		if found && !creds.Deleted && creds.AuthType == AuthInternal && ci.Source != SourceRemote {
			return MethodTrust, Result{}, nil
		}
		rules = a.passwordRules
		if requestsJWT(ci.Params) {
			rules = a.jwtRules
		}
	}

	var role Role
	if found {
		role = creds.Role
	}
	ip := clientIP(ci)
	for i := range rules {
		rule := &rules[i]
		if !rule.matches(ci, ip, role) {
			continue
		}
		if rule.Method == MethodReject {
			err := pgerror.Newf(pgcode.InvalidAuthorizationSpecification,
				`connection rule rejects host "%s", user "%s", database "%s"`, clientHost(ci, ip), ci.User, ci.Database)
			return "", Result{Method: MethodReject, Reason: fmt.Sprintf("rejected by rule %d", rule.Number)}, fatal(err)
		}
		return rule.Method, Result{}, nil
	}

	err := pgerror.Newf(pgcode.InvalidAuthorizationSpecification,
		`no connection rule matches host "%s", user "%s", database "%s"`, clientHost(ci, ip), ci.User, ci.Database)
	return "", Result{Reason: ReasonNoMatchingRule}, fatal(err)
}

// runMethod runs the exchange of method, a rule method other than trust and
// reject. When lockedOut is set it runs the same exchange up to the password
// check and then fails.
func (a *Authenticator) runMethod(ctx context.Context, method string, ci ConnInfo, creds Credentials, found, lockedOut bool, ex Exchange) (Result, error) {
	switch method {
	case MethodPassword:
		return a.authenticatePassword(ci.User, creds, a.doomReason(ci, creds, found), lockedOut, ex)
	case MethodJWT:
		return a.authenticateToken(ctx, ci, creds, found, lockedOut, ex)
	}

	doomReason := a.doomReason(ci, creds, found)
	if !lockedOut {
		return a.authenticateSCRAM(ci, creds, doomReason, ex)
	}
	// A locked-out SCRAM login runs against the verifier an unlocked one
	// would get, so the salt does not reveal the lockout or the user, and
	// lockedOutExchange fails it where a correct proof would finish. The
	// proof is still computed, which costs two HMACs, but its result is
	// never used.
	res, err := a.authenticateSCRAM(ci, creds, doomReason, lockedOutExchange{Exchange: ex, user: ci.User})
	if pgerror.GetCode(err) == pgcode.InvalidPassword {
		return Result{Method: res.Method, Reason: ReasonLockedOut}, authFailed(ci.User)
	}
	return res, err
}

// lockedOutExchange fails the end of a successful SCRAM exchange with the
// wrong-password error, so a locked-out client cannot tell a correct
// password from a wrong one.
type lockedOutExchange struct {
	Exchange
	user string
}

func (e lockedOutExchange) FinishSASL([]byte) error { return authFailed(e.user) }

// throttleKeys returns the throttle key of the user, which a successful
// login resets, and the keys a failure counts against: the user and the
// client address. Local and loopback connections count against none unless
// Config.ThrottleLocal is set.
func (a *Authenticator) throttleKeys(ci ConnInfo) (throttleKey, []throttleKey) {
	userKey := throttleKey{name: ci.User}
	if ci.Source != SourceRemote && !a.cfg.ThrottleLocal {
		return userKey, nil
	}
	addressKey := throttleKey{address: true, name: clientHost(ci, clientIP(ci))}
	return userKey, []throttleKey{userKey, addressKey}
}

// countsAsFailure reports whether a failed login counts against the
// throttle: every credential failure except a refusal during a lockout and
// an empty password, which checks nothing.
func countsAsFailure(res Result, err error) bool {
	return pgerror.GetCode(err) == pgcode.InvalidPassword &&
		res.Reason != ReasonLockedOut && res.Reason != ReasonEmptyPassword
}

// authenticateTrust lets the user in without an exchange, unless the user
// cannot log in at all.
func authenticateTrust(cfg Config, ci ConnInfo, creds Credentials, found bool) (Result, error) {
	reason := ""
	switch {
	case !found:
		reason = ReasonUnknownUser
	case creds.Deleted:
		reason = ReasonUserDeleted
	case creds.AuthType == AuthInternal:
		if ci.Source == SourceRemote && !cfg.AllowRemoteAccess && !creds.AllowRemote {
			reason = ReasonRemoteInternal
		}
	case creds.AuthType != AuthPassword && creds.AuthType != AuthOAuth:
		reason = ReasonUnknownAuthType
	}
	if reason != "" {
		return Result{Method: MethodTrust, Reason: reason}, authFailed(ci.User)
	}
	return Result{Method: MethodTrust}, nil
}

// doomReason returns why a password or SCRAM login cannot succeed whatever
// the client sends, or "" when a correct password would let the user in.
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
		if ci.Source == SourceRemote && !a.cfg.AllowRemoteAccess && !creds.AllowRemote {
			return ReasonRemoteInternal
		}
	case AuthOAuth:
		// OAuth users log in with a token under the jwt method only.
		return ReasonOAuthUser
	default:
		return ReasonUnknownAuthType
	}

	if creds.BcryptHash == "" && creds.SCRAMVerifier == "" {
		return ReasonNoPassword
	}
	return ""
}

// tokenDoomReason returns why a jwt login cannot succeed whatever token the
// client sends, or "".
func (a *Authenticator) tokenDoomReason(ci ConnInfo, creds Credentials, found bool) string {
	switch {
	case !found:
		return ReasonUnknownUser
	case creds.Deleted:
		return ReasonUserDeleted
	}
	switch creds.AuthType {
	case AuthPassword, AuthOAuth:
	case AuthInternal:
		if ci.Source == SourceRemote && !a.cfg.AllowRemoteAccess && !creds.AllowRemote {
			return ReasonRemoteInternal
		}
	default:
		return ReasonUnknownAuthType
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
