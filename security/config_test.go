package security

import (
	"testing"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

func TestNewAuthenticatorDefaults(t *testing.T) {
	secret := append([]byte(nil), testSecret...)
	a, err := NewAuthenticator(Config{ServerSecret: secret})
	if err != nil {
		t.Fatalf("NewAuthenticator: %v", err)
	}
	cfg := a.Config()
	if cfg.PasswordMethod != PasswordMethodSCRAMSHA256 {
		t.Errorf("PasswordMethod = %q, want scram-sha-256", cfg.PasswordMethod)
	}
	if cfg.BcryptCost != 12 {
		t.Errorf("BcryptCost = %d, want 12", cfg.BcryptCost)
	}
	if cfg.SCRAMIterations != 4096 {
		t.Errorf("SCRAMIterations = %d, want 4096", cfg.SCRAMIterations)
	}

	// The Authenticator keeps its own copy of the secret.
	secret[0] ^= 0xff
	if a.Config().ServerSecret[0] != testSecret[0] {
		t.Error("changing the caller's secret changed the Authenticator's")
	}
}

func TestNewAuthenticatorInvalid(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
	}{
		{"unknown method", Config{PasswordMethod: "md5", ServerSecret: testSecret}},
		{"bcrypt cost too low", Config{BcryptCost: 3, ServerSecret: testSecret}},
		{"bcrypt cost too high", Config{BcryptCost: 32, ServerSecret: testSecret}},
		{"too few iterations", Config{SCRAMIterations: 4095, ServerSecret: testSecret}},
		{"negative iterations", Config{SCRAMIterations: -1, ServerSecret: testSecret}},
		{"no secret", Config{}},
		{"short secret", Config{ServerSecret: []byte("short")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewAuthenticator(tc.cfg)
			if err == nil {
				t.Fatal("NewAuthenticator returned no error")
			}
			if !pgerror.HasCode(err, pgcode.InvalidParameterValue) {
				t.Errorf("error %v: SQLSTATE %s, want 22023", err, pgerror.GetCode(err))
			}
		})
	}
}
