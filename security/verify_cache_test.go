package security

import (
	"context"
	"testing"
	"time"

	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// manualClock is a clock that tests move by hand.
type manualClock struct {
	now time.Time
}

func (c *manualClock) Now() time.Time { return c.now }

func (c *manualClock) advance(d time.Duration) { c.now = c.now.Add(d) }

func newManualClock() *manualClock {
	return &manualClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

// newCacheAuthenticator returns a cleartext-password Authenticator with the
// clock and a counter of slow password checks.
func newCacheAuthenticator(t *testing.T, clock *manualClock, ttl time.Duration, slowChecks *int) *Authenticator {
	t.Helper()
	a, err := NewAuthenticator(Config{
		PasswordMethod: PasswordMethodPassword,
		BcryptCost:     4,
		ServerSecret:   testSecret,
		VerifyCacheTTL: ttl,
		Now:            clock.Now,
		TestingKnobs:   AuthTestingKnobs{OnSlowPasswordCheck: func() { *slowChecks++ }},
	})
	if err != nil {
		t.Fatalf("NewAuthenticator: %v", err)
	}
	return a
}

func loginWith(a *Authenticator, store CredentialStore, user, password string) error {
	_, err := a.Authenticate(context.Background(), remoteConn(user), store, &passwordExchange{password: password})
	return err
}

func TestVerifyCacheHitSkipsBcrypt(t *testing.T) {
	clock := newManualClock()
	var slowChecks int
	a := newCacheAuthenticator(t, clock, 0, &slowChecks)
	store := testStore(t, a)

	for _, user := range []string{"bcryptonly", "scramonly"} {
		t.Run(user, func(t *testing.T) {
			slowChecks = 0
			for i := 0; i < 3; i++ {
				if err := loginWith(a, store, user, testPassword); err != nil {
					t.Fatalf("login %d: %v", i+1, err)
				}
			}
			if slowChecks != 1 {
				t.Errorf("slow checks = %d for three logins, want 1", slowChecks)
			}
		})
	}
}

func TestVerifyCacheMissCases(t *testing.T) {
	clock := newManualClock()
	var slowChecks int
	a := newCacheAuthenticator(t, clock, 0, &slowChecks)
	store := testStore(t, a)

	if err := loginWith(a, store, "bcryptonly", testPassword); err != nil {
		t.Fatal(err)
	}

	// A wrong password, an unknown user and another user with the same
	// password all run bcrypt.
	slowChecks = 0
	err := loginWith(a, store, "bcryptonly", "wrong-password")
	assertPGError(t, err, pgcode.InvalidPassword, `password authentication failed for user "bcryptonly"`)
	err = loginWith(a, store, "nobody", testPassword)
	assertPGError(t, err, pgcode.InvalidPassword, `password authentication failed for user "nobody"`)
	if err := loginWith(a, store, "alice", testPassword); err != nil {
		t.Fatal(err)
	}
	if slowChecks != 3 {
		t.Errorf("slow checks = %d, want 3", slowChecks)
	}

	// Failures are never cached: the same wrong password runs bcrypt again.
	slowChecks = 0
	_ = loginWith(a, store, "bcryptonly", "wrong-password")
	if slowChecks != 1 {
		t.Errorf("slow checks for a repeated wrong password = %d, want 1", slowChecks)
	}
}

func TestVerifyCacheHashChange(t *testing.T) {
	clock := newManualClock()
	var slowChecks int
	a := newCacheAuthenticator(t, clock, 0, &slowChecks)
	store := testStore(t, a)

	if err := loginWith(a, store, "bcryptonly", testPassword); err != nil {
		t.Fatal(err)
	}

	// A new password gets a new hash. The old password must fail, and must
	// not be let in by the cached verification.
	newHash, _, err := a.HashPassword("another-Pass-77")
	if err != nil {
		t.Fatal(err)
	}
	store.users["bcryptonly"] = Credentials{AuthType: AuthPassword, BcryptHash: newHash}
	slowChecks = 0
	err = loginWith(a, store, "bcryptonly", testPassword)
	assertPGError(t, err, pgcode.InvalidPassword, `password authentication failed for user "bcryptonly"`)
	if slowChecks != 1 {
		t.Errorf("slow checks after the hash change = %d, want 1", slowChecks)
	}
	if got := a.verifyCache.size(); got != 0 {
		t.Errorf("cache holds %d entries after the stale one was found, want 0", got)
	}
}

func TestVerifyCacheTTL(t *testing.T) {
	clock := newManualClock()
	var slowChecks int
	a := newCacheAuthenticator(t, clock, time.Minute, &slowChecks)
	store := testStore(t, a)

	for _, step := range []struct {
		advance time.Duration
		slow    int
	}{
		{0, 1},                // first login verifies
		{59 * time.Second, 0}, // within the TTL
		{time.Second, 1},      // exactly one TTL after the first login: expired
		{30 * time.Second, 0}, // the second verification started a new TTL
	} {
		clock.advance(step.advance)
		slowChecks = 0
		if err := loginWith(a, store, "bcryptonly", testPassword); err != nil {
			t.Fatal(err)
		}
		if slowChecks != step.slow {
			t.Errorf("after %s: slow checks = %d, want %d", step.advance, slowChecks, step.slow)
		}
	}
}

func TestVerifyCacheOff(t *testing.T) {
	clock := newManualClock()
	var slowChecks int
	a := newCacheAuthenticator(t, clock, -1, &slowChecks)
	store := testStore(t, a)
	for i := 0; i < 2; i++ {
		if err := loginWith(a, store, "bcryptonly", testPassword); err != nil {
			t.Fatal(err)
		}
	}
	if slowChecks != 2 {
		t.Errorf("slow checks with the cache off = %d, want 2", slowChecks)
	}
}

func TestVerifyCacheBounded(t *testing.T) {
	c, err := newVerifyCache(time.Hour, 3)
	if err != nil {
		t.Fatal(err)
	}
	now := newManualClock().now
	for _, user := range []string{"u1", "u2", "u3", "u4"} {
		c.store(user, "pw", "hash", now)
	}
	if got := c.size(); got != 3 {
		t.Errorf("size = %d, want 3", got)
	}
	if c.lookup("u1", "pw", "hash", now) {
		t.Error("the oldest entry was not evicted")
	}
	if !c.lookup("u4", "pw", "hash", now) {
		t.Error("the newest entry is missing")
	}
	// The separator keeps user "ab" + password "c" apart from "a" + "bc".
	c.store("ab", "c", "hash", now)
	if c.lookup("a", "bc", "hash", now) {
		t.Error(`user "a" with password "bc" hit the entry of user "ab" with password "c"`)
	}
}

// TestUnknownUserRunsDummyBcrypt checks that a cleartext login of an unknown
// user runs one bcrypt comparison, like a known user with a wrong password.
func TestUnknownUserRunsDummyBcrypt(t *testing.T) {
	clock := newManualClock()
	var slowChecks int
	a := newCacheAuthenticator(t, clock, 0, &slowChecks)
	store := testStore(t, a)

	for _, user := range []string{"nobody", "bcryptonly", "deleted", "oauthuser"} {
		slowChecks = 0
		_ = loginWith(a, store, user, "wrong-password")
		if slowChecks != 1 {
			t.Errorf("%s: slow checks = %d, want 1", user, slowChecks)
		}
	}
}
