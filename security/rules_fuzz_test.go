package security

import (
	"strings"
	"testing"
)

// FuzzParseRules checks that ParseRules never panics, that every error names
// the rule number, and that the rules it accepts are valid.
func FuzzParseRules(f *testing.F) {
	f.Add("local all all trust")
	f.Add("host app,reports alice,+dba 10.0.0.0/8 scram-sha-256")
	f.Add("hostssl all +system ::1/128 jwt # comment")
	f.Add(`host "all" "a b", c loopback reject`)
	f.Add(`local "unterminated all trust`)
	f.Add("host all all 10.0.0.0/33 trust")
	f.Add("host a,,b all all trust")
	f.Add("local all all,")
	f.Add("\x00\t\"\",")

	f.Fuzz(func(t *testing.T, line string) {
		rules, err := ParseRules([]string{line})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "rule 1: ") {
				t.Fatalf("error %q does not name rule 1", err)
			}
			return
		}
		if len(rules) != 1 {
			t.Fatalf("got %d rules for one line", len(rules))
		}
		if verr := rules[0].validate(); verr != nil {
			t.Fatalf("ParseRules accepted %q, which validate rejects: %v", line, verr)
		}
	})
}
