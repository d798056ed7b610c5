package kv

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// expectSerializationFailure checks that err is PostgreSQL's 40001 error.
func expectSerializationFailure(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("commit succeeded, expected a serialization failure")
	}
	if code := pgerror.GetCode(err); code != pgcode.SerializationFailure {
		t.Fatalf("commit error %q has code %s, expected %s", err, code, pgcode.SerializationFailure)
	}
	const message = "could not serialize access due to concurrent update"
	if err.Error() != message {
		t.Errorf("commit error message = %q, expected %q", err.Error(), message)
	}
}

func TestWriteConflictFirstCommitterWins(t *testing.T) {
	cases := []struct {
		name         string
		first, loser func(t *testing.T, txn Txn)
		// expectedK is the value of k the first committer left, or nil.
		expectedK *string
	}{
		{
			name:      "put put",
			first:     func(t *testing.T, txn Txn) { put(t, txn, "k", "first") },
			loser:     func(t *testing.T, txn Txn) { put(t, txn, "k", "loser") },
			expectedK: ptr("first"),
		},
		{
			name:      "delete put",
			first:     func(t *testing.T, txn Txn) { del(t, txn, "k") },
			loser:     func(t *testing.T, txn Txn) { put(t, txn, "k", "loser") },
			expectedK: nil,
		},
		{
			name:      "put delete",
			first:     func(t *testing.T, txn Txn) { put(t, txn, "k", "first") },
			loser:     func(t *testing.T, txn Txn) { del(t, txn, "k") },
			expectedK: ptr("first"),
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := openTestEngine(t)
			commitKVs(t, e, "k", "base")

			first := begin(t, e)
			loser := begin(t, e)
			c.first(t, first)
			c.loser(t, loser)
			put(t, loser, "other", "loser") // a key only the loser wrote
			commit(t, first)
			expectSerializationFailure(t, loser.Commit())
			if err := loser.Commit(); !errors.Is(err, ErrClosed) {
				t.Errorf("Commit after a failed commit: err = %v, expected ErrClosed", err)
			}
			loser.Rollback()

			check := begin(t, e)
			defer check.Rollback()
			expectGet(t, check, "other", nil)
			expectGet(t, check, "k", c.expectedK)
		})
	}
}

func TestLoserRetrySucceeds(t *testing.T) {
	e := openTestEngine(t)
	first := begin(t, e)
	loser := begin(t, e)
	put(t, first, "k", "first")
	put(t, loser, "k", "loser")
	commit(t, first)
	expectSerializationFailure(t, loser.Commit())

	retry := begin(t, e)
	expectGet(t, retry, "k", ptr("first"))
	put(t, retry, "k", "retry")
	commit(t, retry)

	check := begin(t, e)
	defer check.Rollback()
	expectGet(t, check, "k", ptr("retry"))
}

func TestNoConflictForDisjointKeys(t *testing.T) {
	e := openTestEngine(t)
	commitKVs(t, e, "a", "a0", "b", "b0")

	t1 := begin(t, e)
	t2 := begin(t, e)
	put(t, t1, "a", "a1")
	put(t, t2, "b", "b2")
	put(t, t2, "c", "c2")
	commit(t, t1)
	commit(t, t2)

	check := begin(t, e)
	defer check.Rollback()
	expectScan(t, check, nil, nil, "a=a1", "b=b2", "c=c2")
}

func TestNoConflictWithEarlierCommit(t *testing.T) {
	e := openTestEngine(t)
	commitKVs(t, e, "k", "v1")

	// A transaction that began after the commit of k may write k.
	txn := begin(t, e)
	put(t, txn, "k", "v2")
	commit(t, txn)
}

func TestReadOnlyTxnNeverConflicts(t *testing.T) {
	e := openTestEngine(t)
	commitKVs(t, e, "k", "v1")

	reader := begin(t, e)
	expectGet(t, reader, "k", ptr("v1"))
	commitKVs(t, e, "k", "v2")
	expectGet(t, reader, "k", ptr("v1"))
	commit(t, reader)
}

func TestConcurrentIncrements(t *testing.T) {
	const (
		workers    = 8
		increments = 200
		counters   = 4
	)
	e := openTestEngine(t)

	var wg sync.WaitGroup
	errs := make(chan error, workers)
	retries := make([]int, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range increments {
				key := fmt.Sprintf("counter/%d", (w+i)%counters)
				n, err := incrementWithRetry(e, key)
				retries[w] += n
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("increment: %v", err)
	}

	if total := counterTotal(t, e, counters); total != workers*increments {
		t.Errorf("sum of counters = %d, expected %d", total, workers*increments)
	}
	sumRetries := 0
	for _, n := range retries {
		sumRetries += n
	}
	t.Logf("%d serialization failures retried", sumRetries)
}

// incrementWithRetry adds one to the decimal counter at key, retrying on
// serialization failures, and returns the number of retries.
func incrementWithRetry(e Engine, key string) (int, error) {
	for retries := 0; ; retries++ {
		err := increment(e, key)
		if err == nil {
			return retries, nil
		}
		if !pgerror.HasCode(err, pgcode.SerializationFailure) {
			return retries, err
		}
	}
}

func increment(e Engine, key string) error {
	txn, err := e.Begin()
	if err != nil {
		return err
	}
	defer txn.Rollback()
	value, found, err := txn.Get([]byte(key))
	if err != nil {
		return err
	}
	n := 0
	if found {
		if n, err = strconv.Atoi(string(value)); err != nil {
			return err
		}
	}
	if err := txn.Put([]byte(key), strconv.AppendInt(nil, int64(n+1), 10)); err != nil {
		return err
	}
	return txn.Commit()
}

func TestFailedApplyAdvancesWatermark(t *testing.T) {
	e := openTestEngine(t)
	applyErr := errors.New("injected apply failure")
	failNext := true
	e.knobs.beforeApply = func() error {
		if failNext {
			failNext = false
			return applyErr
		}
		return nil
	}

	txn := begin(t, e)
	put(t, txn, "k", "lost")
	err := txn.Commit()
	if !errors.Is(err, applyErr) {
		t.Fatalf("commit error = %v, expected the injected failure", err)
	}
	if code := pgerror.GetCode(err); code != pgcode.IoError {
		t.Errorf("commit error code = %s, expected %s", code, pgcode.IoError)
	}
	if visible, last := e.oracle.visible.Load(), lastSeq(e); visible != last {
		t.Errorf("watermark = %d after the failed commit, expected %d", visible, last)
	}

	// A transaction that began after the failure may write the same key.
	next := begin(t, e)
	expectGet(t, next, "k", nil)
	put(t, next, "k", "kept")
	commit(t, next)

	check := begin(t, e)
	defer check.Rollback()
	expectGet(t, check, "k", ptr("kept"))
}

func TestOraclePrunesOldCommits(t *testing.T) {
	const commits = 2 * minPruneThreshold
	e := openTestEngine(t)

	// An old transaction pins the entries committed after it began.
	old := begin(t, e)
	put(t, old, "key/0", "old")

	txn := begin(t, e)
	for i := range commits {
		put(t, txn, fmt.Sprintf("key/%d", i), "v")
		if i%256 == 255 {
			commit(t, txn)
			txn = begin(t, e)
		}
	}
	commit(t, txn)
	if n := e.oracle.lastCommitLen(); n < commits {
		t.Errorf("conflict map has %d entries while an old transaction is open, expected %d", n, commits)
	}
	expectSerializationFailure(t, old.Commit())

	// With no open transaction the next pruning drops the old entries.
	e.oracle.mu.Lock()
	pruneAt := e.oracle.mu.pruneAt
	e.oracle.mu.Unlock()
	txn = begin(t, e)
	for i := range pruneAt {
		put(t, txn, fmt.Sprintf("other/%d", i), "v")
	}
	commit(t, txn)
	commitKVs(t, e, "last", "v")
	e.oracle.mu.Lock()
	_, tracked := e.oracle.mu.lastCommit["key/0"]
	e.oracle.mu.Unlock()
	if tracked {
		t.Errorf("conflict map kept key/0 after pruning with no open transaction")
	}
	if n := e.oracle.lastCommitLen(); n > pruneAt+1 {
		t.Errorf("conflict map has %d entries after pruning, expected at most %d", n, pruneAt+1)
	}
}

func TestLoserWaitsForWinnerApply(t *testing.T) {
	e := openTestEngine(t)
	winnerReserved := make(chan struct{})
	releaseWinner := make(chan struct{})
	var once sync.Once
	e.knobs.beforeApply = func() error {
		once.Do(func() {
			close(winnerReserved)
			<-releaseWinner
		})
		return nil
	}

	winner := begin(t, e)
	loser := begin(t, e)
	put(t, winner, "k", "winner")
	put(t, loser, "k", "loser")

	winnerDone := make(chan error, 1)
	go func() { winnerDone <- winner.Commit() }()
	<-winnerReserved

	type retryResult struct {
		commitErr error
		value     string
	}
	loserDone := make(chan retryResult, 1)
	go func() {
		var r retryResult
		r.commitErr = loser.Commit()
		retry, err := e.Begin()
		if err != nil {
			loserDone <- retryResult{commitErr: err}
			return
		}
		value, _, _ := retry.Get([]byte("k"))
		r.value = string(value)
		// Roll back before reporting, so the test's cleanup never closes
		// the engine while this transaction is still open.
		retry.Rollback()
		loserDone <- r
	}()

	// The sleep only gives the loser time to reach its commit. The
	// assertions hold for any interleaving.
	time.Sleep(20 * time.Millisecond)
	close(releaseWinner)

	if err := <-winnerDone; err != nil {
		t.Fatalf("winner commit: %v", err)
	}
	r := <-loserDone
	expectSerializationFailure(t, r.commitErr)
	if r.value != "winner" {
		t.Errorf("retry after the serialization failure read %q, expected %q", r.value, "winner")
	}
}

func TestTrackReadsPreventsWriteSkew(t *testing.T) {
	e := openTestEngine(t)
	setup := begin(t, e)
	put(t, setup, "doctor/a", "on")
	put(t, setup, "doctor/b", "on")
	commit(t, setup)

	// Each transaction reads both rows, then takes a different one off
	// duty: together they break the rule that one doctor stays on duty.
	first := begin(t, e)
	second := begin(t, e)
	for _, txn := range []Txn{first, second} {
		txn.TrackReads()
		it, err := txn.NewIterator([]byte("doctor/"), []byte("doctor0"))
		if err != nil {
			t.Fatal(err)
		}
		for ok := it.First(); ok; ok = it.Next() {
		}
		if err := it.Close(); err != nil {
			t.Fatal(err)
		}
	}
	put(t, first, "doctor/a", "off")
	put(t, second, "doctor/b", "off")
	commit(t, first)
	expectSerializationFailure(t, second.Commit())

	// Without TrackReads the same pattern commits (snapshot isolation).
	third := begin(t, e)
	fourth := begin(t, e)
	if _, _, err := third.Get([]byte("doctor/b")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := fourth.Get([]byte("doctor/a")); err != nil {
		t.Fatal(err)
	}
	put(t, third, "doctor/a", "on")
	put(t, fourth, "doctor/b", "on")
	commit(t, third)
	commit(t, fourth)

	// A point read of a key committed later also conflicts.
	fifth := begin(t, e)
	fifth.TrackReads()
	if _, _, err := fifth.Get([]byte("doctor/a")); err != nil {
		t.Fatal(err)
	}
	sixth := begin(t, e)
	put(t, sixth, "doctor/a", "off")
	commit(t, sixth)
	put(t, fifth, "doctor/c", "on")
	expectSerializationFailure(t, fifth.Commit())
}

// counterTotal returns the sum of the values of the keys counter/0 up to
// counter/counters-1, which must all exist.
func counterTotal(t *testing.T, e Engine, counters int) int {
	t.Helper()
	check := begin(t, e)
	defer check.Rollback()
	total := 0
	for c := range counters {
		value, found, err := check.Get(fmt.Appendf(nil, "counter/%d", c))
		if err != nil || !found {
			t.Fatalf("get counter %d: found %v, err %v", c, found, err)
		}
		n, err := strconv.Atoi(string(value))
		if err != nil {
			t.Fatalf("counter %d = %q: %v", c, value, err)
		}
		total += n
	}
	return total
}
