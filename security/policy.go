package security

import (
	_ "embed"
	"strings"
	"unicode"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// Default length limits of PasswordPolicy. The maximum is the number of
// bytes that bcrypt uses.
const (
	DefaultPasswordMinBytes = 8
	DefaultPasswordMaxBytes = bcryptMaxPasswordLen
)

// PasswordPolicy is the set of rules that a new cleartext password must
// meet, on every path that sets one. A password given as a SCRAM-SHA-256
// verifier (see IsSCRAMVerifier) was hashed by the client, so the server
// cannot check it: the caller stores such a verifier without calling Check.
type PasswordPolicy struct {
	// MinBytes and MaxBytes bound the password's length in bytes, not
	// characters. A zero value means the default, 8 or 72.
	MinBytes, MaxBytes int
	// RejectCommon rejects the built-in list of common passwords, compared
	// without regard to case.
	RejectCommon bool
	// RequireComplexity requires an uppercase letter, a lowercase letter, a
	// digit and a special character, which is any character that is not a
	// letter or a digit.
	RequireComplexity bool
}

// DefaultPasswordPolicy returns the policy of a server without password
// settings: 8 to 72 bytes, not a common password, no complexity rule.
func DefaultPasswordPolicy() PasswordPolicy {
	return PasswordPolicy{
		MinBytes:     DefaultPasswordMinBytes,
		MaxBytes:     DefaultPasswordMaxBytes,
		RejectCommon: true,
	}
}

// Validate returns a 22023 error when the length limits are negative or the
// minimum exceeds the maximum.
func (p PasswordPolicy) Validate() error {
	if p.MinBytes < 0 || p.MaxBytes < 0 {
		return pgerror.Newf(pgcode.InvalidParameterValue,
			"password length limits must not be negative: minimum %d, maximum %d", p.MinBytes, p.MaxBytes)
	}
	minBytes, maxBytes := p.limits()
	if minBytes > maxBytes {
		return pgerror.Newf(pgcode.InvalidParameterValue,
			"minimum password length %d exceeds the maximum %d", minBytes, maxBytes)
	}
	return nil
}

// Check returns a 22023 error naming the first rule that password breaks,
// or nil. The rules run in the order length, common list, complexity. The
// error never contains the password or any part of it.
func (p PasswordPolicy) Check(password string) error {
	minBytes, maxBytes := p.limits()
	if len(password) < minBytes {
		return pgerror.Newf(pgcode.InvalidParameterValue, "password must be at least %d bytes long", minBytes)
	}
	if len(password) > maxBytes {
		return pgerror.Newf(pgcode.InvalidParameterValue, "password must be at most %d bytes long", maxBytes)
	}

	if p.RejectCommon && isCommonPassword(password) {
		return pgerror.New(pgcode.InvalidParameterValue, "password is too common").
			WithHint("Choose a password that is not a well-known word, name or key sequence.")
	}

	if p.RequireComplexity && !isComplex(password) {
		return pgerror.New(pgcode.InvalidParameterValue,
			"password must contain an uppercase letter, a lowercase letter, a digit and a special character").
			WithHint("A special character is any character that is not a letter or a digit.")
	}
	return nil
}

// limits returns the length limits with zero fields replaced by defaults.
func (p PasswordPolicy) limits() (minBytes, maxBytes int) {
	minBytes, maxBytes = p.MinBytes, p.MaxBytes
	if minBytes == 0 {
		minBytes = DefaultPasswordMinBytes
	}
	if maxBytes == 0 {
		maxBytes = DefaultPasswordMaxBytes
	}
	return minBytes, maxBytes
}

// isComplex reports whether password contains an uppercase letter, a
// lowercase letter, a digit and a character that is neither a letter nor a
// digit. Letters and digits of every script count.
func isComplex(password string) bool {
	var upper, lower, digit, special bool
	for _, c := range password {
		switch {
		case unicode.IsUpper(c):
			upper = true
		case unicode.IsLower(c):
			lower = true
		case unicode.IsDigit(c):
			digit = true
		case !unicode.IsLetter(c):
			special = true
		}
	}
	return upper && lower && digit && special
}

//go:embed common_passwords.txt
var commonPasswordsText string

// commonPasswords is the set of lower-case entries of common_passwords.txt.
// It is built once and only read afterwards.
var commonPasswords = parseCommonPasswords(commonPasswordsText)

func parseCommonPasswords(text string) map[string]struct{} {
	set := make(map[string]struct{})
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		set[line] = struct{}{}
	}
	return set
}

func isCommonPassword(password string) bool {
	_, found := commonPasswords[strings.ToLower(password)]
	return found
}
