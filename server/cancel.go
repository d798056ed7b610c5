package server

import (
	"crypto/rand"
	"crypto/subtle"
	"math"
	mathrand "math/rand/v2"
	"sync"
)

// secretKeyLen is the length of the BackendKeyData secret key. Protocol 3.0
// fixes it at 4 bytes.
const secretKeyLen = 4

// canceler is the part of protocol.Conn that a cancel request uses.
type canceler interface {
	Cancel()
}

// cancelRegistry maps the process IDs of connections to their secret keys,
// so that a CancelRequest on another connection can find its target.
type cancelRegistry struct {
	mu struct {
		sync.Mutex
		entries map[uint32]*cancelEntry
	}
}

type cancelEntry struct {
	secret [secretKeyLen]byte
	// target is nil until the connection has a session.
	target canceler
}

func newCancelRegistry() *cancelRegistry {
	r := &cancelRegistry{}
	r.mu.entries = make(map[uint32]*cancelEntry)
	return r
}

// reserve allocates a process ID that no other connection uses and a
// random secret key for it. The PID stays below 2^31 because clients such
// as libpq and JDBC keep it in a signed 32-bit integer.
func (r *cancelRegistry) reserve() (pid uint32, secret [secretKeyLen]byte) {
	// NB: crypto/rand.Read never returns an error since Go 1.24; it panics
	// if the system cannot provide randomness.
	_, _ = rand.Read(secret[:])

	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		pid = mathrand.Uint32N(math.MaxInt32) + 1
		if _, taken := r.mu.entries[pid]; !taken {
			break
		}
	}
	r.mu.entries[pid] = &cancelEntry{secret: secret}
	return pid, secret
}

// activate makes the connection with pid cancelable through target.
func (r *cancelRegistry) activate(pid uint32, target canceler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.mu.entries[pid]; ok {
		e.target = target
	}
}

// release frees pid when its connection ends.
func (r *cancelRegistry) release(pid uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.mu.entries, pid)
}

// cancel cancels the running statement of the connection with pid when
// secret matches its key. It reports whether a connection was found.
func (r *cancelRegistry) cancel(pid uint32, secret []byte) bool {
	r.mu.Lock()
	e, ok := r.mu.entries[pid]
	var target canceler
	if ok && subtle.ConstantTimeCompare(e.secret[:], secret) == 1 {
		target = e.target
	}
	r.mu.Unlock()

	if target == nil {
		return false
	}
	target.Cancel()
	return true
}
