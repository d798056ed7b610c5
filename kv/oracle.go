package kv

import (
	"sync"
	"sync/atomic"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// minPruneThreshold is the size of the last-commit map below which the
// oracle does not prune it.
const minPruneThreshold = 4096

// oracle numbers commits and detects write-write conflicts between
// transactions (first committer wins).
//
// Every commit that passes the conflict check gets the next commit sequence
// number. The visible watermark is the highest sequence number at or below
// which every commit has finished applying, so a snapshot taken after
// reading the watermark contains all of those commits. A transaction starts
// at the watermark (its startSeq) and conflicts with any commit numbered
// above startSeq that wrote one of its keys.
type oracle struct {
	// visible is the visible watermark. It is written under mu and read
	// under active.Mutex.
	visible atomic.Uint64

	mu struct {
		sync.Mutex
		// lastSeq is the last commit sequence number handed out.
		lastSeq uint64
		// lastCommit maps each recently written key to the sequence number
		// of the last commit that wrote it.
		lastCommit map[string]uint64
		// finished contains the commits above the watermark that have
		// finished applying, successfully or not.
		finished map[uint64]struct{}
		// pruneAt is the size of lastCommit that triggers the next pruning.
		pruneAt int
		// applied is signaled when the watermark advances.
		applied sync.Cond
	}

	active struct {
		sync.Mutex
		// startSeqs counts the open transactions by startSeq.
		startSeqs map[uint64]int
		count     int
		closed    bool
	}
}

func newOracle() *oracle {
	o := &oracle{}
	o.mu.lastCommit = make(map[string]uint64)
	o.mu.finished = make(map[uint64]struct{})
	o.mu.pruneAt = minPruneThreshold
	o.mu.applied.L = &o.mu.Mutex
	o.active.startSeqs = make(map[uint64]int)
	return o
}

// begin registers a new transaction and returns its startSeq. The caller
// must take its snapshot after begin returns and call end when the
// transaction finishes.
func (o *oracle) begin() (uint64, error) {
	o.active.Lock()
	defer o.active.Unlock()
	if o.active.closed {
		return 0, ErrClosed
	}
	// NB: reading the watermark and registering happen under one lock, so
	// pruning never removes an entry this transaction still needs.
	startSeq := o.visible.Load()
	o.active.startSeqs[startSeq]++
	o.active.count++
	return startSeq, nil
}

// end unregisters a transaction that begin returned startSeq for.
func (o *oracle) end(startSeq uint64) {
	o.active.Lock()
	defer o.active.Unlock()
	if o.active.startSeqs[startSeq] <= 1 {
		delete(o.active.startSeqs, startSeq)
	} else {
		o.active.startSeqs[startSeq]--
	}
	o.active.count--
}

// close rejects new transactions. It fails while a transaction is open.
func (o *oracle) close() error {
	o.active.Lock()
	defer o.active.Unlock()
	if o.active.closed {
		return ErrClosed
	}
	if o.active.count > 0 {
		return pgerror.Newf(pgcode.ObjectNotInPrerequisiteState,
			"kv: cannot close engine: %d transactions are still open", o.active.count).
			WithHint("Commit or roll back every transaction before closing the engine.")
	}
	o.active.closed = true
	return nil
}

// reserve checks the keys written by a transaction that started at
// startSeq against the commits it cannot see. When none of them wrote one
// of the keys, reserve records the keys under a new commit sequence number
// and returns it. The caller must then apply the writes and call finish
// with that number, whether the apply succeeds or not. On a conflict,
// reserve waits until the conflicting commits have finished and then
// returns the 40001 error.
// keyBase overrides startSeq for keys first written after a Refresh.
// reads, when not nil, adds the keys and ranges the transaction read.
func (o *oracle) reserve(startSeq uint64, keyBase map[string]uint64, keys []string, reads *readSet) (uint64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()

	var conflictSeq uint64
	conflict := false
	if reads != nil {
		// NB: a range check visits every recent commit; the map only holds
		// commits newer than the oldest open transaction.
		for key, seq := range o.mu.lastCommit {
			if seq <= startSeq {
				continue
			}
			_, read := reads.keys[key]
			for i := 0; !read && i < len(reads.ranges); i++ {
				read = reads.ranges[i].contains(key)
			}
			if read {
				conflict = true
				conflictSeq = max(conflictSeq, seq)
			}
		}
	}
	for _, key := range keys {
		last := o.mu.lastCommit[key]
		base := startSeq
		if b, ok := keyBase[key]; ok {
			base = b
		}
		if last > base {
			conflict = true
			conflictSeq = max(conflictSeq, last)
		}
	}
	if conflict {
		// NB: like PostgreSQL, which makes a writer wait for the transaction
		// holding the row lock before it raises 40001, the loser waits until
		// the conflicting commits are visible. A retry then starts from a
		// snapshot that contains them, instead of failing again at once
		// while they are still being applied.
		for o.visible.Load() < conflictSeq {
			o.mu.applied.Wait()
		}
		return 0, pgerror.New(pgcode.SerializationFailure,
			"could not serialize access due to concurrent update")
	}

	o.mu.lastSeq++
	commitSeq := o.mu.lastSeq
	for _, key := range keys {
		o.mu.lastCommit[key] = commitSeq
	}
	if len(o.mu.lastCommit) >= o.mu.pruneAt {
		o.pruneLocked()
	}
	return commitSeq, nil
}

// finish marks commitSeq as applied and advances the visible watermark
// over the contiguous run of finished commits.
func (o *oracle) finish(commitSeq uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.mu.finished[commitSeq] = struct{}{}
	visible := o.visible.Load()
	for {
		if _, ok := o.mu.finished[visible+1]; !ok {
			break
		}
		delete(o.mu.finished, visible+1)
		visible++
	}
	if visible != o.visible.Load() {
		o.visible.Store(visible)
		o.mu.applied.Broadcast()
	}
}

// pruneLocked drops the entries of lastCommit that no open or future
// transaction can conflict with: those at or below the smallest startSeq of
// the open transactions, or at or below the watermark when none is open.
func (o *oracle) pruneLocked() {
	o.active.Lock()
	horizon := o.visible.Load()
	for startSeq := range o.active.startSeqs {
		horizon = min(horizon, startSeq)
	}
	o.active.Unlock()

	for key, seq := range o.mu.lastCommit {
		if seq <= horizon {
			delete(o.mu.lastCommit, key)
		}
	}
	o.mu.pruneAt = max(minPruneThreshold, 2*len(o.mu.lastCommit))
}

// lastCommitLen returns the size of the last-commit map, for tests.
func (o *oracle) lastCommitLen() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.mu.lastCommit)
}
