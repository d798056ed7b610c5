package security

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xdg-go/stringprep"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

const (
	// scramSHA256Prefix starts every verifier in PostgreSQL's rolpassword format.
	scramSHA256Prefix = "SCRAM-SHA-256"

	// scramKeyLen is the length of SaltedPassword, StoredKey and ServerKey:
	// the SHA-256 digest size.
	scramKeyLen = sha256.Size

	// scramSaltLen matches PostgreSQL's SCRAM_DEFAULT_SALT_LEN (16 bytes).
	scramSaltLen = 16
)

// Verifier is a stored SCRAM-SHA-256 secret as RFC 5802 defines it: the salt
// and iteration count of the PBKDF2 step, and the StoredKey and ServerKey
// derived from the salted password. It never contains the password itself.
type Verifier struct {
	Iterations int
	Salt       []byte
	StoredKey  []byte
	ServerKey  []byte
}

// String formats v in PostgreSQL's rolpassword format:
// SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, with standard
// padded base64 for the binary fields.
func (v *Verifier) String() string {
	enc := base64.StdEncoding
	return scramSHA256Prefix + "$" + strconv.Itoa(v.Iterations) + ":" + enc.EncodeToString(v.Salt) +
		"$" + enc.EncodeToString(v.StoredKey) + ":" + enc.EncodeToString(v.ServerKey)
}

// IsSCRAMVerifier reports whether s is a well-formed SCRAM-SHA-256 verifier in
// PostgreSQL's format. A password that passes this check is a pre-hashed
// secret, as psql's \password sends it, and is stored as it is.
func IsSCRAMVerifier(s string) bool {
	_, err := ParseSCRAMVerifier(s)
	return err == nil
}

// ParseSCRAMVerifier parses a verifier in PostgreSQL's format
// SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>. The iteration
// count must be positive, the salt non-empty, and both keys 32 bytes. Errors
// carry SQLSTATE 22023 and never quote the input.
func ParseSCRAMVerifier(s string) (*Verifier, error) {
	scheme, rest, ok := strings.Cut(s, "$")
	if !ok || scheme != scramSHA256Prefix {
		return nil, invalidVerifier("it does not start with " + scramSHA256Prefix + "$")
	}
	params, keys, ok := strings.Cut(rest, "$")
	if !ok {
		return nil, invalidVerifier("the keys part is missing")
	}
	iterText, saltText, ok := strings.Cut(params, ":")
	if !ok {
		return nil, invalidVerifier("the salt is missing")
	}
	storedText, serverText, ok := strings.Cut(keys, ":")
	if !ok {
		return nil, invalidVerifier("the server key is missing")
	}

	iterations, err := strconv.Atoi(iterText)
	if err != nil || iterations < 1 || iterations > math.MaxInt32 {
		return nil, invalidVerifier("the iteration count is not a positive 32-bit integer")
	}
	salt, err := base64.StdEncoding.DecodeString(saltText)
	if err != nil || len(salt) == 0 {
		return nil, invalidVerifier("the salt is not valid non-empty base64")
	}
	storedKey, err := base64.StdEncoding.DecodeString(storedText)
	if err != nil || len(storedKey) != scramKeyLen {
		return nil, invalidVerifier("the stored key is not 32 bytes of base64")
	}
	serverKey, err := base64.StdEncoding.DecodeString(serverText)
	if err != nil || len(serverKey) != scramKeyLen {
		return nil, invalidVerifier("the server key is not 32 bytes of base64")
	}
	return &Verifier{Iterations: iterations, Salt: salt, StoredKey: storedKey, ServerKey: serverKey}, nil
}

func invalidVerifier(reason string) *pgerror.Error {
	return pgerror.Newf(pgcode.InvalidParameterValue, "invalid SCRAM-SHA-256 verifier: %s", reason)
}

// newVerifier derives a verifier for password with a fresh random salt.
func newVerifier(password string, iterations int) (*Verifier, error) {
	salt := make([]byte, scramSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return nil, pgerror.Wrapf(err, pgcode.InternalError, "generating SCRAM salt")
	}
	return deriveVerifier(password, salt, iterations)
}

// deriveVerifier computes StoredKey and ServerKey for password as RFC 5802
// section 3 defines them, after PostgreSQL's password normalization.
func deriveVerifier(password string, salt []byte, iterations int) (*Verifier, error) {
	salted, err := pbkdf2.Key(sha256.New, prepPassword(password), salt, iterations, scramKeyLen)
	if err != nil {
		return nil, pgerror.Wrapf(err, pgcode.InternalError, "deriving SCRAM salted password")
	}
	clientKey := computeHMAC(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	return &Verifier{
		Iterations: iterations,
		Salt:       salt,
		StoredKey:  storedKey[:],
		ServerKey:  computeHMAC(salted, "Server Key"),
	}, nil
}

// matchesPassword reports whether password derives the same StoredKey and
// ServerKey as v. It compares in constant time.
func (v *Verifier) matchesPassword(password string) (bool, error) {
	derived, err := deriveVerifier(password, v.Salt, v.Iterations)
	if err != nil {
		return false, err
	}
	storedOK := subtle.ConstantTimeCompare(derived.StoredKey, v.StoredKey)
	serverOK := subtle.ConstantTimeCompare(derived.ServerKey, v.ServerKey)
	return storedOK&serverOK == 1, nil
}

// prepPassword normalizes a password as PostgreSQL's pg_saslprep does before
// SCRAM key derivation. PostgreSQL passes pure ASCII through unchanged, and it
// falls back to the raw bytes when the input is not valid UTF-8 or SASLprep
// (RFC 4013) rejects it, for example for a prohibited or unassigned code point.
func prepPassword(password string) string {
	if isASCII(password) || !utf8.ValidString(password) {
		return password
	}
	prepared, err := stringprep.SASLprep.Prepare(password)
	if err != nil {
		return password
	}
	return prepared
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func computeHMAC(key []byte, message string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(message))
	return mac.Sum(nil)
}

// mockVerifier builds the verifier used for a login that cannot succeed. Its
// salt is the HMAC-SHA-256 under secret of a fixed label and the user name,
// truncated to the usual salt length. So the same name always gets the same
// salt, different names get different salts, and without the secret a mock
// salt is indistinguishable from a real one. Its keys are random, so no proof
// matches them.
func mockVerifier(secret []byte, user string, iterations int) (*Verifier, error) {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("pgkeep mock SCRAM salt\x00"))
	mac.Write([]byte(user))
	salt := mac.Sum(nil)[:scramSaltLen]

	keys := make([]byte, 2*scramKeyLen)
	if _, err := rand.Read(keys); err != nil {
		return nil, pgerror.Wrapf(err, pgcode.InternalError, "generating mock SCRAM keys")
	}
	return &Verifier{
		Iterations: iterations,
		Salt:       salt,
		StoredKey:  keys[:scramKeyLen],
		ServerKey:  keys[scramKeyLen:],
	}, nil
}
