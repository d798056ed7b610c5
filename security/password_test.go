package security

import (
	"context"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

func TestCleartextPassword(t *testing.T) {
	a := newTestAuthenticator(t, PasswordMethodPassword)
	store := testStore(t, a)
	store.users["pgverifier"] = Credentials{AuthType: AuthPassword, SCRAMVerifier: pgVerifierASCII}

	cases := []struct {
		name, user, password string
		reason               string // empty for success
	}{
		{"bcrypt correct", "bcryptonly", testPassword, ""},
		{"bcrypt wrong", "bcryptonly", "wrong", ReasonWrongPassword},
		{"both forms correct", "alice", testPassword, ""},
		{"both forms wrong", "alice", testPassword + "x", ReasonWrongPassword},
		{"SCRAM only correct", "scramonly", testPassword, ""},
		{"SCRAM only wrong", "scramonly", "wrong", ReasonWrongPassword},
		{"PostgreSQL verifier correct", "pgverifier", pgPasswordASCII, ""},
		{"PostgreSQL verifier wrong", "pgverifier", "correct horse", ReasonWrongPassword},
		{"unknown user", "nobody", testPassword, ReasonUnknownUser},
		{"deleted user", "deleted", testPassword, ReasonUserDeleted},
		{"oauth user", "oauthuser", testPassword, ReasonOAuthUser},
		{"internal from remote", "internal", testPassword, ReasonRemoteInternal},
		{"internal allowed remote", "internalrem", testPassword, ""},
		{"no password", "nopassword", testPassword, ReasonNoPassword},
		{"invalid verifier", "badverifier", testPassword, ReasonInvalidSCRAMSecret},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ex := &passwordExchange{password: tc.password}
			res, err := a.Authenticate(context.Background(), remoteConn(tc.user), store, ex)
			if ex.requested != 1 || ex.saslCalls != 0 {
				t.Errorf("password requested %d times and SASL called %d times, want 1 and 0", ex.requested, ex.saslCalls)
			}
			if res.Method != MethodPassword {
				t.Errorf("method = %q, want password", res.Method)
			}
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("Authenticate: %v", err)
				}
				return
			}
			assertPGError(t, err, pgcode.InvalidPassword, `password authentication failed for user "`+tc.user+`"`)
			if res.Reason != tc.reason {
				t.Errorf("reason = %q, want %q", res.Reason, tc.reason)
			}
		})
	}
}

func TestCleartextBadPacket(t *testing.T) {
	a := newTestAuthenticator(t, PasswordMethodPassword)
	store := testStore(t, a)

	_, err := a.Authenticate(context.Background(), remoteConn("alice"), store, &passwordExchange{password: ""})
	assertPGError(t, err, pgcode.InvalidPassword, "empty password returned by client")

	_, err = a.Authenticate(context.Background(), remoteConn("alice"), store, &passwordExchange{password: "a\x00b"})
	assertPGError(t, err, pgcode.ProtocolViolation, "invalid password packet size")
}

func TestCleartextTrustInternalLocal(t *testing.T) {
	a := newTestAuthenticator(t, PasswordMethodPassword)
	res, err := a.Authenticate(context.Background(), ConnInfo{User: "internal", Source: SourceLoopback}, testStore(t, a), noExchange{t})
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if res.Method != MethodTrust {
		t.Errorf("method = %q, want trust", res.Method)
	}
}

// TestLongPassword checks passwords past bcrypt's 72-byte limit: HashPassword
// stores only the SCRAM verifier, and a bcrypt hash that ignores the tail does
// not let a wrong tail in when a verifier exists.
func TestLongPassword(t *testing.T) {
	a := newTestAuthenticator(t, PasswordMethodPassword)
	long := strings.Repeat("x", 80)

	bcryptHash, verifier, err := a.HashPassword(long)
	if err != nil {
		t.Fatalf("HashPassword: %v", err)
	}
	if bcryptHash != "" {
		t.Error("HashPassword returned a bcrypt hash for an 80-byte password")
	}

	prefixHash, err := bcrypt.GenerateFromPassword([]byte(long[:72]), 4)
	if err != nil {
		t.Fatal(err)
	}
	store := &mapStore{users: map[string]Credentials{
		"onlyscram": {AuthType: AuthPassword, SCRAMVerifier: verifier},
		"both":      {AuthType: AuthPassword, BcryptHash: string(prefixHash), SCRAMVerifier: verifier},
	}}

	for _, user := range []string{"onlyscram", "both"} {
		if _, err := a.Authenticate(context.Background(), remoteConn(user), store, &passwordExchange{password: long}); err != nil {
			t.Errorf("%s: correct long password rejected: %v", user, err)
		}
		wrongTail := long[:72] + "yyyyyyyy"
		_, err := a.Authenticate(context.Background(), remoteConn(user), store, &passwordExchange{password: wrongTail})
		assertPGError(t, err, pgcode.InvalidPassword, `password authentication failed for user "`+user+`"`)
	}
}

func TestHashPassword(t *testing.T) {
	a, err := NewAuthenticator(Config{BcryptCost: 5, SCRAMIterations: 4100, ServerSecret: testSecret})
	if err != nil {
		t.Fatal(err)
	}

	bcryptHash, scramVerifier, err := a.HashPassword("hunter2")
	if err != nil {
		t.Fatalf("HashPassword: %v", err)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(bcryptHash), []byte("hunter2")); err != nil {
		t.Errorf("bcrypt hash does not match the password: %v", err)
	}
	if cost, err := bcrypt.Cost([]byte(bcryptHash)); err != nil || cost != 5 {
		t.Errorf("bcrypt cost = %d (%v), want 5", cost, err)
	}

	v, err := ParseSCRAMVerifier(scramVerifier)
	if err != nil {
		t.Fatalf("ParseSCRAMVerifier: %v", err)
	}
	if v.Iterations != 4100 {
		t.Errorf("iterations = %d, want 4100", v.Iterations)
	}
	if len(v.Salt) != 16 {
		t.Errorf("salt is %d bytes, want 16", len(v.Salt))
	}
	ok, err := v.matchesPassword("hunter2")
	if err != nil || !ok {
		t.Errorf("verifier does not match the password (err %v)", err)
	}
	if strings.Contains(bcryptHash+scramVerifier, "hunter2") {
		t.Error("a stored form contains the password")
	}

	_, secondVerifier, err := a.HashPassword("hunter2")
	if err != nil {
		t.Fatal(err)
	}
	if secondVerifier == scramVerifier {
		t.Error("two verifiers of the same password are equal: the salt is not random")
	}

	if _, _, err := a.HashPassword(""); err == nil {
		t.Error("HashPassword accepted an empty password")
	}
}

func TestGeneratePassword(t *testing.T) {
	first, err := GeneratePassword(32)
	if err != nil {
		t.Fatalf("GeneratePassword: %v", err)
	}
	if len(first) != 32 {
		t.Errorf("length = %d, want 32", len(first))
	}
	for _, c := range first {
		if !strings.ContainsRune(passwordAlphabet, c) {
			t.Errorf("character %q is not a letter or digit", c)
		}
	}

	second, err := GeneratePassword(32)
	if err != nil {
		t.Fatal(err)
	}
	if first == second {
		t.Error("two generated passwords are equal")
	}

	for _, n := range []int{0, -1} {
		if _, err := GeneratePassword(n); err == nil {
			t.Errorf("GeneratePassword(%d) returned no error", n)
		}
	}
}
