package kv

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// modelTxn is an open transaction of TestConcurrentSpillsMatchModel and
// what the model expects of it.
type modelTxn struct {
	txn Txn
	id  int
	// snapshot is the committed state the transaction reads. writes
	// contains its own writes, nil for a delete. base is the commit count
	// each written key's conflict check starts from.
	snapshot map[string]string
	writes   map[string]*string
	base     map[string]int
	startVer int
	readVer  int
	// readCommitted transactions refresh, serializable ones track reads.
	readCommitted bool
	serializable  bool
	readKeys      map[string]bool
	readRanges    []keyRange
	savepoints    []modelSavepoint
	// early is an iterator kept open across writes and what it must
	// return.
	early         Iterator
	earlyLower    []byte
	earlyUpper    []byte
	earlyExpected []string
	increments    int
}

type modelSavepoint struct {
	token      int
	writes     map[string]*string
	base       map[string]int
	increments int
}

// view returns the state the transaction reads: its snapshot under its
// writes.
func (m *modelTxn) view() map[string]string {
	view := maps.Clone(m.snapshot)
	for key, value := range m.writes {
		if value == nil {
			delete(view, key)
		} else {
			view[key] = *value
		}
	}
	return view
}

func (m *modelTxn) write(key string, value *string) {
	if _, ok := m.writes[key]; !ok {
		m.base[key] = m.readVer
	}
	m.writes[key] = value
}

// TestConcurrentSpillsMatchModel interleaves transactions with a small
// write buffer, so that most of them move their writes to the temporary
// store, and checks every read, every commit outcome and the final data
// against a model of snapshot isolation with first-committer-wins. Part of
// the transactions increment counters, which no lost update may miss.
func TestConcurrentSpillsMatchModel(t *testing.T) {
	for run := range 6 {
		seed := uint64(rand.Int64())
		t.Run(fmt.Sprintf("run%d", run), func(t *testing.T) {
			t.Logf("seed %d", seed)
			runSpillModel(t, seed)
		})
	}
}

func runSpillModel(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	bufferSize := 128 + rng.IntN(400)
	dir := t.TempDir()
	e := openSpillingEngine(t, dir, bufferSize)

	randomKey := func() string {
		if rng.IntN(4) == 0 {
			return fmt.Sprintf("c%d", rng.IntN(4))
		}
		return fmt.Sprintf("d%03d", rng.IntN(80))
	}
	randomRange := func() ([]byte, []byte) {
		a, b := randomKey(), randomKey()
		if a > b {
			a, b = b, a
		}
		switch rng.IntN(4) {
		case 0:
			return nil, []byte(b)
		case 1:
			return []byte(a), nil
		}
		return []byte(a), []byte(b)
	}

	committed := map[string]string{}
	// lastVer is the commit count at the last commit that wrote each key.
	lastVer := map[string]int{}
	commits := 0
	counterCommits := 0
	spilledCommits, conflicts := 0, 0
	nextID := 0
	var open []*modelTxn

	checkScan := func(m *modelTxn, lower, upper []byte) {
		t.Helper()
		if m.serializable {
			m.readRanges = append(m.readRanges, keyRange{lower: lower, upper: upper})
		}
		expected := modelScan(m.view(), lower, upper)
		if rng.IntN(2) == 0 {
			if got := scan(t, m.txn, lower, upper); !slices.Equal(got, expected) {
				t.Fatalf("txn %d scan [%q, %q):\n got      %v\n expected %v", m.id, lower, upper, got, expected)
			}
			return
		}
		got := scanBack(t, m.txn, lower, upper)
		slices.Reverse(got)
		if !slices.Equal(got, expected) {
			t.Fatalf("txn %d backward scan [%q, %q), reversed:\n got      %v\n expected %v", m.id, lower, upper, got, expected)
		}
	}
	checkEarly := func(m *modelTxn) {
		t.Helper()
		if m.early == nil {
			return
		}
		var got []string
		expected := m.earlyExpected
		switch rng.IntN(3) {
		case 0:
			for valid := m.early.First(); valid; valid = m.early.Next() {
				got = append(got, string(m.early.Key())+"="+string(m.early.Value()))
			}
		case 1:
			// SeekGE, possibly outside the bounds, then Next to the end.
			seek := randomKey()
			for valid := m.early.SeekGE([]byte(seek)); valid; valid = m.early.Next() {
				got = append(got, string(m.early.Key())+"="+string(m.early.Value()))
			}
			expected = slices.DeleteFunc(slices.Clone(expected), func(pair string) bool {
				return strings.SplitN(pair, "=", 2)[0] < seek
			})
		default:
			for valid := m.early.Last(); valid; valid = m.early.Prev() {
				got = append(got, string(m.early.Key())+"="+string(m.early.Value()))
			}
			slices.Reverse(got)
		}
		if err := m.early.Close(); err != nil {
			t.Fatalf("txn %d: close early iterator: %v", m.id, err)
		}
		m.early = nil
		if !slices.Equal(got, expected) {
			t.Fatalf("txn %d early iterator [%q, %q):\n got      %v\n expected %v", m.id, m.earlyLower, m.earlyUpper, got, expected)
		}
	}
	get := func(m *modelTxn, key string) (string, bool) {
		t.Helper()
		if m.serializable {
			m.readKeys[key] = true
		}
		value, found, err := m.txn.Get([]byte(key))
		if err != nil {
			t.Fatalf("txn %d get %q: %v", m.id, key, err)
		}
		expected, expectedFound := m.view()[key]
		if found != expectedFound || string(value) != expected {
			t.Fatalf("txn %d get %q = %q, %v; expected %q, %v", m.id, key, value, found, expected, expectedFound)
		}
		return expected, expectedFound
	}
	remove := func(m *modelTxn) {
		open = slices.DeleteFunc(open, func(o *modelTxn) bool { return o == m })
	}
	finish := func(m *modelTxn) {
		t.Helper()
		checkEarly(m)
		remove(m)
		if rng.IntN(5) == 0 {
			m.txn.Rollback()
			return
		}
		writeConflict, readConflict := false, false
		for key := range m.writes {
			writeConflict = writeConflict || lastVer[key] > m.base[key]
		}
		if m.serializable {
			for key, ver := range lastVer {
				if ver <= m.startVer {
					continue
				}
				read := m.readKeys[key]
				for _, r := range m.readRanges {
					read = read || r.contains(key)
				}
				readConflict = readConflict || read
			}
		}
		wasSpilled := spilled(m.txn)
		err := m.txn.Commit()
		conflict := false
		if err != nil {
			if pgerror.GetCode(err) != pgcode.SerializationFailure {
				t.Fatalf("txn %d commit: %v", m.id, err)
			}
			conflict = true
		}
		switch {
		case writeConflict && !conflict:
			t.Fatalf("txn %d (spilled %v) committed over a concurrent write of one of its keys", m.id, wasSpilled)
		case conflict && !writeConflict && !readConflict:
			t.Fatalf("txn %d (spilled %v) failed with 40001 without a conflict", m.id, wasSpilled)
		case readConflict && !conflict && len(m.writes) > 0:
			t.Fatalf("txn %d (spilled %v) committed although a concurrent commit wrote a key it read", m.id, wasSpilled)
		}
		if conflict {
			conflicts++
			return
		}
		if wasSpilled {
			spilledCommits++
		}
		commits++
		for key, value := range m.writes {
			lastVer[key] = commits
			if value == nil {
				delete(committed, key)
			} else {
				committed[key] = *value
			}
		}
		counterCommits += m.increments
	}

	for step := 0; step < 3000 || len(open) > 0; step++ {
		if step < 3000 && (len(open) == 0 || (len(open) < 4 && rng.IntN(30) == 0)) {
			txn := begin(t, e)
			nextID++
			m := &modelTxn{
				txn:      txn,
				id:       nextID,
				snapshot: maps.Clone(committed),
				writes:   map[string]*string{},
				base:     map[string]int{},
				startVer: commits,
				readVer:  commits,
				readKeys: map[string]bool{},
			}
			switch rng.IntN(3) {
			case 0:
				m.readCommitted = true
			case 1:
				m.serializable = true
				txn.TrackReads()
			}
			open = append(open, m)
			continue
		}
		m := open[rng.IntN(len(open))]
		switch op := rng.IntN(100); {
		case op < 30:
			key := fmt.Sprintf("d%03d", rng.IntN(80))
			value := fmt.Sprintf("t%d-%d-%s", m.id, step, strings.Repeat("x", rng.IntN(60)))
			put(t, m.txn, key, value)
			m.write(key, &value)
		case op < 40:
			key := fmt.Sprintf("d%03d", rng.IntN(80))
			del(t, m.txn, key)
			m.write(key, nil)
		case op < 50:
			// An increment reads the counter and writes it back plus one.
			key := fmt.Sprintf("c%d", rng.IntN(4))
			value, _ := get(m, key)
			n := 0
			if value != "" {
				var err error
				if n, err = strconv.Atoi(value); err != nil {
					t.Fatal(err)
				}
			}
			next := strconv.Itoa(n + 1)
			put(t, m.txn, key, next)
			m.write(key, &next)
			m.increments++
		case op < 60:
			get(m, randomKey())
		case op < 65:
			lower, upper := randomRange()
			checkScan(m, lower, upper)
		case op < 68:
			m.savepoints = append(m.savepoints, modelSavepoint{
				token:      m.txn.Savepoint(),
				writes:     maps.Clone(m.writes),
				base:       maps.Clone(m.base),
				increments: m.increments,
			})
		case op < 72 && len(m.savepoints) > 0:
			at := rng.IntN(len(m.savepoints))
			sp := m.savepoints[at]
			if err := m.txn.RollbackToSavepoint(sp.token); err != nil {
				t.Fatalf("txn %d rollback to savepoint: %v", m.id, err)
			}
			m.savepoints = m.savepoints[:at+1]
			m.writes, m.base, m.increments = maps.Clone(sp.writes), maps.Clone(sp.base), sp.increments
		case op < 75 && m.early == nil:
			m.earlyLower, m.earlyUpper = randomRange()
			it, err := m.txn.NewIterator(m.earlyLower, m.earlyUpper)
			if err != nil {
				t.Fatal(err)
			}
			if m.serializable {
				m.readRanges = append(m.readRanges, keyRange{lower: m.earlyLower, upper: m.earlyUpper})
			}
			m.early = it
			m.earlyExpected = modelScan(m.view(), m.earlyLower, m.earlyUpper)
		case op < 78:
			checkEarly(m)
		case op < 80 && m.readCommitted:
			checkEarly(m)
			if err := m.txn.Refresh(); err != nil {
				t.Fatalf("txn %d refresh: %v", m.id, err)
			}
			m.snapshot = maps.Clone(committed)
			m.readVer = commits
		case op < 84 || step >= 3000:
			finish(m)
		}
	}

	t.Logf("buffer %d bytes: %d commits, %d of them spilled, %d conflicts", bufferSize, commits, spilledCommits, conflicts)
	if spilledCommits == 0 || conflicts == 0 {
		t.Errorf("the run had %d spilled commits and %d conflicts, expected some of both", spilledCommits, conflicts)
	}

	check := begin(t, e)
	expectScan(t, check, nil, nil, modelScan(committed, nil, nil)...)
	counters := 0
	for i := range 4 {
		if value, ok := committed[fmt.Sprintf("c%d", i)]; ok {
			n, err := strconv.Atoi(value)
			if err != nil {
				t.Fatal(err)
			}
			counters += n
		}
	}
	if counters != counterCommits {
		t.Errorf("the counters sum to %d after %d committed increments", counters, counterCommits)
	}
	check.Rollback()
	if n := len(e.oracle.mu.spilled); n != 0 {
		t.Errorf("the oracle keeps %d spilled commits with no transaction open", n)
	}

	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "temp")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temporary directory outlived Close: %v", err)
	}
	e = openSpillingEngine(t, dir, bufferSize)
	check = begin(t, e)
	expectScan(t, check, nil, nil, modelScan(committed, nil, nil)...)
	check.Rollback()
}

// TestConcurrentSpilledIncrements runs increments from parallel
// goroutines and checks that no increment is lost. Some transactions write
// enough filler keys to spill, some roll back to a savepoint, and some
// delete their filler again.
func TestConcurrentSpilledIncrements(t *testing.T) {
	const (
		workers    = 6
		increments = 60
		counters   = 3
	)
	e := openSpillingEngine(t, t.TempDir(), 256)

	var wg sync.WaitGroup
	errs := make(chan error, workers)
	var spilledCommits atomic.Int64
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range increments {
				key := fmt.Sprintf("counter/%d", (w+i)%counters)
				for {
					wasSpilled, err := incrementSpilling(e, rng, key, w)
					if err == nil {
						if wasSpilled {
							spilledCommits.Add(1)
						}
						break
					}
					if !pgerror.HasCode(err, pgcode.SerializationFailure) {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("increment: %v", err)
	}
	if spilledCommits.Load() == 0 {
		t.Fatal("no increment spilled")
	}

	if total := counterTotal(t, e, counters); total != workers*increments {
		t.Errorf("sum of counters = %d, expected %d", total, workers*increments)
	}
}

// incrementSpilling adds one to the counter at key in a transaction that
// may spill, and reports whether it did.
func incrementSpilling(e Engine, rng *rand.Rand, key string, worker int) (bool, error) {
	txn, err := e.Begin()
	if err != nil {
		return false, err
	}
	defer txn.Rollback()
	if rng.IntN(2) == 0 {
		txn.TrackReads()
	}

	filler := func(n int, del bool) error {
		for i := range n {
			k := fmt.Appendf(nil, "filler/%d/%03d", worker, i)
			if del {
				err = txn.Delete(k)
			} else {
				err = txn.Put(k, []byte("some filler value"))
			}
			if err != nil {
				return err
			}
		}
		return nil
	}

	if err := filler(rng.IntN(40), false); err != nil {
		return false, err
	}
	if rng.IntN(3) == 0 {
		token := txn.Savepoint()
		if err := filler(rng.IntN(40), true); err != nil {
			return false, err
		}
		if err := txn.RollbackToSavepoint(token); err != nil {
			return false, err
		}
	}

	value, found, err := txn.Get([]byte(key))
	if err != nil {
		return false, err
	}
	n := 0
	if found {
		if n, err = strconv.Atoi(string(value)); err != nil {
			return false, err
		}
	}
	if err := txn.Put([]byte(key), strconv.AppendInt(nil, int64(n+1), 10)); err != nil {
		return false, err
	}
	if rng.IntN(4) == 0 {
		if err := filler(rng.IntN(40), true); err != nil {
			return false, err
		}
	}

	wasSpilled := spilled(txn)
	return wasSpilled, txn.Commit()
}
