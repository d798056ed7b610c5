package security

import (
	"crypto/rand"
	"errors"
	"math/big"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// bcryptMaxPasswordLen is the number of password bytes bcrypt uses. It
// ignores the rest.
const bcryptMaxPasswordLen = 72

// authenticatePassword requests the cleartext password and checks it against
// the bcrypt hash, or the SCRAM verifier when there is no bcrypt hash. When
// doomReason is set it compares against a dummy bcrypt hash, so a login that
// cannot succeed takes about as long as one with a wrong password.
func (a *Authenticator) authenticatePassword(user string, creds Credentials, doomReason string, ex Exchange) (Result, error) {
	password, err := ex.RequestPassword()
	if err != nil {
		return failure(MethodPassword, exchangeError(err))
	}

	// PostgreSQL rejects these two before it looks at the user.
	if strings.IndexByte(password, 0) >= 0 {
		return failure(MethodPassword, fatal(pgerror.New(pgcode.ProtocolViolation, "invalid password packet size")))
	}
	if password == "" {
		return Result{Method: MethodPassword, Reason: ReasonEmptyPassword},
			fatal(pgerror.New(pgcode.InvalidPassword, "empty password returned by client"))
	}

	if doomReason != "" {
		_ = bcrypt.CompareHashAndPassword(a.dummyBcryptHash, []byte(password))
		return Result{Method: MethodPassword, Reason: doomReason}, authFailed(user)
	}

	ok, reason := checkCleartextPassword(creds, password)
	if !ok {
		return Result{Method: MethodPassword, Reason: reason}, authFailed(user)
	}
	return Result{Method: MethodPassword}, nil
}

// checkCleartextPassword reports whether password matches the stored hash or
// verifier, and the reason when it does not.
func checkCleartextPassword(creds Credentials, password string) (bool, string) {
	// bcrypt would ignore the bytes past 72, so a longer password is checked
	// against the SCRAM verifier when there is one.
	useBcrypt := creds.BcryptHash != "" &&
		(len(password) <= bcryptMaxPasswordLen || creds.SCRAMVerifier == "")

	if useBcrypt {
		err := bcrypt.CompareHashAndPassword([]byte(creds.BcryptHash), []byte(password))
		switch {
		case err == nil:
			return true, ""
		case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
			return false, ReasonWrongPassword
		default:
			return false, ReasonInvalidBcryptHash
		}
	}

	verifier, err := ParseSCRAMVerifier(creds.SCRAMVerifier)
	if err != nil {
		return false, ReasonInvalidSCRAMSecret
	}
	ok, err := verifier.matchesPassword(password)
	if err != nil {
		return false, ReasonInvalidSCRAMSecret
	}
	if !ok {
		return false, ReasonWrongPassword
	}
	return true, ""
}

// HashPassword produces both stored forms for a new password: a bcrypt hash
// at the configured cost and a SCRAM-SHA-256 verifier with a random 16-byte
// salt and the configured iteration count.
//
// bcrypt uses only the first 72 bytes of a password. For a longer password
// bcryptHash is empty, and both methods verify against the SCRAM verifier.
// The caller checks with IsSCRAMVerifier whether a password is already a
// verifier (pre-hashed by the client) before calling HashPassword.
func (a *Authenticator) HashPassword(password string) (bcryptHash, scramVerifier string, err error) {
	if password == "" {
		return "", "", pgerror.New(pgcode.InvalidParameterValue, "empty string is not a valid password")
	}

	verifier, err := newVerifier(password, a.cfg.SCRAMIterations)
	if err != nil {
		return "", "", err
	}
	if len(password) > bcryptMaxPasswordLen {
		return "", verifier.String(), nil
	}

	hash, err := bcrypt.GenerateFromPassword([]byte(password), a.cfg.BcryptCost)
	if err != nil {
		return "", "", pgerror.Wrapf(err, pgcode.InternalError, "hashing password with bcrypt")
	}
	return string(hash), verifier.String(), nil
}

// passwordAlphabet is the character set of GeneratePassword: ASCII letters
// and digits, which need no quoting in SQL, URLs or shells.
const passwordAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// GeneratePassword returns a random password of n letters and digits drawn
// uniformly from crypto/rand. Each character carries about 5.95 bits, so 22
// characters give more than 128 bits.
func GeneratePassword(n int) (string, error) {
	if n < 1 {
		return "", pgerror.Newf(pgcode.InvalidParameterValue, "password length %d is invalid: it must be at least 1", n)
	}
	alphabetLen := big.NewInt(int64(len(passwordAlphabet)))
	out := make([]byte, n)
	for i := range out {
		index, err := rand.Int(rand.Reader, alphabetLen)
		if err != nil {
			return "", pgerror.Wrapf(err, pgcode.InternalError, "generating password")
		}
		out[i] = passwordAlphabet[index.Int64()]
	}
	return string(out), nil
}
