// Package security authenticates pgkeep connections the way PostgreSQL 16
// does, against pgkeep's own user store, and decides what each role may do.
//
// # Layers
//
// The package does no network I/O. The server decides the Source of a
// connection from its socket, reads the startup message into a ConnInfo and
// implements Exchange over the authentication messages of the frontend/backend
// protocol (AuthenticationCleartextPassword, AuthenticationSASL,
// AuthenticationSASLContinue, AuthenticationSASLFinal and the client's
// PasswordMessage, SASLInitialResponse and SASLResponse). The catalog
// implements CredentialStore. Authenticator.Authenticate ties them together
// and returns a Result for the server log and, on failure, a *pgerror.Error
// for the ErrorResponse. The server sends AuthenticationOk after a nil error.
//
// # Choosing the method
//
// Config.Rules, in pg_hba.conf syntax (ParseRules), pick the method from the
// connection type, database, user (a name or a +role) and client address;
// the first matching rule wins, and a connection no rule matches is
// rejected with 28000. Without rules, the default set applies: trust for
// internal users on local and loopback connections, Config.PasswordMethod
// for everyone else, and the jwt method when the startup option
// pgkeep.auth=jwt asks for it.
//
// # Methods
//
//   - trust: internal users on a unix socket or loopback, with no exchange.
//   - scram-sha-256 (RFC 5802, RFC 7677): the default for everyone else.
//     The SCRAM username attribute is ignored, as in PostgreSQL: the user is
//     the one of the startup message. On a TLS connection with channel
//     binding data (ConnInfo.ChannelBinding) the server offers
//     SCRAM-SHA-256-PLUS first, and Result.Method is "scram-sha-256-plus"
//     when the client selects it.
//   - password: the cleartext password, checked with bcrypt or with the SCRAM
//     verifier when the user has no bcrypt hash.
//   - jwt: the cleartext password is a JSON Web Token, which
//     Config.TokenVerifier checks. JWTVerifier (jwt.go) checks its
//     signature with the HS256 secret or a public key pinned to one
//     algorithm, its time, issuer and audience claims, and that it names
//     the user. With auto-provisioning it creates unknown users.
//
// # Not revealing users
//
// The method offered depends on the connection, the rules and Config alone;
// a +role rule treats an unknown user as matching no role, as PostgreSQL
// treats a non-member. A login that
// cannot succeed (unknown, deleted or OAuth user, no usable password, an
// internal user from a remote address without remote access) runs the same
// exchange and fails with the same FATAL 28P01 error as a wrong password. For
// SCRAM the exchange uses a mock verifier whose salt is an HMAC of the user
// name under Config.ServerSecret and whose iteration count is the configured
// one. For cleartext a dummy bcrypt comparison replaces the real one.
//
// # Throttling and the verification cache
//
// Failed logins are counted per user name and per client address over a
// sliding window; past the limits, attempts fail like a wrong password for
// a backoff that doubles with each further failure, without checking the
// password. Local and loopback connections are exempt unless
// Config.ThrottleLocal is set. Successful cleartext checks are cached under
// an HMAC of the user and password with a per-process key, so a reconnect
// storm does not rerun bcrypt; a changed password misses the cache.
//
// # Stored forms
//
// HashPassword returns a bcrypt hash and a SCRAM-SHA-256 verifier in
// PostgreSQL's pg_authid.rolpassword format
// SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, so verifiers
// copied from PostgreSQL work unchanged. No password, hash, verifier, nonce,
// proof or signature ever appears in an error or a Result.
//
// # Authorization
//
// The executor describes the user as a Subject and the table as a Table and
// calls CheckTable, CheckExecuteAs, CheckDDL, CheckSetAccessLevel or
// CheckUserChange before it runs a statement. These functions are pure: the
// caller looks up roles, owners and the number of active system users. The
// rules live as data in one var block of authz.go:
//
//   - shared tables: by access level and role, public is readable by all and
//     writable by service and above, private is for service and above,
//     restricted for dba and system. A table's owner always reads and writes.
//   - user and stream tables: every role reads and writes, a user only its
//     own rows (ReadsAllUsersRows is false for it).
//   - system tables: SELECT for all. The one write is OpRestoreUser
//     (UPDATE system.users SET deleted_at = NULL), for dba and system. The
//     caller identifies that statement, because the check reads only the
//     table kind.
//   - EXECUTE AS USER: system may target anyone, dba targets dba, service
//     and user, service targets service and user, and a user only itself.
//   - DDL: dba and system. SET ACCESS LEVEL: dba, system and the owner move
//     a shared table to any level, service only between public and private.
//   - users: dba and system manage other users, and only system manages
//     system users or grants that role. Everyone may change its own password
//     and email, nobody its own role. The last active system user cannot be
//     dropped or demoted.
//
// A denial is 42501 "permission denied …" with the required and current role
// in the detail. Dropping oneself and dropping or demoting the last active
// system user are 55006, as no role may do either. An invalid Role, TableKind,
// AccessLevel or Operation value, such as a zero value, is a caller bug and
// returns XX000, so a field left unset never grants access.
//
// # Password policy
//
// PasswordPolicy.Check runs on every path that sets a cleartext password:
// 8 to 72 bytes by default, not on the built-in list of common passwords
// (common_passwords.txt, compared in lower case), and optionally an
// uppercase letter, a lowercase letter, a digit and a special character. A
// violation is 22023 naming the rule. A SCRAM-SHA-256 verifier given in place
// of a password (IsSCRAMVerifier) hides the password from the server, so the
// caller stores it without the check.
package security
