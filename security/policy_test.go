package security

import (
	"errors"
	"strings"
	"testing"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

const (
	msgTooShort   = "password must be at least 8 bytes long"
	msgTooLong    = "password must be at most 72 bytes long"
	msgTooCommon  = "password is too common"
	msgNotComplex = "password must contain an uppercase letter, a lowercase letter, a digit and a special character"
)

func TestDefaultPasswordPolicy(t *testing.T) {
	want := PasswordPolicy{MinBytes: 8, MaxBytes: 72, RejectCommon: true, RequireComplexity: false}
	if got := DefaultPasswordPolicy(); got != want {
		t.Errorf("DefaultPasswordPolicy() = %+v, want %+v", got, want)
	}
}

func TestPasswordPolicyCheck(t *testing.T) {
	defaults := DefaultPasswordPolicy()
	complexity := DefaultPasswordPolicy()
	complexity.RequireComplexity = true
	allowCommon := DefaultPasswordPolicy()
	allowCommon.RejectCommon = false

	cases := []struct {
		name     string
		policy   PasswordPolicy
		password string
		message  string // empty when the password passes
	}{
		{"empty", defaults, "", msgTooShort},
		{"7 bytes", defaults, "tz8#kqv", msgTooShort},
		{"8 bytes", defaults, "tz8#kqvw", ""},
		{"72 bytes", defaults, strings.Repeat("tz8#kqvw", 9), ""},
		{"73 bytes", defaults, strings.Repeat("tz8#kqvw", 9) + "x", msgTooLong},
		// Length is counted in bytes: 4 two-byte letters pass, 3 do not.
		{"multi-byte 6 bytes", defaults, "ééé", msgTooShort},
		{"multi-byte 8 bytes", defaults, "éàüö", ""},
		{"custom minimum", PasswordPolicy{MinBytes: 12, MaxBytes: 72}, "tz8#kqvw1234",
			""},
		{"custom minimum short", PasswordPolicy{MinBytes: 12, MaxBytes: 72}, "tz8#kqvw123",
			"password must be at least 12 bytes long"},
		{"custom maximum", PasswordPolicy{MinBytes: 8, MaxBytes: 10}, "tz8#kqvw123",
			"password must be at most 10 bytes long"},
		{"zero policy short", PasswordPolicy{}, "tz8#kqv", msgTooShort},
		{"zero policy long", PasswordPolicy{}, strings.Repeat("a", 73), msgTooLong},
		{"zero policy allows common", PasswordPolicy{}, "password", ""},

		{"common", defaults, "password", msgTooCommon},
		{"common upper case", defaults, "PASSWORD", msgTooCommon},
		{"common mixed case", defaults, "PassWord123", msgTooCommon},
		{"common keyboard", defaults, "Qwerty123", msgTooCommon},
		{"common digits", defaults, "12345678", msgTooCommon},
		{"common phrase", defaults, "iloveyou", msgTooCommon},
		{"common leet", defaults, "P@ssw0rd", msgTooCommon},
		{"common allowed", allowCommon, "password", ""},
		// Length comes first, so a short common password fails on length.
		{"common short", defaults, "letmein", msgTooShort},
		{"common before complexity", complexity, "Password123", msgTooCommon},

		{"complex", complexity, "Tz8#kqvw", ""},
		{"complex space special", complexity, "Tz8 kqvw", ""},
		{"complex non-ASCII letters", complexity, "Ünïcödé1!", ""},
		{"no uppercase", complexity, "tz8#kqvw", msgNotComplex},
		{"no lowercase", complexity, "TZ8#KQVW", msgNotComplex},
		{"no digit", complexity, "Tzx#kqvw", msgNotComplex},
		{"no special", complexity, "Tz8xkqvw", msgNotComplex},
		{"complexity off", defaults, "tzxbkqvw", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.policy.Check(tc.password)
			if tc.message == "" {
				if err != nil {
					t.Fatalf("Check rejected the password: %v", err)
				}
				return
			}
			assertError(t, err, pgcode.InvalidParameterValue, tc.message, "")
		})
	}
}

func TestPasswordErrorsHidePassword(t *testing.T) {
	complexity := DefaultPasswordPolicy()
	complexity.RequireComplexity = true

	cases := []struct {
		policy   PasswordPolicy
		password string
	}{
		{DefaultPasswordPolicy(), "Xq7!"},
		{DefaultPasswordPolicy(), strings.Repeat("Xq7!secretpart", 6)},
		{DefaultPasswordPolicy(), "Football123"},
		{complexity, "onlylowercasesecret"},
	}
	for _, tc := range cases {
		err := tc.policy.Check(tc.password)
		var pe *pgerror.Error
		if !errors.As(err, &pe) {
			t.Fatalf("Check(%d bytes) = %v, want a *pgerror.Error", len(tc.password), err)
		}
		text := strings.ToLower(pe.Message + "\n" + pe.Detail + "\n" + pe.Hint)
		if strings.Contains(text, strings.ToLower(tc.password)) ||
			strings.Contains(text, "xq7") || strings.Contains(text, "secret") || strings.Contains(text, "football") {
			t.Errorf("error text %q contains the password or part of it", text)
		}
	}
}

func TestPasswordPolicyValidate(t *testing.T) {
	valid := []PasswordPolicy{DefaultPasswordPolicy(), {}, {MinBytes: 12}, {MinBytes: 1, MaxBytes: 1}, {MaxBytes: 200}}
	for _, p := range valid {
		if err := p.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v, want nil", p, err)
		}
	}

	invalid := []struct {
		policy  PasswordPolicy
		message string
	}{
		{PasswordPolicy{MinBytes: -1}, "password length limits must not be negative: minimum -1, maximum 0"},
		{PasswordPolicy{MaxBytes: -5}, "password length limits must not be negative: minimum 0, maximum -5"},
		{PasswordPolicy{MinBytes: 10, MaxBytes: 9}, "minimum password length 10 exceeds the maximum 9"},
		{PasswordPolicy{MinBytes: 100}, "minimum password length 100 exceeds the maximum 72"},
	}
	for _, tc := range invalid {
		assertError(t, tc.policy.Validate(), pgcode.InvalidParameterValue, tc.message, "")
	}
}

func TestCommonPasswordList(t *testing.T) {
	if n := len(commonPasswords); n < 300 {
		t.Errorf("common password list has %d entries, want at least 300", n)
	}

	seen := make(map[string]bool)
	for line := range strings.Lines(commonPasswordsText) {
		line = strings.TrimRight(line, "\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if line != strings.ToLower(line) {
			t.Errorf("entry %q is not lower case, so the lower-cased lookup never matches it", line)
		}
		if line != strings.TrimSpace(line) {
			t.Errorf("entry %q has surrounding white space", line)
		}
		if seen[line] {
			t.Errorf("entry %q is listed twice", line)
		}
		seen[line] = true
	}

	for _, p := range []string{"password", "12345678", "qwerty123", "letmein", "iloveyou", "trustno1", "changeme", "postgres"} {
		if !isCommonPassword(p) {
			t.Errorf("isCommonPassword(%q) = false, want true", p)
		}
	}
}

func TestParseCommonPasswords(t *testing.T) {
	set := parseCommonPasswords("# comment\n\nalpha\r\nbeta\n#gamma\n")
	if len(set) != 2 {
		t.Errorf("parsed %d entries, want 2: %v", len(set), set)
	}
	for _, want := range []string{"alpha", "beta"} {
		if _, ok := set[want]; !ok {
			t.Errorf("entry %q missing from %v", want, set)
		}
	}
}
