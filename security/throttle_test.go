package security

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// newThrottleAuthenticator returns an Authenticator with the default limits,
// the given password method and a manual clock, and counts slow checks.
func newThrottleAuthenticator(t *testing.T, method string, clock *manualClock, slowChecks *int, edit func(*Config)) *Authenticator {
	t.Helper()
	cfg := Config{
		PasswordMethod: method,
		BcryptCost:     4,
		ServerSecret:   testSecret,
		VerifyCacheTTL: -1,
		Now:            clock.Now,
		TestingKnobs:   AuthTestingKnobs{OnSlowPasswordCheck: func() { *slowChecks++ }},
	}
	if edit != nil {
		edit(&cfg)
	}
	a, err := NewAuthenticator(cfg)
	if err != nil {
		t.Fatalf("NewAuthenticator: %v", err)
	}
	return a
}

func connFrom(user, addr string) ConnInfo {
	return ConnInfo{User: user, Database: "db", Source: SourceRemote, RemoteAddr: addr}
}

func cleartextLogin(a *Authenticator, store CredentialStore, ci ConnInfo, password string) (Result, error) {
	return a.Authenticate(context.Background(), ci, store, &passwordExchange{password: password})
}

// failLogins runs n wrong-password logins and fails the test if one is
// refused as locked out.
func failLogins(t *testing.T, a *Authenticator, store CredentialStore, ci ConnInfo, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		res, err := cleartextLogin(a, store, ci, "wrong-password")
		if !pgerror.HasCode(err, pgcode.InvalidPassword) {
			t.Fatalf("failure %d: error %v, want 28P01", i+1, err)
		}
		if res.Reason == ReasonLockedOut {
			t.Fatalf("failure %d was refused as locked out", i+1)
		}
	}
}

// assertLockedOut checks that a login with the correct password is refused
// with the wrong-password error and no slow check.
func assertLockedOut(t *testing.T, a *Authenticator, store CredentialStore, ci ConnInfo, slowChecks *int) {
	t.Helper()
	*slowChecks = 0
	res, err := cleartextLogin(a, store, ci, testPassword)
	assertPGError(t, err, pgcode.InvalidPassword, `password authentication failed for user "`+ci.User+`"`)
	if res.Reason != ReasonLockedOut {
		t.Errorf("reason = %q, want %q", res.Reason, ReasonLockedOut)
	}
	if *slowChecks != 0 {
		t.Errorf("a locked-out login ran %d slow password checks, want 0", *slowChecks)
	}
}

func assertLoginOK(t *testing.T, a *Authenticator, store CredentialStore, ci ConnInfo) {
	t.Helper()
	if _, err := cleartextLogin(a, store, ci, testPassword); err != nil {
		t.Fatalf("login of %s from %s: %v", ci.User, ci.RemoteAddr, err)
	}
}

func TestThrottlePerUser(t *testing.T) {
	clock := newManualClock()
	var slowChecks int
	a := newThrottleAuthenticator(t, PasswordMethodPassword, clock, &slowChecks, nil)
	store := testStore(t, a)

	// Five failures from five addresses lock the name everywhere.
	for i := 0; i < 5; i++ {
		failLogins(t, a, store, connFrom("alice", fmt.Sprintf("192.0.2.%d:5000", i+1)), 1)
	}
	assertLockedOut(t, a, store, connFrom("alice", "198.51.100.1:5000"), &slowChecks)

	// Other users from the same addresses are not affected.
	assertLoginOK(t, a, store, connFrom("bcryptonly", "192.0.2.1:5000"))
}

func TestThrottleUnknownUser(t *testing.T) {
	clock := newManualClock()
	var slowChecks int
	a := newThrottleAuthenticator(t, PasswordMethodPassword, clock, &slowChecks, nil)
	store := testStore(t, a)

	failLogins(t, a, store, connFrom("nobody", "192.0.2.1:5000"), 5)
	slowChecks = 0
	res, err := cleartextLogin(a, store, connFrom("nobody", "192.0.2.1:5000"), testPassword)
	assertPGError(t, err, pgcode.InvalidPassword, `password authentication failed for user "nobody"`)
	if res.Reason != ReasonLockedOut || slowChecks != 0 {
		t.Errorf("reason %q with %d slow checks, want %q with none", res.Reason, slowChecks, ReasonLockedOut)
	}
}

func TestThrottlePerAddress(t *testing.T) {
	clock := newManualClock()
	var slowChecks int
	a := newThrottleAuthenticator(t, PasswordMethodPassword, clock, &slowChecks, nil)
	store := testStore(t, a)

	// Twenty failures spread over names, four each, stay under the user limit
	// but reach the address limit.
	for i := 0; i < 5; i++ {
		failLogins(t, a, store, connFrom(fmt.Sprintf("ghost%d", i), "192.0.2.1:5000"), 4)
	}
	assertLockedOut(t, a, store, connFrom("bcryptonly", "192.0.2.1:6000"), &slowChecks)

	// The port is not part of the key, and another address is fine.
	assertLoginOK(t, a, store, connFrom("bcryptonly", "192.0.2.2:5000"))
}

func TestThrottleWindowSlides(t *testing.T) {
	clock := newManualClock()
	var slowChecks int
	a := newThrottleAuthenticator(t, PasswordMethodPassword, clock, &slowChecks, nil)
	store := testStore(t, a)
	ci := connFrom("alice", "192.0.2.1:5000")

	failLogins(t, a, store, ci, 4)
	clock.advance(5*time.Minute + time.Second)
	// The first four left the window, so four more do not lock.
	failLogins(t, a, store, ci, 4)
	assertLoginOK(t, a, store, ci)
}

func TestThrottleBackoffDoublesAndCaps(t *testing.T) {
	clock := newManualClock()
	var slowChecks int
	a := newThrottleAuthenticator(t, PasswordMethodPassword, clock, &slowChecks, nil)
	store := testStore(t, a)
	ci := connFrom("alice", "192.0.2.1:5000")

	failLogins(t, a, store, ci, 5)
	wantBackoffs := []time.Duration{
		30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute,
		8 * time.Minute, 15 * time.Minute, 15 * time.Minute,
	}
	for i, backoff := range wantBackoffs {
		clock.advance(backoff - time.Second)
		assertLockedOut(t, a, store, ci, &slowChecks)
		clock.advance(time.Second)
		if i == len(wantBackoffs)-1 {
			break
		}
		// The lockout ended: one more failure locks again, for twice as long.
		failLogins(t, a, store, ci, 1)
	}
	assertLoginOK(t, a, store, ci)
}

// TestThrottleRefusalsDoNotExtend checks that logins refused during a
// lockout neither count as failures nor extend it.
func TestThrottleRefusalsDoNotExtend(t *testing.T) {
	clock := newManualClock()
	var slowChecks int
	a := newThrottleAuthenticator(t, PasswordMethodPassword, clock, &slowChecks, nil)
	store := testStore(t, a)
	ci := connFrom("alice", "192.0.2.1:5000")

	failLogins(t, a, store, ci, 5)
	for i := 0; i < 10; i++ {
		clock.advance(time.Second)
		_, _ = cleartextLogin(a, store, ci, "wrong-password")
	}
	clock.advance(20 * time.Second)
	assertLoginOK(t, a, store, ci)
}

func TestThrottleResetOnSuccess(t *testing.T) {
	clock := newManualClock()
	var slowChecks int
	a := newThrottleAuthenticator(t, PasswordMethodPassword, clock, &slowChecks, nil)
	store := testStore(t, a)
	ci := connFrom("alice", "192.0.2.1:5000")

	failLogins(t, a, store, ci, 4)
	assertLoginOK(t, a, store, ci)
	// The success reset the user counter, so four more failures do not lock.
	failLogins(t, a, store, ci, 4)
	assertLoginOK(t, a, store, ci)

	// It also forgets an earlier lockout: the next one starts at 30 s again.
	failLogins(t, a, store, ci, 5)
	clock.advance(30 * time.Second)
	assertLoginOK(t, a, store, ci)
	failLogins(t, a, store, ci, 4)
	assertLoginOK(t, a, store, ci)
}

// TestThrottleSuccessKeepsAddressCount checks that a success resets only the
// user: a client with one valid account cannot clear its address counter.
func TestThrottleSuccessKeepsAddressCount(t *testing.T) {
	clock := newManualClock()
	var slowChecks int
	a := newThrottleAuthenticator(t, PasswordMethodPassword, clock, &slowChecks, nil)
	store := testStore(t, a)

	for i := 0; i < 5; i++ {
		failLogins(t, a, store, connFrom(fmt.Sprintf("ghost%d", i), "192.0.2.1:5000"), 3)
		assertLoginOK(t, a, store, connFrom("bcryptonly", "192.0.2.1:5000"))
	}
	failLogins(t, a, store, connFrom("ghost9", "192.0.2.1:5000"), 5)
	assertLockedOut(t, a, store, connFrom("bcryptonly", "192.0.2.1:5000"), &slowChecks)
}

func TestThrottleLocalExempt(t *testing.T) {
	clock := newManualClock()
	var slowChecks int
	exempt := newThrottleAuthenticator(t, PasswordMethodPassword, clock, &slowChecks, nil)
	store := testStore(t, exempt)

	local := ConnInfo{User: "alice", Database: "db", Source: SourceLocal, RemoteAddr: "[local]"}
	loopback := ConnInfo{User: "alice", Database: "db", Source: SourceLoopback, RemoteAddr: "127.0.0.1:5000"}
	for _, ci := range []ConnInfo{local, loopback} {
		failLogins(t, exempt, store, ci, 30)
		assertLoginOK(t, exempt, store, ci)
	}

	// A name locked out from remote still logs in locally.
	failLogins(t, exempt, store, connFrom("alice", "192.0.2.1:5000"), 5)
	assertLockedOut(t, exempt, store, connFrom("alice", "192.0.2.1:5000"), &slowChecks)
	assertLoginOK(t, exempt, store, local)

	throttled := newThrottleAuthenticator(t, PasswordMethodPassword, clock, &slowChecks, func(cfg *Config) {
		cfg.ThrottleLocal = true
	})
	for _, ci := range []ConnInfo{local, loopback} {
		failLogins(t, throttled, store, ci, 5)
		assertLockedOut(t, throttled, store, ci, &slowChecks)
		clock.advance(time.Hour)
	}
}

// TestThrottleSameErrorAsWrongPassword checks that the refusal of a locked
// out SCRAM login runs the same exchange, with the same salt, and ends in
// the same error as a wrong password.
func TestThrottleSameErrorAsWrongPassword(t *testing.T) {
	clock := newManualClock()
	var slowChecks int
	a := newThrottleAuthenticator(t, PasswordMethodSCRAMSHA256, clock, &slowChecks, nil)
	store := testStore(t, a)

	for _, user := range []string{"alice", "nobody"} {
		t.Run(user, func(t *testing.T) {
			ci := connFrom(user, "192.0.2.1:5000")
			wrong := newSCRAMClientExchange(t, "", "wrong-password")
			_, wrongErr := a.Authenticate(context.Background(), ci, store, wrong)
			for i := 0; i < 4; i++ {
				_, _ = a.Authenticate(context.Background(), ci, store, newSCRAMClientExchange(t, "", "wrong-password"))
			}

			// The correct password while locked out.
			locked := newSCRAMClientExchange(t, "", testPassword)
			res, lockedErr := a.Authenticate(context.Background(), ci, store, locked)
			if res.Reason != ReasonLockedOut {
				t.Errorf("reason = %q, want %q", res.Reason, ReasonLockedOut)
			}
			if lockedErr.Error() != wrongErr.Error() || pgerror.GetCode(lockedErr) != pgerror.GetCode(wrongErr) {
				t.Errorf("locked-out error %v differs from wrong-password error %v", lockedErr, wrongErr)
			}
			assertPGError(t, lockedErr, pgcode.InvalidPassword, `password authentication failed for user "`+user+`"`)
			if locked.finished {
				t.Error("FinishSASL was called for a locked-out login")
			}
			_, wrongSalt, _ := serverFirstFields(t, wrong.serverFirst)
			_, lockedSalt, _ := serverFirstFields(t, locked.serverFirst)
			if string(wrongSalt) != string(lockedSalt) {
				t.Error("the salt changed when the user was locked out")
			}
		})
	}
}

func TestThrottleIgnoresProtocolErrors(t *testing.T) {
	clock := newManualClock()
	var slowChecks int
	a := newThrottleAuthenticator(t, PasswordMethodPassword, clock, &slowChecks, nil)
	store := testStore(t, a)
	ci := connFrom("alice", "192.0.2.1:5000")

	for i := 0; i < 10; i++ {
		_, _ = cleartextLogin(a, store, ci, "")
		_, _ = cleartextLogin(a, store, ci, "a\x00b")
	}
	assertLoginOK(t, a, store, ci)
}

func TestThrottleBoundedKeys(t *testing.T) {
	th := newThrottle(throttleLimits{perUser: 2, perAddress: 2, window: time.Minute,
		backoff: time.Second, maxBackoff: time.Minute, maxKeys: 10})
	now := newManualClock().now
	for i := 0; i < 100; i++ {
		th.recordFailure([]throttleKey{{name: fmt.Sprint("user", i)}}, now)
	}
	if got := th.size(); got != 10 {
		t.Errorf("tracked keys = %d, want 10", got)
	}
	// The oldest were evicted, the newest kept.
	th.recordFailure([]throttleKey{{name: "user99"}}, now)
	if !th.lockedOut([]throttleKey{{name: "user99"}}, now) {
		t.Error("user99 is not locked out after two failures")
	}
	th.recordFailure([]throttleKey{{name: "user0"}}, now)
	if th.lockedOut([]throttleKey{{name: "user0"}}, now) {
		t.Error("user0 kept its evicted failure")
	}
}

func TestThrottleUserAndAddressKeysDistinct(t *testing.T) {
	th := newThrottle(throttleLimits{perUser: 1, perAddress: 5, window: time.Minute,
		backoff: time.Second, maxBackoff: time.Minute, maxKeys: 10})
	now := newManualClock().now
	th.recordFailure([]throttleKey{{address: true, name: "192.0.2.1"}}, now)
	if th.lockedOut([]throttleKey{{name: "192.0.2.1"}}, now) {
		t.Error("a failure of the address locked out the user of the same name")
	}
}
