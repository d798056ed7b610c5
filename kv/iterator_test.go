package kv

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// scan returns the pairs "key=value" of an iteration from lower to upper.
func scan(t testing.TB, txn Txn, lower, upper []byte) []string {
	t.Helper()
	it, err := txn.NewIterator(lower, upper)
	if err != nil {
		t.Fatalf("new iterator: %v", err)
	}
	var got []string
	for valid := it.First(); valid; valid = it.Next() {
		if !it.Valid() {
			t.Fatalf("Valid = false at a key First or Next reported")
		}
		got = append(got, string(it.Key())+"="+string(it.Value()))
	}
	if it.Valid() {
		t.Errorf("Valid = true after the iteration ended")
	}
	if err := it.Close(); err != nil {
		t.Fatalf("close iterator: %v", err)
	}
	return got
}

// scanBack returns the pairs "key=value" of an iteration from upper down
// to lower.
func scanBack(t testing.TB, txn Txn, lower, upper []byte) []string {
	t.Helper()
	it, err := txn.NewIterator(lower, upper)
	if err != nil {
		t.Fatalf("new iterator: %v", err)
	}
	var got []string
	for valid := it.Last(); valid; valid = it.Prev() {
		got = append(got, string(it.Key())+"="+string(it.Value()))
	}
	if it.Valid() {
		t.Errorf("Valid = true after the backward iteration ended")
	}
	if err := it.Close(); err != nil {
		t.Fatalf("close iterator: %v", err)
	}
	return got
}

// expectScan checks an iteration over [lower, upper) in both directions.
func expectScan(t testing.TB, txn Txn, lower, upper []byte, expected ...string) {
	t.Helper()
	got := scan(t, txn, lower, upper)
	if !slices.Equal(got, expected) {
		t.Errorf("scan [%q, %q):\n got      %v\n expected %v", lower, upper, got, expected)
	}
	back := scanBack(t, txn, lower, upper)
	slices.Reverse(back)
	if !slices.Equal(back, expected) {
		t.Errorf("backward scan [%q, %q), reversed:\n got      %v\n expected %v", lower, upper, back, expected)
	}
}

func TestIteratorRejectsDirectionChange(t *testing.T) {
	e := openTestEngine(t)
	commitKVs(t, e, "a", "a0", "b", "b0")
	txn := begin(t, e)
	defer txn.Rollback()
	it, err := txn.NewIterator(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !it.Last() || string(it.Key()) != "b" {
		t.Fatalf("Last: valid %v at %q, expected b", it.Valid(), it.Key())
	}
	if it.Next() {
		t.Error("Next after Last moved")
	}
	if err := it.Close(); err == nil {
		t.Error("Close after Next following Last returned no error")
	}
}

func TestIteratorMergesWrites(t *testing.T) {
	e := openTestEngine(t)
	commitKVs(t, e, "b", "b0", "d", "d0", "f", "f0", "h", "h0", "j", "j0")

	txn := begin(t, e)
	defer txn.Rollback()
	put(t, txn, "a", "a1") // before the first snapshot key
	put(t, txn, "d", "d1") // overwrite
	del(t, txn, "f")       // delete
	put(t, txn, "g", "g1") // between snapshot keys
	put(t, txn, "h", "h1") // overwrite, delete, put again
	del(t, txn, "h")
	put(t, txn, "h", "h2")
	put(t, txn, "i", "i1") // new key, then deleted
	del(t, txn, "i")
	del(t, txn, "j") // the last snapshot key
	del(t, txn, "q") // absent key
	put(t, txn, "z", "z1")

	expectScan(t, txn, nil, nil, "a=a1", "b=b0", "d=d1", "g=g1", "h=h2", "z=z1")
	expectScan(t, txn, []byte("b"), []byte("h"), "b=b0", "d=d1", "g=g1")
	expectScan(t, txn, []byte("c"), []byte("ha"), "d=d1", "g=g1", "h=h2")
	expectScan(t, txn, []byte("e"), []byte("g"))
	expectScan(t, txn, []byte("i"), nil, "z=z1")
	expectScan(t, txn, nil, []byte("b"), "a=a1")
	expectScan(t, txn, []byte("zz"), nil)
}

func TestIteratorDeletesEverySnapshotKey(t *testing.T) {
	e := openTestEngine(t)
	commitKVs(t, e, "a", "1", "b", "2", "c", "3")

	txn := begin(t, e)
	defer txn.Rollback()
	del(t, txn, "a")
	del(t, txn, "b")
	del(t, txn, "c")
	expectScan(t, txn, nil, nil)
}

func TestIteratorSeekGE(t *testing.T) {
	e := openTestEngine(t)
	commitKVs(t, e, "b", "b0", "d", "d0", "f", "f0")

	txn := begin(t, e)
	defer txn.Rollback()
	del(t, txn, "d")
	put(t, txn, "e", "e1")

	it, err := txn.NewIterator([]byte("a"), []byte("f"))
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	cases := []struct {
		seek     string
		expected string // empty when no key is expected
	}{
		{"a", "b"},
		{"b", "b"},
		{"c", "e"}, // d is deleted
		{"d", "e"},
		{"e", "e"},
		{"ea", ""}, // f is outside the upper bound
		{"b", "b"}, // seeking backwards works
	}
	for _, c := range cases {
		valid := it.SeekGE([]byte(c.seek))
		if c.expected == "" {
			if valid {
				t.Errorf("SeekGE(%q) at %q, expected no key", c.seek, it.Key())
			}
			continue
		}
		if !valid {
			t.Errorf("SeekGE(%q) found no key, expected %q", c.seek, c.expected)
			continue
		}
		if string(it.Key()) != c.expected {
			t.Errorf("SeekGE(%q) at %q, expected %q", c.seek, it.Key(), c.expected)
		}
	}
}

func TestIteratorIgnoresLaterWrites(t *testing.T) {
	e := openTestEngine(t)
	commitKVs(t, e, "a", "a0", "c", "c0")

	txn := begin(t, e)
	defer txn.Rollback()
	put(t, txn, "b", "b1")

	it, err := txn.NewIterator(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for valid := it.First(); valid; valid = it.Next() {
		// Writes during the iteration do not show up in it.
		put(t, txn, string(it.Key())+"x", "new")
		del(t, txn, "c")
		got = append(got, string(it.Key())+"="+string(it.Value()))
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	expected := []string{"a=a0", "b=b1", "c=c0"}
	if !slices.Equal(got, expected) {
		t.Errorf("scan during writes = %v, expected %v", got, expected)
	}

	// A new iterator sees them.
	expectScan(t, txn, nil, nil, "a=a0", "ax=new", "b=b1", "bx=new", "cx=new")
}

func TestIteratorBoundsCopied(t *testing.T) {
	e := openTestEngine(t)
	commitKVs(t, e, "a", "1", "b", "2", "c", "3")

	txn := begin(t, e)
	defer txn.Rollback()
	lower, upper := []byte("b"), []byte("c")
	it, err := txn.NewIterator(lower, upper)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	copy(lower, "a")
	copy(upper, "z")
	var keys []string
	for valid := it.First(); valid; valid = it.Next() {
		keys = append(keys, string(it.Key()))
	}
	if !slices.Equal(keys, []string{"b"}) {
		t.Errorf("keys = %v after the caller changed the bounds, expected [b]", keys)
	}
}

func TestCommitClosesIterators(t *testing.T) {
	e := openTestEngine(t)
	commitKVs(t, e, "a", "1", "b", "2")

	for _, finish := range []string{"commit", "rollback"} {
		t.Run(finish, func(t *testing.T) {
			txn := begin(t, e)
			put(t, txn, "c", "3")
			it, err := txn.NewIterator(nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !it.First() {
				t.Fatalf("First found no key")
			}
			if finish == "commit" {
				commit(t, txn)
			} else {
				txn.Rollback()
			}
			if it.Valid() {
				t.Errorf("Valid = true after %s", finish)
			}
			if it.Next() {
				t.Errorf("Next = true after %s", finish)
			}
			if it.First() {
				t.Errorf("First = true after %s", finish)
			}
			if it.SeekGE([]byte("a")) {
				t.Errorf("SeekGE = true after %s", finish)
			}
			if err := it.Close(); err != nil {
				t.Errorf("Close after %s: %v", finish, err)
			}
		})
	}
}

// TestIteratorMatchesModel compares iterators and Get with a map model over
// random committed data and random transaction writes.
func TestIteratorMatchesModel(t *testing.T) {
	const rounds = 30
	seed := uint64(rand.Int64())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	e := openTestEngine(t)
	committed := map[string]string{}
	randomKey := func() string {
		// A small key space makes overwrites and deletes of existing keys
		// frequent. Keys of length 1 and 2 test prefixes.
		n := 1 + rng.IntN(2)
		var b strings.Builder
		for range n {
			b.WriteByte(byte('a' + rng.IntN(6)))
		}
		return b.String()
	}

	for round := range rounds {
		txn := begin(t, e)
		model := maps.Clone(committed)
		for i := range rng.IntN(40) {
			key := randomKey()
			if rng.IntN(3) == 0 {
				del(t, txn, key)
				delete(model, key)
			} else {
				value := fmt.Sprintf("r%d-%d", round, i)
				put(t, txn, key, value)
				model[key] = value
			}
		}

		for range 10 {
			var lower, upper []byte
			if rng.IntN(2) == 0 {
				lower = []byte(randomKey())
			}
			if rng.IntN(2) == 0 {
				upper = []byte(randomKey())
			}
			expectScan(t, txn, lower, upper, modelScan(model, lower, upper)...)
			checkSeeks(t, rng, txn, model, randomKey)
		}
		for range 20 {
			key := randomKey()
			if value, ok := model[key]; ok {
				expectGet(t, txn, key, &value)
			} else {
				expectGet(t, txn, key, nil)
			}
		}
		if t.Failed() {
			t.Fatalf("round %d failed", round)
		}

		if rng.IntN(3) == 0 {
			txn.Rollback()
			continue
		}
		commit(t, txn)
		committed = model
	}
}

// checkSeeks runs random SeekGE and Next calls on a new unbounded iterator
// and compares the keys with the model.
func checkSeeks(t *testing.T, rng *rand.Rand, txn Txn, model map[string]string, randomKey func() string) {
	t.Helper()
	sorted := modelScan(model, nil, nil)
	it, err := txn.NewIterator(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	for range 5 {
		seek := randomKey()
		pos, _ := slices.BinarySearchFunc(sorted, seek, func(pair, key string) int {
			return strings.Compare(strings.SplitN(pair, "=", 2)[0], key)
		})
		valid := it.SeekGE([]byte(seek))
		for steps := 0; steps < 3; steps++ {
			if pos >= len(sorted) {
				if valid {
					t.Errorf("after SeekGE(%q) and %d Next: at %q, expected the end", seek, steps, it.Key())
				}
				break
			}
			if !valid {
				t.Errorf("after SeekGE(%q) and %d Next: no key, expected %q", seek, steps, sorted[pos])
				break
			}
			if got := string(it.Key()) + "=" + string(it.Value()); got != sorted[pos] {
				t.Errorf("after SeekGE(%q) and %d Next: at %q, expected %q", seek, steps, got, sorted[pos])
			}
			valid = it.Next()
			pos++
		}
	}
}

func modelScan(model map[string]string, lower, upper []byte) []string {
	var keys []string
	for k := range model {
		if lower != nil && k < string(lower) {
			continue
		}
		if upper != nil && k >= string(upper) {
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	pairs := make([]string, 0, len(keys))
	for _, k := range keys {
		pairs = append(pairs, k+"="+model[k])
	}
	return pairs
}
