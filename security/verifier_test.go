package security

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// Verifiers from pg_authid.rolpassword of PostgreSQL 15.18 after
// SET password_encryption = 'scram-sha-256' and CREATE ROLE … PASSWORD.
const (
	pgPasswordASCII = "correct horse battery staple"
	pgVerifierASCII = "SCRAM-SHA-256$4096:xF+eH49CQokP9wSIMX+ebw==$NnwYEFaug+QfnowX1ZzzFM/+MdxmnkKKiiYEOw5hqf4=:S9KWpBU86jabpu1oUkkDNhJYdxFwkQP/mynp+D1sL/4="

	pgPasswordUTF8 = "pässwörd€"
	pgVerifierUTF8 = "SCRAM-SHA-256$4096:dQfhKEO5LuoetVVlpGI29A==$2BdRUGMRmXDr3p1dn7NTvCCUg4oOH5MZ4M3C1JoDw7M=:+y72Ec1ltw7EsY994mHR4x7i0xsmtq8CH/wnAFRMknM="

	// pgPasswordSoftHyphen contains U+00AD, which SASLprep maps to nothing,
	// so "IX" derives the same keys.
	pgPasswordSoftHyphen = "I\u00adX"
	pgVerifierSoftHyphen = "SCRAM-SHA-256$4096:/WWO/ob5x3zogfEA0pPvHA==$6SGdWncG0zoihPTTXXUGMTSdzKG4L7PcSNgxs7Skt6g=:aASPpg2OPNUZzzW3fNcL1KXWEd5i3ZkEN2FQ8Rx1jUw="
)

func TestVerifierMatchesPostgreSQL(t *testing.T) {
	cases := []struct {
		name, password, verifier string
	}{
		{"ascii", pgPasswordASCII, pgVerifierASCII},
		{"utf8", pgPasswordUTF8, pgVerifierUTF8},
		{"soft hyphen", pgPasswordSoftHyphen, pgVerifierSoftHyphen},
		{"soft hyphen prepared", "IX", pgVerifierSoftHyphen},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := ParseSCRAMVerifier(tc.verifier)
			if err != nil {
				t.Fatalf("ParseSCRAMVerifier: %v", err)
			}
			if got := v.String(); got != tc.verifier {
				t.Errorf("String() = %q, want %q", got, tc.verifier)
			}

			derived, err := deriveVerifier(tc.password, v.Salt, v.Iterations)
			if err != nil {
				t.Fatalf("deriveVerifier: %v", err)
			}
			if got := derived.String(); got != tc.verifier {
				t.Errorf("derived verifier = %q, want PostgreSQL's %q", got, tc.verifier)
			}

			ok, err := v.matchesPassword(tc.password)
			if err != nil || !ok {
				t.Errorf("matchesPassword = %v, %v; want true", ok, err)
			}
			ok, err = v.matchesPassword(tc.password + "!")
			if err != nil || ok {
				t.Errorf("matchesPassword of a wrong password = %v, %v; want false", ok, err)
			}
		})
	}
}

// TestSCRAMLoginWithPostgreSQLVerifier logs in over SCRAM against verifiers
// PostgreSQL made. The xdg-go client applies SASLprep itself.
func TestSCRAMLoginWithPostgreSQLVerifier(t *testing.T) {
	a := newTestAuthenticator(t, "")
	store := &mapStore{users: map[string]Credentials{
		"ascii": {AuthType: AuthPassword, SCRAMVerifier: pgVerifierASCII},
		"utf8":  {AuthType: AuthPassword, SCRAMVerifier: pgVerifierUTF8},
	}}
	for user, password := range map[string]string{"ascii": pgPasswordASCII, "utf8": pgPasswordUTF8} {
		ex := newSCRAMClientExchange(t, "", password)
		if _, err := a.Authenticate(context.Background(), remoteConn(user), store, ex); err != nil {
			t.Errorf("%s: Authenticate: %v", user, err)
		}
	}
}

func TestPrepPassword(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain ascii", "plain ascii"},
		{"ascii\x01control", "ascii\x01control"}, // ASCII skips SASLprep
		{"I\u00adX", "IX"},                       // mapped to nothing
		{"a\u00a0b", "a b"},                      // non-ASCII space maps to space
		{"\u2168", "IX"},                         // NFKC
		{"bad\xffutf8", "bad\xffutf8"},           // invalid UTF-8 stays raw
		{"é\u0007", "é\u0007"},                   // prohibited control character stays raw
	}
	for _, tc := range cases {
		if got := prepPassword(tc.in); got != tc.want {
			t.Errorf("prepPassword(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseSCRAMVerifierInvalid(t *testing.T) {
	key := "NnwYEFaug+QfnowX1ZzzFM/+MdxmnkKKiiYEOw5hqf4="
	cases := []string{
		"",
		"md5abcdef",
		"SCRAM-SHA-1$4096:c2FsdA==$" + key + ":" + key,
		"SCRAM-SHA-256$4096:c2FsdA==",
		"SCRAM-SHA-256$4096$" + key + ":" + key,
		"SCRAM-SHA-256$4096:c2FsdA==$" + key,
		"SCRAM-SHA-256$0:c2FsdA==$" + key + ":" + key,
		"SCRAM-SHA-256$-1:c2FsdA==$" + key + ":" + key,
		"SCRAM-SHA-256$x:c2FsdA==$" + key + ":" + key,
		"SCRAM-SHA-256$99999999999:c2FsdA==$" + key + ":" + key,
		"SCRAM-SHA-256$4096:$" + key + ":" + key,
		"SCRAM-SHA-256$4096:!!!$" + key + ":" + key,
		"SCRAM-SHA-256$4096:c2FsdA==$c2FsdA==:" + key,
		"SCRAM-SHA-256$4096:c2FsdA==$" + key + ":c2FsdA==",
		"SCRAM-SHA-256$4096:c2FsdA==$" + key + ":" + key + "$extra",
	}
	for _, s := range cases {
		v, err := ParseSCRAMVerifier(s)
		if err == nil {
			t.Errorf("ParseSCRAMVerifier(%q) = %+v, want an error", s, v)
			continue
		}
		if code := pgerror.GetCode(err); code != pgcode.InvalidParameterValue {
			t.Errorf("ParseSCRAMVerifier(%q): SQLSTATE %s, want 22023", s, code)
		}
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error %q quotes the verifier", err)
		}
		if IsSCRAMVerifier(s) {
			t.Errorf("IsSCRAMVerifier(%q) = true", s)
		}
	}

	if !IsSCRAMVerifier(pgVerifierASCII) {
		t.Error("IsSCRAMVerifier rejects PostgreSQL's verifier")
	}
}

func TestMockVerifier(t *testing.T) {
	first, err := mockVerifier(testSecret, "ghost", 4096)
	if err != nil {
		t.Fatal(err)
	}
	second, err := mockVerifier(testSecret, "ghost", 4096)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Salt, second.Salt) {
		t.Error("salt differs between calls for the same name")
	}
	if bytes.Equal(first.StoredKey, second.StoredKey) {
		t.Error("mock StoredKey repeats: it must be random per login")
	}
	if len(first.Salt) != scramSaltLen || len(first.StoredKey) != scramKeyLen || len(first.ServerKey) != scramKeyLen {
		t.Errorf("sizes salt %d, keys %d/%d; want %d, %d", len(first.Salt), len(first.StoredKey), len(first.ServerKey), scramSaltLen, scramKeyLen)
	}
	if _, err := ParseSCRAMVerifier(first.String()); err != nil {
		t.Errorf("mock verifier does not parse: %v", err)
	}
}
