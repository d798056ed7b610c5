package catalog

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// createSequence stores a committed sequence with the given options.
func createSequence(t *testing.T, c *Catalog, name string, opts SequenceOptions) *TableDescriptor {
	t.Helper()
	txn, err := c.Engine().Begin()
	if err != nil {
		t.Fatal(err)
	}
	seq := &TableDescriptor{SchemaID: PublicSchemaID, Name: name, Kind: TableKindSequence, Sequence: &opts}
	if err := c.CreateTable(txn, seq); err != nil {
		t.Fatal(err)
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	return seq
}

func ascending() SequenceOptions {
	return SequenceOptions{TypeOID: 20, Increment: 1, Min: 1, Max: math.MaxInt64, Start: 1, Cache: 1}
}

// storedSeqState reads the committed state of a named sequence.
func storedSeqState(t *testing.T, c *Catalog, id uint32) (int64, bool, bool) {
	t.Helper()
	txn := begin(t, c)
	b, found, err := txn.Get(seqKey{id, 0}.key())
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		return 0, false, false
	}
	last, called, err := decodeSeqState(b)
	if err != nil {
		t.Fatal(err)
	}
	return last, called, true
}

func TestNamedSequenceReservesAhead(t *testing.T) {
	c, _ := openCatalog(t, filepath.Join(t.TempDir(), "store"))
	seq := createSequence(t, c, "s", ascending())
	for want := int64(1); want <= 3; want++ {
		v, err := c.NextValue(seq)
		if err != nil || v != want {
			t.Fatalf("nextval = %d, %v; want %d", v, err, want)
		}
	}
	// The first call reserved the values up to 1+seqLogAhead, and the next
	// calls wrote nothing.
	last, called, found := storedSeqState(t, c, seq.ID)
	if !found || !called || last != 1+seqLogAhead {
		t.Fatalf("stored state = %d, %v, %v; want %d, true, true", last, called, found, 1+seqLogAhead)
	}
	last, logCount, called, err := c.SequenceState(seq)
	if err != nil || last != 3 || logCount != seqLogAhead-2 || !called {
		t.Fatalf("SequenceState = %d, %d, %v, %v; want 3, %d, true", last, logCount, called, err, seqLogAhead-2)
	}
}

func TestNamedSequenceAfterCloseAndCrash(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	c, engine := openCatalog(t, dir)
	seq := createSequence(t, c, "s", ascending())
	for i := 0; i < 5; i++ {
		if _, err := c.NextValue(seq); err != nil {
			t.Fatal(err)
		}
	}
	// A clean close writes back the exact state: no gap after a restart.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := engine.Close(); err != nil {
		t.Fatal(err)
	}
	c, engine = openCatalog(t, dir)
	if v, err := c.NextValue(seq); err != nil || v != 6 {
		t.Fatalf("nextval after a clean close = %d, %v; want 6", v, err)
	}
	// Without Close, as after a crash, the rest of the block is skipped.
	if err := engine.Close(); err != nil {
		t.Fatal(err)
	}
	c, engine = openCatalog(t, dir)
	defer engine.Close()
	if v, err := c.NextValue(seq); err != nil || v != 6+seqLogAhead+1 {
		t.Fatalf("nextval after a crash = %d, %v; want %d", v, err, 6+seqLogAhead+1)
	}
}

func TestNamedSequenceLimitsAndCycle(t *testing.T) {
	c, _ := openCatalog(t, filepath.Join(t.TempDir(), "store"))
	limited := createSequence(t, c, "limited", SequenceOptions{TypeOID: 20, Increment: 2, Min: 1, Max: 5, Start: 1, Cache: 1})
	for _, want := range []int64{1, 3, 5} {
		if v, err := c.NextValue(limited); err != nil || v != want {
			t.Fatalf("nextval = %d, %v; want %d", v, err, want)
		}
	}
	_, err := c.NextValue(limited)
	if !pgerror.HasCode(err, pgcode.SequenceGeneratorLimitExceeded) {
		t.Fatalf("nextval past MAXVALUE: err = %v, want 2200H", err)
	}
	if err.Error() != `nextval: reached maximum value of sequence "limited" (5)` {
		t.Fatalf("message = %q", err.Error())
	}

	cycling := createSequence(t, c, "cycling", SequenceOptions{TypeOID: 20, Increment: -1, Min: -2, Max: 0, Start: 0, Cache: 1, Cycle: true})
	for _, want := range []int64{0, -1, -2, 0, -1} {
		if v, err := c.NextValue(cycling); err != nil || v != want {
			t.Fatalf("nextval of cycling = %d, %v; want %d", v, err, want)
		}
	}

	// An increment that would overflow int64 stops at the limit.
	huge := createSequence(t, c, "huge", SequenceOptions{TypeOID: 20, Increment: math.MaxInt64, Min: 1, Max: math.MaxInt64, Start: math.MaxInt64 - 1, Cache: 1})
	if v, err := c.NextValue(huge); err != nil || v != math.MaxInt64-1 {
		t.Fatalf("nextval of huge = %d, %v", v, err)
	}
	if _, err := c.NextValue(huge); !pgerror.HasCode(err, pgcode.SequenceGeneratorLimitExceeded) {
		t.Fatalf("nextval past int64: err = %v, want 2200H", err)
	}
}

func TestSetSequenceValueAndNewOptions(t *testing.T) {
	c, _ := openCatalog(t, filepath.Join(t.TempDir(), "store"))
	seq := createSequence(t, c, "s", ascending())
	if _, err := c.NextValue(seq); err != nil {
		t.Fatal(err)
	}
	if err := c.SetSequenceValue(seq, 100, false); err != nil {
		t.Fatal(err)
	}
	if last, called, _ := storedSeqState(t, c, seq.ID); last != 100 || called {
		t.Fatalf("stored state after setval = %d, %v; want 100, false", last, called)
	}
	if v, err := c.NextValue(seq); err != nil || v != 100 {
		t.Fatalf("nextval after setval(false) = %d, %v; want 100", v, err)
	}
	// A descriptor with another increment, as after ALTER SEQUENCE, takes
	// effect at the next call.
	altered := *seq
	opts := *seq.Sequence
	opts.Increment = 10
	altered.Sequence = &opts
	if v, err := c.NextValue(&altered); err != nil || v != 110 {
		t.Fatalf("nextval after INCREMENT 10 = %d, %v; want 110", v, err)
	}
}

func TestDropTableForgetsSequences(t *testing.T) {
	c, _ := openCatalog(t, filepath.Join(t.TempDir(), "store"))
	seq := createSequence(t, c, "s", ascending())
	if _, err := c.NextValue(seq); err != nil {
		t.Fatal(err)
	}
	owner := &TableDescriptor{SchemaID: PublicSchemaID, Name: "owner", OwnedSequences: []uint32{seq.ID}}
	txn, err := c.Engine().Begin()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CreateTable(txn, owner); err != nil {
		t.Fatal(err)
	}
	seq.Sequence.OwnedByTable = owner.ID
	if err := c.PutTable(txn, seq); err != nil {
		t.Fatal(err)
	}
	if err := c.DropTable(txn, owner); err != nil {
		t.Fatal(err)
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}

	check := begin(t, c)
	if got, err := c.TableByID(check, seq.ID); err != nil || got != nil {
		t.Fatalf("owned sequence after DROP TABLE = %v, %v; want dropped", got, err)
	}
	if _, _, found := storedSeqState(t, c, seq.ID); found {
		t.Fatal("the state of the dropped sequence is still stored")
	}
	c.seqs.mu.Lock()
	_, cached := c.seqs.mu.states[seqKey{seq.ID, 0}]
	c.seqs.mu.Unlock()
	if cached {
		t.Fatal("the dropped sequence is still cached in memory")
	}
}

func TestRemoveTemporaryObjects(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	c, engine := openCatalog(t, dir)
	if _, _, err := bootstrap(t, c, "postgres"); err != nil {
		t.Fatal(err)
	}
	txn, err := engine.Begin()
	if err != nil {
		t.Fatal(err)
	}
	schema, err := c.CreateTemporarySchema(txn, "pg_temp_1")
	if err != nil {
		t.Fatal(err)
	}
	temp := &TableDescriptor{SchemaID: schema.ID, Name: "t", Kind: TableKindShared, PrimaryKey: []uint32{1}}
	if err := c.CreateTemporaryTable(txn, temp); err != nil {
		t.Fatal(err)
	}
	if !IsTemporaryID(temp.ID) || !temp.Temporary {
		t.Fatalf("temporary table got ID %d, Temporary %v", temp.ID, temp.Temporary)
	}
	perm := &TableDescriptor{SchemaID: PublicSchemaID, Name: "p", Kind: TableKindShared, Columns: []ColumnDescriptor{
		{ID: 1, Name: "id", Identity: IdentityByDefault},
		{ID: 3, Name: "n"},
	}}
	if err := c.CreateTable(txn, perm); err != nil {
		t.Fatal(err)
	}
	// The state of the identity column stays. The sweep deletes the state
	// of a dropped column and of a column that no longer uses a sequence.
	live, dropped, plain := seqKey{perm.ID, 1}.key(), seqKey{perm.ID, 2}.key(), seqKey{perm.ID, 3}.key()
	for _, k := range [][]byte{live, dropped, plain} {
		if err := txn.Put(k, encodeSeqState(5, true)); err != nil {
			t.Fatal(err)
		}
	}
	rowKey := append(IndexPrefix(temp.ID, PrimaryIndexID), 1)
	if err := txn.Put(rowKey, []byte("row")); err != nil {
		t.Fatal(err)
	}
	// The state of a sequence whose descriptor is gone.
	orphan := seqKey{999_999, 0}.key()
	if err := txn.Put(orphan, encodeSeqState(5, true)); err != nil {
		t.Fatal(err)
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := engine.Close(); err != nil {
		t.Fatal(err)
	}

	c, engine = openCatalog(t, dir)
	defer engine.Close()
	version := c.Version()
	removed, err := c.RemoveTemporaryObjects()
	if err != nil || removed != 1 {
		t.Fatalf("RemoveTemporaryObjects = %d, %v; want 1", removed, err)
	}
	if c.Version() != version {
		t.Fatal("removing temporary objects changed the schema version")
	}
	check := begin(t, c)
	if s, err := c.Schema(check, "pg_temp_1"); err != nil || s != nil {
		t.Fatalf("temporary schema after cleanup = %v, %v", s, err)
	}
	if got, err := c.TableByID(check, temp.ID); err != nil || got != nil {
		t.Fatalf("temporary table after cleanup = %v, %v", got, err)
	}
	if _, found, err := check.Get(rowKey); err != nil || found {
		t.Fatalf("temporary row after cleanup: found=%v err=%v", found, err)
	}
	if _, found, err := check.Get(orphan); err != nil || found {
		t.Fatalf("orphan sequence state after cleanup: found=%v err=%v", found, err)
	}
	if got, err := c.Table(check, PublicSchemaID, "p"); err != nil || got == nil {
		t.Fatalf("permanent table after cleanup = %v, %v; want kept", got, err)
	}
	if _, found, err := check.Get(live); err != nil || !found {
		t.Errorf("identity column sequence state after cleanup: found=%v err=%v, want kept", found, err)
	}
	if _, found, err := check.Get(dropped); err != nil || found {
		t.Errorf("sequence state of a dropped column after cleanup: found=%v err=%v", found, err)
	}
	if _, found, err := check.Get(plain); err != nil || found {
		t.Errorf("sequence state of a column without identity after cleanup: found=%v err=%v", found, err)
	}
}

func TestTemporaryIDsSkipLiveOnes(t *testing.T) {
	c, engine := openCatalog(t, filepath.Join(t.TempDir(), "store"))
	defer engine.Close()
	txn := begin(t, c)
	first, err := c.nextTemporaryID(txn)
	if err != nil {
		t.Fatal(err)
	}
	if first != FirstTemporaryID {
		t.Fatalf("first temporary ID = %#x, want %#x", first, FirstTemporaryID)
	}
	// Make the next ID look taken, as after the counter wrapped around.
	if err := putJSON(txn, idKey(keyDescPrefix, first+1), &TableDescriptor{ID: first + 1}); err != nil {
		t.Fatal(err)
	}
	if next, err := c.nextTemporaryID(txn); err != nil || next != first+2 {
		t.Fatalf("next temporary ID = %#x, %v; want %#x", next, err, first+2)
	}
}
