package kv

import (
	"errors"
	"strings"
	"testing"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// openTestEngine opens a pebble engine in a temporary directory and closes
// it when the test ends.
func openTestEngine(t testing.TB) *pebbleEngine {
	t.Helper()
	e, err := openPebble(t.TempDir(), PebbleOptions{CacheSize: 8 << 20})
	if err != nil {
		t.Fatalf("open engine: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("close engine: %v", err)
		}
	})
	return e
}

func begin(t testing.TB, e Engine) Txn {
	t.Helper()
	txn, err := e.Begin()
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	return txn
}

func put(t testing.TB, txn Txn, key, value string) {
	t.Helper()
	if err := txn.Put([]byte(key), []byte(value)); err != nil {
		t.Fatalf("put %q: %v", key, err)
	}
}

func del(t testing.TB, txn Txn, key string) {
	t.Helper()
	if err := txn.Delete([]byte(key)); err != nil {
		t.Fatalf("delete %q: %v", key, err)
	}
}

func commit(t testing.TB, txn Txn) {
	t.Helper()
	if err := txn.Commit(); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

// commitKVs commits the pairs key, value, key, value... in one transaction.
func commitKVs(t testing.TB, e Engine, pairs ...string) {
	t.Helper()
	txn := begin(t, e)
	for i := 0; i < len(pairs); i += 2 {
		put(t, txn, pairs[i], pairs[i+1])
	}
	commit(t, txn)
}

// expectGet checks that key has value, or is absent when value is nil.
func expectGet(t testing.TB, txn Txn, key string, value *string) {
	t.Helper()
	got, found, err := txn.Get([]byte(key))
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	if value == nil {
		if found {
			t.Errorf("get %q = %q, expected absent", key, got)
		}
		return
	}
	if !found {
		t.Errorf("get %q: absent, expected %q", key, *value)
		return
	}
	if string(got) != *value {
		t.Errorf("get %q = %q, expected %q", key, got, *value)
	}
}

func ptr(s string) *string { return &s }

func TestGetReadsOwnWrites(t *testing.T) {
	e := openTestEngine(t)
	commitKVs(t, e, "a", "a0", "b", "b0", "c", "c0", "d", "d0")

	txn := begin(t, e)
	defer txn.Rollback()
	expectGet(t, txn, "b", ptr("b0"))

	put(t, txn, "b", "b1")   // overwrite a snapshot key
	del(t, txn, "c")         // delete a snapshot key
	put(t, txn, "n", "n1")   // new key
	del(t, txn, "zz")        // delete an absent key
	del(t, txn, "d")         // delete, then put again
	put(t, txn, "d", "d2")   //
	put(t, txn, "m", "m1")   // put a new key, then delete it
	del(t, txn, "m")         //
	put(t, txn, "a", "a1")   // overwrite twice
	put(t, txn, "a", "a2")   //
	put(t, txn, "empty", "") // empty value is present
	expectGet(t, txn, "a", ptr("a2"))
	expectGet(t, txn, "b", ptr("b1"))
	expectGet(t, txn, "c", nil)
	expectGet(t, txn, "d", ptr("d2"))
	expectGet(t, txn, "m", nil)
	expectGet(t, txn, "n", ptr("n1"))
	expectGet(t, txn, "zz", nil)
	expectGet(t, txn, "empty", ptr(""))
	expectGet(t, txn, "absent", nil)

	if !txn.HasWrites() {
		t.Errorf("HasWrites = false after writes")
	}

	// Another transaction sees none of it before the commit.
	other := begin(t, e)
	expectGet(t, other, "a", ptr("a0"))
	expectGet(t, other, "c", ptr("c0"))
	expectGet(t, other, "n", nil)
	other.Rollback()
}

func TestGetValueSurvivesPut(t *testing.T) {
	e := openTestEngine(t)
	commitKVs(t, e, "a", "a0")

	txn := begin(t, e)
	defer txn.Rollback()
	value, _, err := txn.Get([]byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	// The caller's buffers passed to Put may be reused right after it.
	key := []byte("b")
	buf := []byte("b1")
	if err := txn.Put(key, buf); err != nil {
		t.Fatal(err)
	}
	copy(key, "x")
	copy(buf, "xx")
	if string(value) != "a0" {
		t.Errorf("value from Get changed to %q after Put", value)
	}
	expectGet(t, txn, "b", ptr("b1"))
	expectGet(t, txn, "x", nil)
}

func TestCommitMakesWritesVisible(t *testing.T) {
	e := openTestEngine(t)
	commitKVs(t, e, "a", "a0", "b", "b0")

	txn := begin(t, e)
	put(t, txn, "a", "a1")
	del(t, txn, "b")
	put(t, txn, "c", "c1")
	commit(t, txn)

	check := begin(t, e)
	defer check.Rollback()
	expectGet(t, check, "a", ptr("a1"))
	expectGet(t, check, "b", nil)
	expectGet(t, check, "c", ptr("c1"))
}

func TestRollbackDiscardsWrites(t *testing.T) {
	e := openTestEngine(t)
	commitKVs(t, e, "a", "a0")

	txn := begin(t, e)
	put(t, txn, "a", "a1")
	put(t, txn, "b", "b1")
	txn.Rollback()
	txn.Rollback() // a second Rollback is a no-op

	check := begin(t, e)
	defer check.Rollback()
	expectGet(t, check, "a", ptr("a0"))
	expectGet(t, check, "b", nil)
}

func TestSnapshotIgnoresLaterCommits(t *testing.T) {
	e := openTestEngine(t)
	commitKVs(t, e, "a", "a0", "b", "b0")

	reader := begin(t, e)
	defer reader.Rollback()

	writer := begin(t, e)
	put(t, writer, "a", "a1")
	del(t, writer, "b")
	put(t, writer, "c", "c1")
	commit(t, writer)

	expectGet(t, reader, "a", ptr("a0"))
	expectGet(t, reader, "b", ptr("b0"))
	expectGet(t, reader, "c", nil)
	expectScan(t, reader, nil, nil, "a=a0", "b=b0")

	fresh := begin(t, e)
	defer fresh.Rollback()
	expectGet(t, fresh, "a", ptr("a1"))
	expectScan(t, fresh, nil, nil, "a=a1", "c=c1")
}

func TestFinishedTxnReturnsErrClosed(t *testing.T) {
	e := openTestEngine(t)
	for _, finish := range []string{"commit", "rollback"} {
		t.Run(finish, func(t *testing.T) {
			txn := begin(t, e)
			put(t, txn, "a", "a1")
			if finish == "commit" {
				commit(t, txn)
			} else {
				txn.Rollback()
			}
			if _, _, err := txn.Get([]byte("a")); !errors.Is(err, ErrClosed) {
				t.Errorf("Get after %s: err = %v, expected ErrClosed", finish, err)
			}
			if err := txn.Put([]byte("a"), nil); !errors.Is(err, ErrClosed) {
				t.Errorf("Put after %s: err = %v, expected ErrClosed", finish, err)
			}
			if err := txn.Delete([]byte("a")); !errors.Is(err, ErrClosed) {
				t.Errorf("Delete after %s: err = %v, expected ErrClosed", finish, err)
			}
			if _, err := txn.NewIterator(nil, nil); !errors.Is(err, ErrClosed) {
				t.Errorf("NewIterator after %s: err = %v, expected ErrClosed", finish, err)
			}
			if err := txn.Commit(); !errors.Is(err, ErrClosed) {
				t.Errorf("Commit after %s: err = %v, expected ErrClosed", finish, err)
			}
			txn.Rollback()
		})
	}
}

func TestReadOnlyCommit(t *testing.T) {
	e := openTestEngine(t)
	commitKVs(t, e, "a", "a0")

	txn := begin(t, e)
	expectGet(t, txn, "a", ptr("a0"))
	if txn.HasWrites() {
		t.Errorf("HasWrites = true for a read-only transaction")
	}
	seqBefore := lastSeq(e)
	commit(t, txn)
	if got := lastSeq(e); got != seqBefore {
		t.Errorf("read-only commit took commit sequence number %d, last was %d", got, seqBefore)
	}
}

func TestEngineCloseWithOpenTxnFails(t *testing.T) {
	e, err := OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	txn := begin(t, e)
	err = e.Close()
	if err == nil {
		t.Fatalf("Close with an open transaction succeeded")
	}
	if code := pgerror.GetCode(err); code != pgcode.ObjectNotInPrerequisiteState {
		t.Errorf("Close error code = %s, expected %s", code, pgcode.ObjectNotInPrerequisiteState)
	}

	txn.Rollback()
	if err := e.Close(); err != nil {
		t.Fatalf("Close after rollback: %v", err)
	}
	if _, err := e.Begin(); !errors.Is(err, ErrClosed) {
		t.Errorf("Begin after Close: err = %v, expected ErrClosed", err)
	}
	if err := e.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: err = %v, expected ErrClosed", err)
	}
}

func TestReopenKeepsCommits(t *testing.T) {
	dir := t.TempDir()
	e, err := OpenPebble(dir, PebbleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	commitKVs(t, e, "a", "a1", "b", "b1")
	txn := begin(t, e)
	del(t, txn, "b")
	put(t, txn, "c", "c1")
	commit(t, txn)
	rolledBack := begin(t, e)
	put(t, rolledBack, "d", "d1")
	rolledBack.Rollback()
	if err := e.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	e, err = OpenPebble(dir, PebbleOptions{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer func() {
		if err := e.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}()
	check := begin(t, e)
	defer check.Rollback()
	expectGet(t, check, "a", ptr("a1"))
	expectGet(t, check, "b", nil)
	expectGet(t, check, "c", ptr("c1"))
	expectGet(t, check, "d", nil)
}

func TestInMemoryEngine(t *testing.T) {
	e, err := OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	commitKVs(t, e, "a", "a1")
	txn := begin(t, e)
	expectGet(t, txn, "a", ptr("a1"))
	txn.Rollback()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRejectsNegativeCacheSize(t *testing.T) {
	_, err := OpenPebble(t.TempDir(), PebbleOptions{CacheSize: -1})
	if err == nil {
		t.Fatalf("OpenPebble with CacheSize -1 succeeded")
	}
}

func lastSeq(e *pebbleEngine) uint64 {
	e.oracle.mu.Lock()
	defer e.oracle.mu.Unlock()
	return e.oracle.mu.lastSeq
}

func TestRollbackToSavepoint(t *testing.T) {
	e := openTestEngine(t)
	setup := begin(t, e)
	put(t, setup, "a", "committed")
	commit(t, setup)

	txn := begin(t, e)
	put(t, txn, "b", "before")
	sp := txn.Savepoint()
	put(t, txn, "a", "changed")
	put(t, txn, "b", "after")
	put(t, txn, "c", "new")
	if err := txn.Delete([]byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := txn.RollbackToSavepoint(sp); err != nil {
		t.Fatal(err)
	}
	expectGet(t, txn, "a", ptr("committed"))
	expectGet(t, txn, "b", ptr("before"))
	expectGet(t, txn, "c", nil)
	it, err := txn.NewIterator(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for ok := it.First(); ok; ok = it.Next() {
		keys = append(keys, string(it.Key())+"="+string(it.Value()))
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(keys, ","); got != "a=committed,b=before" {
		t.Fatalf("iterator after the rollback = %s", got)
	}
	// The savepoint stays usable, and commit writes only what remains.
	put(t, txn, "d", "later")
	if err := txn.RollbackToSavepoint(sp); err != nil {
		t.Fatal(err)
	}
	commit(t, txn)
	check := begin(t, e)
	defer check.Rollback()
	expectGet(t, check, "b", ptr("before"))
	expectGet(t, check, "c", nil)
	expectGet(t, check, "d", nil)
}
