package security

import "context"

// AuthType of a user.
const (
	// AuthPassword users log in with a password.
	AuthPassword = "password"
	// AuthOAuth users log in with a token from an identity provider and never
	// have a password.
	AuthOAuth = "oauth"
	// AuthInternal users are trusted from the local machine and need a
	// password and remote access to log in from elsewhere.
	AuthInternal = "internal"
)

// Credentials are the stored secrets and login flags of a user.
type Credentials struct {
	AuthType string
	// Role is the user's role, which "+role" entries of connection rules
	// match. Zero matches no such entry.
	Role Role
	// BcryptHash is the bcrypt hash of the password, or empty.
	BcryptHash string
	// SCRAMVerifier is the SCRAM-SHA-256 verifier in PostgreSQL's format
	// "SCRAM-SHA-256$<iter>:<salt b64>$<StoredKey b64>:<ServerKey b64>", or
	// empty.
	SCRAMVerifier string
	// AllowRemote lets an internal user log in from a remote address, even
	// when Config.AllowRemoteAccess is off.
	AllowRemote bool
	// Deleted is true for a soft-deleted user, who can no longer log in.
	Deleted bool
	// OAuthProvider and OAuthSubject identify an OAuth user at its identity
	// provider; a JWT proves such a user when its iss and sub match them.
	OAuthProvider, OAuthSubject string
}

// CredentialStore looks users up by name. found is false for an unknown user.
type CredentialStore interface {
	LookupCredentials(ctx context.Context, user string) (creds Credentials, found bool, err error)
}
