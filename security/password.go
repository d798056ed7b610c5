package security

import (
	"context"
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
// cannot succeed takes about as long as one with a wrong password. When
// lockedOut is set it fails without any comparison, so a lockout also sheds
// the bcrypt load of a password-guessing client.
func (a *Authenticator) authenticatePassword(user string, creds Credentials, doomReason string, lockedOut bool, ex Exchange) (Result, error) {
	password, res, err := requestCleartext(ex, MethodPassword)
	if err != nil {
		return res, err
	}
	if lockedOut {
		return Result{Method: MethodPassword, Reason: ReasonLockedOut}, authFailed(user)
	}

	if doomReason != "" {
		a.noteSlowPasswordCheck()
		_ = bcrypt.CompareHashAndPassword(a.dummyBcryptHash, []byte(password))
		return Result{Method: MethodPassword, Reason: doomReason}, authFailed(user)
	}

	ok, reason := a.checkCleartextPassword(user, creds, password)
	if !ok {
		return Result{Method: MethodPassword, Reason: reason}, authFailed(user)
	}
	return Result{Method: MethodPassword}, nil
}

// authenticateToken requests the cleartext password and verifies it as a
// token with Config.TokenVerifier.
func (a *Authenticator) authenticateToken(ctx context.Context, ci ConnInfo, creds Credentials, found, lockedOut bool, ex Exchange) (Result, error) {
	token, res, err := requestCleartext(ex, MethodJWT)
	if err != nil {
		return res, err
	}
	if lockedOut {
		return Result{Method: MethodJWT, Reason: ReasonLockedOut}, authFailed(ci.User)
	}
	if a.cfg.TokenVerifier == nil {
		return Result{Method: MethodJWT, Reason: ReasonJWTNotConfigured}, authFailed(ci.User)
	}

	ok, reason, err := a.cfg.TokenVerifier.VerifyToken(ctx, ci, token, creds, found)
	if err != nil {
		return failure(MethodJWT, tokenVerifierError(err, ci.User))
	}
	// A verifier that creates users from tokens reports a just-created user
	// with ok and ReasonProvisioned.
	provisioned := ok && !found && reason == ReasonProvisioned
	if doomReason := a.tokenDoomReason(ci, creds, found); doomReason != "" && !provisioned {
		return Result{Method: MethodJWT, Reason: doomReason}, authFailed(ci.User)
	}
	if !ok {
		if reason == "" {
			reason = ReasonInvalidToken
		}
		return Result{Method: MethodJWT, Reason: reason}, authFailed(ci.User)
	}
	return Result{Method: MethodJWT}, nil
}

// tokenVerifierError passes on an error of a TokenVerifier, giving it a
// SQLSTATE and FATAL severity if it has none.
func tokenVerifierError(err error, user string) error {
	var pe *pgerror.Error
	if errors.As(err, &pe) {
		return err
	}
	return fatal(pgerror.Wrapf(err, pgcode.InternalError, `verifying the token of user "%s"`, user))
}

// requestCleartext requests the cleartext password and rejects the two
// malformed ones that PostgreSQL rejects before it looks at the user.
func requestCleartext(ex Exchange, method string) (string, Result, error) {
	password, err := ex.RequestPassword()
	if err != nil {
		res, err := failure(method, exchangeError(err))
		return "", res, err
	}
	if strings.IndexByte(password, 0) >= 0 {
		res, err := failure(method, fatal(pgerror.New(pgcode.ProtocolViolation, "invalid password packet size")))
		return "", res, err
	}
	if password == "" {
		return "", Result{Method: method, Reason: ReasonEmptyPassword},
			fatal(pgerror.New(pgcode.InvalidPassword, "empty password returned by client"))
	}
	return password, Result{}, nil
}

func (a *Authenticator) noteSlowPasswordCheck() {
	if hook := a.cfg.TestingKnobs.OnSlowPasswordCheck; hook != nil {
		hook()
	}
}

// checkCleartextPassword reports whether password matches the stored hash or
// verifier, and the reason when it does not. A match found in the
// verification cache skips the comparison.
func (a *Authenticator) checkCleartextPassword(user string, creds Credentials, password string) (bool, string) {
	// bcrypt would ignore the bytes past 72, so a longer password is checked
	// against the SCRAM verifier when there is one.
	useBcrypt := creds.BcryptHash != "" &&
		(len(password) <= bcryptMaxPasswordLen || creds.SCRAMVerifier == "")
	stored := creds.SCRAMVerifier
	if useBcrypt {
		stored = creds.BcryptHash
	}

	if a.verifyCache.lookup(user, password, stored, a.cfg.Now()) {
		return true, ""
	}
	ok, reason := a.compareCleartextPassword(useBcrypt, creds, password)
	if ok {
		a.verifyCache.store(user, password, stored, a.cfg.Now())
	}
	return ok, reason
}

// compareCleartextPassword compares password with the bcrypt hash or, when
// useBcrypt is false, with the SCRAM verifier.
func (a *Authenticator) compareCleartextPassword(useBcrypt bool, creds Credentials, password string) (bool, string) {
	if useBcrypt {
		a.noteSlowPasswordCheck()
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
	a.noteSlowPasswordCheck()
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
