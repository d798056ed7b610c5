package kv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// openSpillingEngine opens an engine whose transactions move their writes
// to the temporary store after about bufferSize bytes.
func openSpillingEngine(t testing.TB, dir string, bufferSize int) *pebbleEngine {
	t.Helper()
	e, err := openPebble(dir, PebbleOptions{CacheSize: 8 << 20, WriteBufferSize: bufferSize})
	if err != nil {
		t.Fatalf("open engine: %v", err)
	}
	t.Cleanup(func() {
		// ErrClosed means the test closed the engine itself.
		_ = e.Close()
	})
	return e
}

// spilled reports whether txn moved writes to the temporary store.
func spilled(txn Txn) bool {
	return txn.(*pebbleTxn).spill != nil
}

// TestSpillMatchesModel checks Get, iterators in both directions and
// savepoints against a map model while the writes keep moving to the
// temporary store, and that the in-memory write index stays small.
func TestSpillMatchesModel(t *testing.T) {
	const bufferSize = 256
	seed := uint64(rand.Int64())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	e := openSpillingEngine(t, t.TempDir(), bufferSize)

	randomKey := func() string {
		return fmt.Sprintf("k%02d", rng.IntN(60))
	}
	committed := map[string]string{}
	spills := 0
	for round := range 40 {
		txn := begin(t, e)
		model := maps.Clone(committed)
		// savepoints holds the token and the model of each savepoint.
		type savepoint struct {
			token int
			model map[string]string
		}
		var savepoints []savepoint
		// early is an iterator opened part way, which must keep seeing the
		// writes made before it.
		var early Iterator
		var earlyModel map[string]string

		for i := range 150 {
			switch op := rng.IntN(20); {
			case op < 11:
				key, value := randomKey(), fmt.Sprintf("r%d-%d", round, i)
				put(t, txn, key, value)
				model[key] = value
			case op < 15:
				key := randomKey()
				del(t, txn, key)
				delete(model, key)
			case op < 16:
				savepoints = append(savepoints, savepoint{token: txn.Savepoint(), model: maps.Clone(model)})
			case op < 17 && len(savepoints) > 0:
				at := rng.IntN(len(savepoints))
				if err := txn.RollbackToSavepoint(savepoints[at].token); err != nil {
					t.Fatalf("rollback to savepoint: %v", err)
				}
				model = maps.Clone(savepoints[at].model)
				savepoints = savepoints[:at+1]
			case op < 18 && early == nil:
				var err error
				if early, err = txn.NewIterator(nil, nil); err != nil {
					t.Fatal(err)
				}
				earlyModel = maps.Clone(model)
			default:
				key := randomKey()
				if value, ok := model[key]; ok {
					expectGet(t, txn, key, &value)
				} else {
					expectGet(t, txn, key, nil)
				}
			}
			if w := txn.(*pebbleTxn).writes; w != nil && w.Len() > 2*bufferSize {
				n := w.Len()
				t.Fatalf("the in-memory write index holds %d bytes, above twice the buffer of %d", n, bufferSize)
			}
		}

		if early != nil {
			var got []string
			for valid := early.First(); valid; valid = early.Next() {
				got = append(got, string(early.Key())+"="+string(early.Value()))
			}
			if err := early.Close(); err != nil {
				t.Fatal(err)
			}
			if expected := modelScan(earlyModel, nil, nil); !slices.Equal(got, expected) {
				t.Fatalf("round %d: iterator opened part way saw %v, expected %v", round, got, expected)
			}
		}
		for range 8 {
			var lower, upper []byte
			if rng.IntN(2) == 0 {
				lower = []byte(randomKey())
			}
			if rng.IntN(2) == 0 {
				upper = []byte(randomKey())
			}
			expectScan(t, txn, lower, upper, modelScan(model, lower, upper)...)
			expected := modelScan(model, lower, upper)
			slices.Reverse(expected)
			if got := scanBack(t, txn, lower, upper); !slices.Equal(got, expected) {
				t.Fatalf("round %d: backward scan [%q, %q) gave %v, expected %v", round, lower, upper, got, expected)
			}
			checkSeeks(t, rng, txn, model, randomKey)
		}
		if t.Failed() {
			t.Fatalf("round %d failed", round)
		}
		if spilled(txn) {
			spills++
		}

		if rng.IntN(4) == 0 {
			txn.Rollback()
			continue
		}
		commit(t, txn)
		committed = model
		check := begin(t, e)
		expectScan(t, check, nil, nil, modelScan(committed, nil, nil)...)
		check.Rollback()
	}
	if spills == 0 {
		t.Fatal("no transaction moved its writes to the temporary store")
	}
	if n := len(e.oracle.mu.spilled); n != 0 {
		t.Errorf("the oracle keeps %d spilled commits with no transaction open", n)
	}
}

// spillingTxn begins a transaction, writes the keys with value and enough
// filler keys under prefix to make it spill.
func spillingTxn(t *testing.T, e *pebbleEngine, prefix, value string, keys ...string) Txn {
	t.Helper()
	txn := begin(t, e)
	for i := range 200 {
		put(t, txn, fmt.Sprintf("%s%03d", prefix, i), value)
	}
	for _, key := range keys {
		put(t, txn, key, value)
	}
	if !spilled(txn) {
		t.Fatal("the transaction did not spill")
	}
	return txn
}

func TestSpilledCommitConflicts(t *testing.T) {
	t.Run("an earlier small commit wins", func(t *testing.T) {
		e := openSpillingEngine(t, t.TempDir(), 512)
		big := spillingTxn(t, e, "big", "b", "k")
		commitKVs(t, e, "k", "small")
		expectSerializationFailure(t, big.Commit())
	})
	t.Run("an earlier spilled commit wins", func(t *testing.T) {
		e := openSpillingEngine(t, t.TempDir(), 512)
		small := begin(t, e)
		other := begin(t, e)
		big := spillingTxn(t, e, "big", "b", "k")
		commit(t, big)
		put(t, small, "k", "small")
		expectSerializationFailure(t, small.Commit())
		put(t, other, "unrelated", "x")
		commit(t, other)
	})
	t.Run("two spilled transactions", func(t *testing.T) {
		e := openSpillingEngine(t, t.TempDir(), 512)
		first := spillingTxn(t, e, "a", "1", "shared")
		second := spillingTxn(t, e, "a", "2", "shared")
		commit(t, first)
		expectSerializationFailure(t, second.Commit())

		// Interleaved keys without a common one do not conflict.
		odd := begin(t, e)
		even := begin(t, e)
		for i := range 200 {
			txn := even
			if i%2 == 1 {
				txn = odd
			}
			put(t, txn, fmt.Sprintf("n%04d", i), "v")
		}
		if !spilled(odd) || !spilled(even) {
			t.Fatal("the transactions did not spill")
		}
		commit(t, odd)
		commit(t, even)
	})
	t.Run("a key first written after a refresh", func(t *testing.T) {
		e := openSpillingEngine(t, t.TempDir(), 512)
		rc := begin(t, e)
		put(t, rc, "before", "x")
		commitKVs(t, e, "k", "other")
		if err := rc.Refresh(); err != nil {
			t.Fatal(err)
		}
		for i := range 50 {
			put(t, rc, fmt.Sprintf("rc%03d", i), "v")
		}
		put(t, rc, "k", "rc")
		if !spilled(rc) {
			t.Fatal("the transaction did not spill")
		}
		commit(t, rc)
		check := begin(t, e)
		expectGet(t, check, "k", ptr("rc"))
		check.Rollback()
	})
	t.Run("tracked reads", func(t *testing.T) {
		e := openSpillingEngine(t, t.TempDir(), 512)
		reader := begin(t, e)
		reader.TrackReads()
		expectGet(t, reader, "k", nil)
		scanner := begin(t, e)
		scanner.TrackReads()
		expectScan(t, scanner, []byte("m"), []byte("n"))
		commit(t, spillingTxn(t, e, "big", "b", "k", "m5"))
		put(t, reader, "elsewhere", "x")
		expectSerializationFailure(t, reader.Commit())
		put(t, scanner, "elsewhere", "x")
		expectSerializationFailure(t, scanner.Commit())
	})
}

// TestSpilledCommitSurvivesReopen commits a spilled transaction that
// overwrites and deletes committed keys, reopens the store and checks the
// data, and that the temporary directory is gone.
func TestSpilledCommitSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	e := openSpillingEngine(t, dir, 1024)
	commitKVs(t, e, "keep", "old", "gone", "old", "change", "old")

	txn := begin(t, e)
	expected := map[string]string{"keep": "old", "change": "new"}
	for i := range 2000 {
		key := fmt.Sprintf("row%05d", i)
		put(t, txn, key, strings.Repeat("v", i%50))
		expected[key] = strings.Repeat("v", i%50)
	}
	del(t, txn, "gone")
	put(t, txn, "change", "new")
	if !spilled(txn) {
		t.Fatal("the transaction did not spill")
	}
	commit(t, txn)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "temp")); !os.IsNotExist(err) {
		t.Errorf("the temporary directory outlived Close: %v", err)
	}

	e = openSpillingEngine(t, dir, 1024)
	check := begin(t, e)
	expectScan(t, check, nil, nil, modelScan(expected, nil, nil)...)
	check.Rollback()
}

// TestLeftoverTemporaryFilesRemoved checks that opening the store deletes
// what a crashed process left in the temporary directory.
func TestLeftoverTemporaryFilesRemoved(t *testing.T) {
	dir := t.TempDir()
	e := openSpillingEngine(t, dir, 0)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	leftover := filepath.Join(dir, "temp", "store", "000007.sst")
	if err := os.MkdirAll(filepath.Dir(leftover), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(leftover, []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	e = openSpillingEngine(t, dir, 0)
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Errorf("a leftover file survived the open: %v", err)
	}
	commitKVs(t, e, "k", "v")
}

// tempKeys counts the keys in the temporary store.
func tempKeys(t *testing.T, e *pebbleEngine) int {
	t.Helper()
	db, _, err := e.temp.db()
	if err != nil {
		t.Fatal(err)
	}
	it, err := db.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for valid := it.First(); valid; valid = it.Next() {
		n++
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSpillsDropped checks that the temporary store empties after a
// rollback, and after a commit once no transaction that began before it
// remains.
func TestSpillsDropped(t *testing.T) {
	e := openSpillingEngine(t, t.TempDir(), 512)
	spillingTxn(t, e, "a", "v").Rollback()
	if n := tempKeys(t, e); n != 0 {
		t.Fatalf("%d keys in the temporary store after a rollback", n)
	}

	old := begin(t, e)
	commit(t, spillingTxn(t, e, "a", "v"))
	if n := tempKeys(t, e); n == 0 {
		t.Fatal("the spill of the commit was dropped while an older transaction is open")
	}
	old.Rollback()
	if n := tempKeys(t, e); n != 0 {
		t.Fatalf("%d keys in the temporary store after the last older transaction ended", n)
	}
}

// TestUndoLogSpills rolls back to savepoints after more writes than the
// buffer holds, so that the undo entries come back from the temporary
// store.
func TestUndoLogSpills(t *testing.T) {
	e := openSpillingEngine(t, t.TempDir(), 512)
	commitKVs(t, e, "k000", "committed", "k001", "committed")
	txn := begin(t, e)
	put(t, txn, "k000", "before")
	outer := txn.Savepoint()
	for i := range 100 {
		put(t, txn, fmt.Sprintf("k%03d", i), "outer")
	}
	inner := txn.Savepoint()
	for i := range 100 {
		del(t, txn, fmt.Sprintf("k%03d", i))
	}
	if txn.(*pebbleTxn).undo.spilled == 0 {
		t.Fatal("the undo entries did not spill")
	}
	if err := txn.RollbackToSavepoint(inner); err != nil {
		t.Fatal(err)
	}
	expectGet(t, txn, "k050", ptr("outer"))
	if err := txn.RollbackToSavepoint(outer); err != nil {
		t.Fatal(err)
	}
	expectScan(t, txn, nil, nil, "k000=before", "k001=committed")
	put(t, txn, "k002", "after")
	commit(t, txn)
	check := begin(t, e)
	expectScan(t, check, nil, nil, "k000=before", "k001=committed", "k002=after")
	check.Rollback()
}

// TestRetiredBatchesReleased checks that a batch kept for an open
// iterator goes once the iterator closes, so a statement that reopens an
// iterator per row while it writes keeps bounded memory.
func TestRetiredBatchesReleased(t *testing.T) {
	e := openSpillingEngine(t, t.TempDir(), 512)
	txn := begin(t, e)
	defer txn.Rollback()
	pt := txn.(*pebbleTxn)
	for round := range 20 {
		put(t, txn, fmt.Sprintf("k%02d-first", round), "v")
		it, err := txn.NewIterator(nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; pt.writes != nil; i++ {
			put(t, txn, fmt.Sprintf("k%02d-%03d", round, i), "a value of some bytes")
		}
		if len(pt.retired) != 1 {
			t.Fatalf("round %d: %d retired batches while one iterator reads one", round, len(pt.retired))
		}
		if err := it.Close(); err != nil {
			t.Fatal(err)
		}
		if len(pt.retired) != 0 {
			t.Fatalf("round %d: %d retired batches after the iterator reading it closed", round, len(pt.retired))
		}
	}
}

// TestTempStoreStaysClosed checks that dropping a spill after Engine.Close
// neither reopens the temporary store nor recreates its directory. The
// oracle drops a commit's spill after the committing transaction
// unregistered, so a concurrent Engine.Close can come first.
func TestTempStoreStaysClosed(t *testing.T) {
	dir := t.TempDir()
	e := openSpillingEngine(t, dir, 512)
	txn := spillingTxn(t, e, "a", "v")
	sp := txn.(*pebbleTxn).spill
	prefix := bytes.Clone(sp.prefix)
	txn.Rollback()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	e.temp.drop(prefix)
	if _, err := os.Stat(filepath.Join(dir, "temp")); !os.IsNotExist(err) {
		t.Errorf("a drop after Close recreated the temporary directory: %v", err)
	}
	if _, _, err := e.temp.db(); !errors.Is(err, ErrClosed) {
		t.Errorf("temporary store after Close: error %v, expected ErrClosed", err)
	}
}

// warnRecorder is a slog handler that keeps the messages of warnings and
// errors.
type warnRecorder struct {
	mu       sync.Mutex
	messages []string
}

func (r *warnRecorder) Enabled(_ context.Context, level slog.Level) bool {
	return level >= slog.LevelWarn
}

func (r *warnRecorder) Handle(_ context.Context, record slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.messages = append(r.messages, record.Message)
	return nil
}

func (r *warnRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }

func (r *warnRecorder) WithGroup(string) slog.Handler { return r }

// TestDropDoesNotStall rolls back a transaction whose spills left many
// overlapping sstables in L0 of the temporary store, and checks that
// dropping its keys did not wait for compactions, which it would do while
// holding the oracle's lock after a commit.
func TestDropDoesNotStall(t *testing.T) {
	recorder := &warnRecorder{}
	e, err := openPebble(t.TempDir(), PebbleOptions{
		CacheSize:       8 << 20,
		WriteBufferSize: 4 << 10,
		Logger:          slog.New(recorder),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()

	// Random keys make every spill overlap the earlier ones, so each one
	// adds an L0 sublevel until compactions catch up.
	rng := rand.New(rand.NewPCG(1, 2))
	txn := begin(t, e)
	value := strings.Repeat("v", 100)
	const sublevels = 24 // twice pebble's default L0StopWritesThreshold
	var db *pebble.DB
	for i := 1; db == nil || i%100 != 0 || db.Metrics().Levels[0].Sublevels < sublevels; i++ {
		if i == 1_000_000 {
			t.Fatalf("L0 of the temporary store has %d sublevels after %d writes, expected %d", db.Metrics().Levels[0].Sublevels, i, sublevels)
		}
		put(t, txn, fmt.Sprintf("%016x", rng.Uint64()), value)
		if db == nil && spilled(txn) {
			db = txn.(*pebbleTxn).spill.db
		}
	}
	txn.Rollback()

	recorder.mu.Lock()
	defer recorder.mu.Unlock()
	for _, message := range recorder.messages {
		t.Errorf("unexpected warning: %s", message)
	}
}
