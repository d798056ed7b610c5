package security

import (
	"container/list"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"
)

const (
	// DefaultVerifyCacheTTL is how long a successful cleartext verification
	// is reused when Config.VerifyCacheTTL is zero.
	DefaultVerifyCacheTTL = 10 * time.Minute
	// DefaultVerifyCacheSize is the number of verifications kept when
	// Config.VerifyCacheSize is zero.
	DefaultVerifyCacheSize = 10_000
)

// verifyCache remembers successful cleartext password checks, so that a
// client that logs in again and again with the same password pays for bcrypt
// (or PBKDF2, for a password checked against the SCRAM verifier) once per TTL.
//
// The key is HMAC-SHA256(random per-process key, user + "\x00" + password),
// so the cache holds no password and its keys are useless outside this
// process. The value is the SHA-256 of the stored hash or verifier that the
// password matched. A hit counts only while the user's current stored form
// has the same digest, so a password change invalidates the entry without
// any explicit eviction. Failed checks are never stored.
type verifyCache struct {
	hmacKey []byte
	ttl     time.Duration
	maxSize int

	mu      sync.Mutex
	entries map[[sha256.Size]byte]*list.Element
	// order holds *verifyCacheEntry values, least recently stored first.
	order *list.List
}

type verifyCacheEntry struct {
	key          [sha256.Size]byte
	storedDigest [sha256.Size]byte
	expires      time.Time
}

func newVerifyCache(ttl time.Duration, maxSize int) (*verifyCache, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return &verifyCache{
		hmacKey: key,
		ttl:     ttl,
		maxSize: maxSize,
		entries: make(map[[sha256.Size]byte]*list.Element),
		order:   list.New(),
	}, nil
}

func (c *verifyCache) key(user, password string) [sha256.Size]byte {
	mac := hmac.New(sha256.New, c.hmacKey)
	mac.Write([]byte(user))
	mac.Write([]byte{0})
	mac.Write([]byte(password))
	var out [sha256.Size]byte
	mac.Sum(out[:0])
	return out
}

// lookup reports whether user logged in with password at most ttl ago
// against the stored form stored, which must still be the current one.
func (c *verifyCache) lookup(user, password, stored string, now time.Time) bool {
	if c == nil {
		return false
	}
	key := c.key(user, password)
	digest := sha256.Sum256([]byte(stored))

	c.mu.Lock()
	defer c.mu.Unlock()
	elem, ok := c.entries[key]
	if !ok {
		return false
	}
	entry := elem.Value.(*verifyCacheEntry)
	if !now.Before(entry.expires) || !hmac.Equal(entry.storedDigest[:], digest[:]) {
		c.order.Remove(elem)
		delete(c.entries, key)
		return false
	}
	return true
}

// store records that password matched the stored form stored of user.
func (c *verifyCache) store(user, password, stored string, now time.Time) {
	if c == nil {
		return
	}
	key := c.key(user, password)
	entry := &verifyCacheEntry{key: key, storedDigest: sha256.Sum256([]byte(stored)), expires: now.Add(c.ttl)}

	c.mu.Lock()
	defer c.mu.Unlock()
	if elem, ok := c.entries[key]; ok {
		c.order.Remove(elem)
		delete(c.entries, key)
	}
	for len(c.entries) >= c.maxSize && c.order.Len() > 0 {
		oldest := c.order.Front()
		c.order.Remove(oldest)
		delete(c.entries, oldest.Value.(*verifyCacheEntry).key)
	}
	c.entries[key] = c.order.PushBack(entry)
}

// size returns the number of cached verifications.
func (c *verifyCache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
