// Package security authenticates pgkeep connections the way PostgreSQL 16
// does, against pgkeep's own user store.
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
// # Methods
//
//   - trust: internal users on a unix socket or loopback, with no exchange.
//   - scram-sha-256 (RFC 5802, RFC 7677): the default for everyone else.
//     The SCRAM username attribute is ignored, as in PostgreSQL: the user is
//     the one of the startup message. Channel binding is rejected because the
//     server has no TLS yet.
//   - password: the cleartext password, checked with bcrypt or with the SCRAM
//     verifier when the user has no bcrypt hash.
//
// # Not revealing users
//
// The method offered depends on the connection and Config alone. A login that
// cannot succeed (unknown, deleted or OAuth user, no usable password, an
// internal user from a remote address without remote access) runs the same
// exchange and fails with the same FATAL 28P01 error as a wrong password. For
// SCRAM the exchange uses a mock verifier whose salt is an HMAC of the user
// name under Config.ServerSecret and whose iteration count is the configured
// one. For cleartext a dummy bcrypt comparison replaces the real one.
//
// # Stored forms
//
// HashPassword returns a bcrypt hash and a SCRAM-SHA-256 verifier in
// PostgreSQL's pg_authid.rolpassword format
// SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, so verifiers
// copied from PostgreSQL work unchanged. No password, hash, verifier, nonce,
// proof or signature ever appears in an error or a Result.
package security
