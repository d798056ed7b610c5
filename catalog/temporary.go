package catalog

import (
	"encoding/binary"
	"strings"
	"time"

	"github.com/pgkeep/pgkeep/kv"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// Temporary objects (the schema of a session's temporary tables, and the
// tables and sequences in it) live in kv like permanent ones, so the
// executor reads and writes them the same way, but:
//
//   - their IDs come from a range of their own, counted in memory, so
//     creating one writes no shared counter and cannot conflict with
//     another session's DDL;
//   - creating or dropping their schema does not change Version, because
//     no other session can see them;
//   - RemoveTemporaryObjects deletes every one of them at start-up, which
//     cleans up after a crash and makes the in-memory ID range safe to
//     reuse.
//
// NOTE: this assumes one process owns the store, as Version does.

// FirstTemporaryID is the first ID of temporary schemas, tables and
// sequences, which take the IDs from it to LastTableID. Permanent IDs come
// from a counter that starts at FirstUserID and stops before it.
const FirstTemporaryID uint32 = 0x7_0000

// LastTableID is the largest ID of a schema, table or sequence. The
// executor's pg_class OIDs of indexes and column sequences pack the table
// ID into 19 bits.
const LastTableID uint32 = 0x7_FFFF

// TemporarySchemaPrefix starts the name of every temporary schema, as
// PostgreSQL names them pg_temp_N.
const TemporarySchemaPrefix = "pg_temp_"

// IsTemporaryID reports whether id belongs to a temporary object.
func IsTemporaryID(id uint32) bool { return id >= FirstTemporaryID }

// nextTemporaryID returns an unused temporary ID. After the range wraps
// around, IDs still held by live temporary tables are skipped.
func (c *Catalog) nextTemporaryID(txn kv.Txn) (uint32, error) {
	const size = LastTableID - FirstTemporaryID + 1
	for attempt := 0; attempt < 1000; attempt++ {
		id := FirstTemporaryID + (c.tempIDs.Add(1)-1)%size
		_, inUse, err := txn.Get([]byte(idKey(keyDescPrefix, id)))
		if err != nil {
			return 0, err
		}
		if !inUse {
			return id, nil
		}
	}
	return 0, pgerror.New(pgcode.ProgramLimitExceeded, "no free ID for a temporary object")
}

// CreateTemporarySchema creates the schema that holds one session's
// temporary objects. name must start with TemporarySchemaPrefix.
func (c *Catalog) CreateTemporarySchema(txn kv.Txn, name string) (*SchemaDescriptor, error) {
	if !strings.HasPrefix(name, TemporarySchemaPrefix) {
		return nil, pgerror.Internal("temporary schema name %q lacks the prefix %s", name, TemporarySchemaPrefix)
	}
	id, err := c.nextTemporaryID(txn)
	if err != nil {
		return nil, err
	}
	s := &SchemaDescriptor{ID: id, Name: name, Temporary: true}
	return s, putJSON(txn, keySchemaPrefix+name, s)
}

// CreateTemporaryTable stores a table or sequence in a temporary schema,
// with a temporary ID. The caller has checked that the name is free.
func (c *Catalog) CreateTemporaryTable(txn kv.Txn, t *TableDescriptor) error {
	id, err := c.nextTemporaryID(txn)
	if err != nil {
		return err
	}
	t.ID = id
	t.Temporary = true
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now().UTC()
	}
	return c.putNewTable(txn, t)
}

// DropTemporarySchema drops a temporary schema with every table and
// sequence in it, their rows included. It does nothing when the schema
// does not exist.
func (c *Catalog) DropTemporarySchema(txn kv.Txn, name string) error {
	s, err := c.Schema(txn, name)
	if err != nil || s == nil {
		return err
	}
	if !s.Temporary {
		return pgerror.Internal("schema %q is not temporary", name)
	}
	tables, err := c.Tables(txn, s.ID)
	if err != nil {
		return err
	}
	for _, t := range tables {
		if err := c.dropTable(txn, t); err != nil {
			return err
		}
	}
	return txn.Delete([]byte(keySchemaPrefix + name))
}

// RemoveTemporaryObjects deletes what sessions of an earlier run left
// behind: every temporary schema with its tables, sequences and rows, and
// the state of sequences whose descriptor or column is gone (the state of
// a sequence created by a transaction that rolled back after using it,
// or of a column that ALTER TABLE removed). It must run
// before any session starts. It returns the number of temporary schemas
// removed.
func (c *Catalog) RemoveTemporaryObjects() (int, error) {
	txn, err := c.engine.Begin()
	if err != nil {
		return 0, err
	}
	defer txn.Rollback()
	schemas, err := c.Schemas(txn)
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, s := range schemas {
		if !s.Temporary {
			continue
		}
		if err := c.DropTemporarySchema(txn, s.Name); err != nil {
			return 0, err
		}
		removed++
	}
	if err := c.removeOrphanSequenceState(txn); err != nil {
		return 0, err
	}
	return removed, txn.Commit()
}

// removeOrphanSequenceState deletes sequence keys whose table or sequence
// descriptor does not exist, or whose column no longer draws from them.
func (c *Catalog) removeOrphanSequenceState(txn kv.Txn) error {
	prefix := []byte(keySeqPrefix)
	it, err := txn.NewIterator(prefix, kv.PrefixEnd(prefix))
	if err != nil {
		return err
	}
	var keys [][]byte
	for ok := it.First(); ok; ok = it.Next() {
		keys = append(keys, append([]byte(nil), it.Key()...))
	}
	if err := it.Close(); err != nil {
		return err
	}
	for _, k := range keys {
		if len(k) != len(prefix)+8 {
			continue
		}
		id := binary.BigEndian.Uint32(k[len(prefix):])
		columnID := binary.BigEndian.Uint32(k[len(prefix)+4:])
		t, err := c.TableByID(txn, id)
		if err != nil {
			return err
		}
		if t != nil && (columnID == 0 || drawsFromSequence(t, columnID)) {
			continue
		}
		if err := txn.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// drawsFromSequence reports whether a column of t still exists and takes
// its values from the column sequence. ALTER TABLE leaves the state of
// a dropped identity column, or of the rowid column that ADD PRIMARY KEY
// removes, for removeOrphanSequenceState: deleting it in the statement's
// transaction would conflict with the block reservations that nextval
// commits on their own.
func drawsFromSequence(t *TableDescriptor, columnID uint32) bool {
	col := t.ColumnByID(columnID)
	return col != nil && col.Identity != IdentityNone
}
