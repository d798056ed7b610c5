package executor

import (
	"bytes"
	"strings"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/kv"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// A secondary index entry's key is the index prefix (with "u" and the
// owner's ID on USER and STREAM tables), the indexed values, and then the
// row's primary key values, except on a unique index whose indexed values
// hold no NULL: there the key ends with the indexed values, so a second row
// with the same values finds the entry and fails. The entry's value is
// the encoded primary key, which locates the row.

// indexCodec builds the entries of one secondary index.
type indexCodec struct {
	desc *catalog.IndexDescriptor
	// cols are the row positions of the indexed columns.
	cols   []int
	prefix []byte
}

func (rc *rowCodec) indexCodecs() []*indexCodec {
	if rc.indexes != nil || len(rc.table.Indexes) == 0 {
		return rc.indexes
	}
	for i := range rc.table.Indexes {
		ix := &rc.table.Indexes[i]
		ic := &indexCodec{desc: ix, prefix: catalog.IndexPrefix(rc.table.ID, ix.ID)}
		for _, id := range ix.Columns {
			ic.cols = append(ic.cols, rc.colIndex[id])
		}
		rc.indexes = append(rc.indexes, ic)
	}
	return rc.indexes
}

// entryPrefix is the part of the index a given owner's entries live in.
func (ic *indexCodec) entryPrefix(rc *rowCodec, owner uint32) []byte {
	if rc.perUser {
		return catalog.UserPrefix(rc.table.ID, ic.desc.ID, owner)
	}
	return ic.prefix
}

// entry returns the key and value of the index entry of row.
func (ic *indexCodec) entry(rc *rowCodec, row []any, owner uint32, pk []byte) (key []byte, unique bool, err error) {
	key = append([]byte(nil), ic.entryPrefix(rc, owner)...)
	hasNull := false
	for _, i := range ic.cols {
		if row[i] == nil {
			hasNull = true
		}
		if key, err = encodeKeyDatum(key, row[i], rc.table.Columns[i].Type.OID); err != nil {
			return nil, false, err
		}
	}
	unique = ic.desc.Unique && !hasNull
	if !unique {
		key = append(key, pk...)
	}
	return key, unique, nil
}

// pkSuffix encodes the primary key values of row, the part of the row key
// after its owner prefix.
func (rc *rowCodec) pkSuffix(row []any) ([]byte, error) {
	var out []byte
	var err error
	for _, i := range rc.keyCols {
		if out, err = encodeKeyDatum(out, row[i], rc.table.Columns[i].Type.OID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// putIndexEntries writes the entries of row in every secondary index,
// failing with 23505 when a unique index already holds its values for
// another row.
func (rc *rowCodec) putIndexEntries(txn kv.Txn, row []any, owner uint32) error {
	indexes := rc.indexCodecs()
	if len(indexes) == 0 {
		return nil
	}
	pk, err := rc.pkSuffix(row)
	if err != nil {
		return err
	}
	for _, ic := range indexes {
		key, unique, err := ic.entry(rc, row, owner, pk)
		if err != nil {
			return err
		}
		if unique {
			existing, found, err := txn.Get(key)
			if err != nil {
				return err
			}
			if found && !bytes.Equal(existing, pk) {
				return rc.indexViolation(ic, row)
			}
		}
		if err := txn.Put(key, pk); err != nil {
			return err
		}
	}
	return nil
}

// deleteIndexEntries removes the entries of row from every secondary index.
func (rc *rowCodec) deleteIndexEntries(txn kv.Txn, row []any, owner uint32) error {
	indexes := rc.indexCodecs()
	if len(indexes) == 0 {
		return nil
	}
	pk, err := rc.pkSuffix(row)
	if err != nil {
		return err
	}
	for _, ic := range indexes {
		key, _, err := ic.entry(rc, row, owner, pk)
		if err != nil {
			return err
		}
		if err := txn.Delete(key); err != nil {
			return err
		}
	}
	return nil
}

func (rc *rowCodec) indexViolation(ic *indexCodec, row []any) error {
	var names, vals []string
	for _, i := range ic.cols {
		col := rc.table.Columns[i]
		names = append(names, col.Name)
		vals = append(vals, formatDatum(row[i], col.Type.OID))
	}
	return pgerror.Newf(pgcode.UniqueViolation, "duplicate key value violates unique constraint %q", ic.desc.Name).
		WithDetailf("Key (%s)=(%s) already exists.", strings.Join(names, ", "), strings.Join(vals, ", ")).
		WithConstraint(rc.table.Name, ic.desc.Name)
}

// lookupRow fetches the row an index entry points to.
func (s *scanIter) lookupRow(pk []byte) ([]byte, []byte, bool, error) {
	key := append(append([]byte(nil), s.codec.rowsPrefix(s.owner)...), pk...)
	s.keysRead++
	value, found, err := s.txn.Get(key)
	return key, value, found, err
}

// indexEntryKeys returns the keys of the index entries of row.
func (rc *rowCodec) indexEntryKeys(row []any, owner uint32) ([][]byte, error) {
	indexes := rc.indexCodecs()
	if len(indexes) == 0 {
		return nil, nil
	}
	pk, err := rc.pkSuffix(row)
	if err != nil {
		return nil, err
	}
	keys := make([][]byte, 0, len(indexes))
	for _, ic := range indexes {
		key, _, err := ic.entry(rc, row, owner, pk)
		if err != nil {
			return nil, err
		}
		keys = append(keys, key)
	}
	return keys, nil
}
