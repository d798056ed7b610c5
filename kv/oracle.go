package kv

import (
	"bytes"
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
	// hasSpilled is set while mu.spilled is not empty.
	hasSpilled atomic.Bool

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
		// spilled contains the recent commits of transactions whose writes
		// were spilled, oldest first. Their keys are not in lastCommit.
		spilled []spilledCommit
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

// end unregisters a transaction that begin returned startSeq for. The
// spills of commits that no open transaction can conflict with any more
// are dropped.
func (o *oracle) end(startSeq uint64) {
	o.active.Lock()
	if o.active.startSeqs[startSeq] <= 1 {
		delete(o.active.startSeqs, startSeq)
	} else {
		o.active.startSeqs[startSeq]--
	}
	o.active.count--
	o.active.Unlock()
	if o.hasSpilled.Load() {
		o.pruneSpilled()
	}
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

// reserve checks the writes of a transaction that started at startSeq
// against the commits it cannot see: the keys, or, for a transaction whose
// writes were spilled, sp. When none of those commits wrote one of the
// same keys, reserve records the writes under a new commit sequence number
// and returns it. The caller must then apply the writes and call finish
// with that number, whether the apply succeeds or not. On a conflict,
// reserve waits until the conflicting commits have finished and then
// returns the 40001 error.
// reads, when not nil, adds the keys and ranges the transaction read.
func (o *oracle) reserve(startSeq uint64, keys []writtenKey, reads *readSet, sp *spill) (uint64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()

	conflictSeq, err := o.conflictLocked(startSeq, keys, reads, sp)
	if err != nil {
		return 0, err
	}
	if conflictSeq > 0 {
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
	for _, k := range keys {
		o.mu.lastCommit[k.key] = commitSeq
	}
	if sp != nil {
		o.mu.spilled = append(o.mu.spilled, spilledCommit{seq: commitSeq, spill: sp})
		o.hasSpilled.Store(true)
	}
	if len(o.mu.lastCommit) >= o.mu.pruneAt || sp != nil {
		o.pruneLocked()
	}
	return commitSeq, nil
}

// conflictLocked returns the sequence number of the newest commit after
// startSeq that wrote a key the transaction wrote or read, or zero.
func (o *oracle) conflictLocked(startSeq uint64, keys []writtenKey, reads *readSet, sp *spill) (uint64, error) {
	var conflictSeq uint64
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
				conflictSeq = max(conflictSeq, seq)
			}
		}
	}
	for _, k := range keys {
		if last := o.mu.lastCommit[k.key]; last > k.base {
			conflictSeq = max(conflictSeq, last)
		}
	}
	if sp != nil {
		for key, seq := range o.mu.lastCommit {
			if seq <= startSeq {
				continue
			}
			// A base of zero stands for startSeq, which is below seq.
			wrote, base, err := sp.written([]byte(key))
			if err != nil {
				return 0, err
			}
			if wrote && base < seq {
				conflictSeq = max(conflictSeq, seq)
			}
		}
	}

	// The commits of spilled transactions are not in lastCommit: ask their
	// spills.
	for _, c := range o.mu.spilled {
		if c.seq <= startSeq || c.seq <= conflictSeq {
			continue
		}
		hit, err := c.conflicts(keys, reads, sp)
		if err != nil {
			return 0, err
		}
		if hit {
			conflictSeq = c.seq
		}
	}
	return conflictSeq, nil
}

// spilledCommit is a commit whose written keys its spill holds.
type spilledCommit struct {
	seq   uint64
	spill *spill
}

// conflicts reports whether the commit wrote a key of keys or of sp whose
// conflict check starts before it, or a key in reads.
func (c spilledCommit) conflicts(keys []writtenKey, reads *readSet, sp *spill) (bool, error) {
	for _, k := range keys {
		if k.base >= c.seq {
			continue
		}
		if wrote, _, err := c.spill.written([]byte(k.key)); wrote || err != nil {
			return wrote, err
		}
	}
	if reads != nil {
		for key := range reads.keys {
			if wrote, _, err := c.spill.written([]byte(key)); wrote || err != nil {
				return wrote, err
			}
		}
		for _, r := range reads.ranges {
			if hit, err := c.spill.anyWrittenIn(r); hit || err != nil {
				return hit, err
			}
		}
	}
	if sp == nil || bytes.Compare(sp.lower, c.spill.upper) > 0 || bytes.Compare(c.spill.lower, sp.upper) > 0 {
		return false, nil
	}
	return spillsIntersect(sp, c)
}

// spillsIntersect reports whether sp wrote a key that c wrote too, with a
// conflict check that starts before c. It walks both spills in key order,
// each seeking to the other's key.
func spillsIntersect(sp *spill, c spilledCommit) (bool, error) {
	mine, err := sp.newIter(c.spill.lower, nil)
	if err != nil {
		return false, err
	}
	theirs, err := c.spill.newIter(sp.lower, nil)
	if err != nil {
		return false, closeIter(mine, nil)
	}
	hit := false
	valid := mine.First() && theirs.First()
	for valid && err == nil {
		switch cmp := bytes.Compare(mine.Key(), theirs.Key()); {
		case cmp < 0:
			valid = mine.SeekGE(theirs.Key())
		case cmp > 0:
			valid = theirs.SeekGE(mine.Key())
		default:
			var a, b []byte
			if a, err = mine.ValueAndErr(); err != nil {
				break
			}
			if b, err = theirs.ValueAndErr(); err != nil {
				break
			}
			tagA, base, _ := parseWrite(a)
			tagB, _, _ := parseWrite(b)
			if tagA != writeNone && tagB != writeNone && base < c.seq {
				hit = true
				valid = false
				break
			}
			valid = mine.Next() && theirs.Next()
		}
	}
	err = closeIter(mine, err)
	return hit, closeIter(theirs, err)
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

	live := o.mu.spilled[:0]
	for _, c := range o.mu.spilled {
		if c.seq <= horizon {
			c.spill.drop()
		} else {
			live = append(live, c)
		}
	}
	clear(o.mu.spilled[len(live):])
	o.mu.spilled = live
	o.hasSpilled.Store(len(live) > 0)
}

// pruneSpilled drops the spills of the commits no transaction can conflict
// with any more.
func (o *oracle) pruneSpilled() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.mu.spilled) > 0 {
		o.pruneLocked()
	}
}

// lastCommitLen returns the size of the last-commit map, for tests.
func (o *oracle) lastCommitLen() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.mu.lastCommit)
}
