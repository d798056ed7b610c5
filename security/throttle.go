package security

import (
	"container/list"
	"sync"
	"time"
)

// Defaults of the throttle settings in Config.
const (
	DefaultMaxFailuresPerUser    = 5
	DefaultMaxFailuresPerAddress = 20
	DefaultFailureWindow         = 5 * time.Minute
	DefaultLockoutBackoff        = 30 * time.Second
	DefaultMaxLockoutBackoff     = 15 * time.Minute
	// DefaultMaxThrottleKeys bounds the user names and addresses the
	// throttle tracks at once. Each entry takes a few hundred bytes.
	DefaultMaxThrottleKeys = 100_000
)

// ReasonLockedOut is the Result.Reason of a login refused because its user
// name or client address had too many failed logins.
const ReasonLockedOut = "locked out"

// throttleKey names a user or a client address. The kind keeps a user named
// like an address apart from that address.
type throttleKey struct {
	address bool
	name    string
}

// failureRecord is the state of one key.
type failureRecord struct {
	key throttleKey
	// failures are the times of the failed logins within the window, oldest
	// first.
	failures []time.Time
	// backoff is the length of the last lockout, zero before the first.
	backoff     time.Duration
	lockedUntil time.Time
	lastFailure time.Time
	elem        *list.Element
}

// throttleLimits are the settings of a throttle, with defaults filled in. A
// limit of zero turns counting for that kind of key off.
type throttleLimits struct {
	perUser, perAddress int
	window              time.Duration
	backoff, maxBackoff time.Duration
	maxKeys             int
}

// throttle counts failed logins per user name and per client address.
//
// A key that reaches its limit of failures within the sliding window is
// locked out for the backoff: DefaultLockoutBackoff at first, and twice the
// previous backoff, up to the maximum, for each failure after a lockout
// ends. Logins refused during a lockout are not counted, so a client that
// keeps retrying does not extend it. A key's record, lockouts included, is
// dropped once a whole window has passed without failures after the end of
// its last lockout.
//
// At most maxKeys keys are tracked. A new key beyond that evicts the key
// whose last failure is the oldest, so memory stays bounded when an attacker
// tries many names.
type throttle struct {
	limits throttleLimits

	mu      sync.Mutex
	records map[throttleKey]*failureRecord
	// order holds the records by their last failure, oldest at the front.
	order *list.List
}

func newThrottle(limits throttleLimits) *throttle {
	return &throttle{
		limits:  limits,
		records: make(map[throttleKey]*failureRecord),
		order:   list.New(),
	}
}

func (t *throttle) limitOf(key throttleKey) int {
	if key.address {
		return t.limits.perAddress
	}
	return t.limits.perUser
}

// lockedOut reports whether any of keys is locked out at now.
func (t *throttle) lockedOut(keys []throttleKey, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, key := range keys {
		rec := t.records[key]
		if rec != nil && now.Before(rec.lockedUntil) {
			return true
		}
	}
	return false
}

// recordFailure counts a failed login against each of keys.
func (t *throttle) recordFailure(keys []throttleKey, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, key := range keys {
		limit := t.limitOf(key)
		if limit <= 0 {
			continue
		}
		rec := t.records[key]
		if rec != nil && t.expired(rec, now) {
			t.remove(rec)
			rec = nil
		}
		if rec == nil {
			rec = t.add(key)
		}
		rec.lastFailure = now
		t.order.MoveToBack(rec.elem)

		if rec.backoff > 0 {
			// Locked out before: each failure after the lockout doubles it.
			if !now.Before(rec.lockedUntil) {
				rec.backoff = min(2*rec.backoff, t.limits.maxBackoff)
				rec.lockedUntil = now.Add(rec.backoff)
			}
			continue
		}

		rec.failures = append(pruneBefore(rec.failures, now.Add(-t.limits.window)), now)
		if len(rec.failures) >= limit {
			rec.backoff = t.limits.backoff
			rec.lockedUntil = now.Add(rec.backoff)
			rec.failures = nil
		}
	}
}

// reset deletes the failures and lockouts of key, after a successful login.
func (t *throttle) reset(key throttleKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if rec := t.records[key]; rec != nil {
		t.remove(rec)
	}
}

// expired reports whether rec has nothing left to enforce: no failure within
// the window and no lockout whose end is less than a window ago.
func (t *throttle) expired(rec *failureRecord, now time.Time) bool {
	quietSince := rec.lastFailure
	if rec.lockedUntil.After(quietSince) {
		quietSince = rec.lockedUntil
	}
	return now.Sub(quietSince) >= t.limits.window
}

func (t *throttle) add(key throttleKey) *failureRecord {
	for len(t.records) >= t.limits.maxKeys && t.order.Len() > 0 {
		t.remove(t.order.Front().Value.(*failureRecord))
	}
	rec := &failureRecord{key: key}
	rec.elem = t.order.PushBack(rec)
	t.records[key] = rec
	return rec
}

func (t *throttle) remove(rec *failureRecord) {
	t.order.Remove(rec.elem)
	delete(t.records, rec.key)
}

// size returns the number of tracked keys.
func (t *throttle) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.records)
}

// pruneBefore drops the times before cutoff from the sorted slice times.
func pruneBefore(times []time.Time, cutoff time.Time) []time.Time {
	i := 0
	for i < len(times) && times[i].Before(cutoff) {
		i++
	}
	return times[i:]
}
