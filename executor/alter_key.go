package executor

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// A table declared without a primary key keys its rows on the hidden
// rowid column. ADD PRIMARY KEY drops that column and stores every row
// again under its new key, and DROP CONSTRAINT on the primary key adds a
// new rowid column and does the reverse. Secondary index entries end with
// the primary key values, so every change of the key rebuilds them too.

// addPrimaryKey makes the named columns the primary key of a table that
// has none. An empty name gives table_pkey, as in PostgreSQL.
func (alt *tableAlteration) addPrimaryKey(name string, columns []string) error {
	t := alt.t
	if primaryKeyIndex(t) {
		return pgerror.Newf(pgcode.InvalidTableDefinition, "multiple primary keys for table %q are not allowed", t.Name)
	}
	var ids []uint32
	for _, cn := range columns {
		col, err := alt.column(cn)
		if err != nil {
			return err
		}
		if slices.Contains(ids, col.ID) {
			return pgerror.Newf(pgcode.DuplicateColumn, "column %q appears twice in primary key constraint", cn)
		}
		if col.Type.OID == oidJSON {
			return pgerror.Newf(pgcode.UndefinedObject, "data type json has no default operator class for access method \"btree\"")
		}
		ids = append(ids, col.ID)
	}
	name, err := alt.primaryKeyName(name)
	if err != nil {
		return err
	}

	from := cloneTable(t)
	rowID := t.PrimaryKey
	t.Columns = slices.DeleteFunc(t.Columns, func(c catalog.ColumnDescriptor) bool { return c.Hidden && slices.Contains(rowID, c.ID) })
	for _, id := range ids {
		t.ColumnByID(id).NotNull = true
	}
	t.PrimaryKey = ids
	t.PrimaryKeyName = name
	// The state of the rowid sequence stays until the next start removes
	// it (see catalog.RemoveTemporaryObjects).
	return alt.rewriteRows(from, nil)
}

// primaryKeyName checks the name of a new primary key, or picks table_pkey
// (then table_pkey1, table_pkey2 and so on while a relation of the schema
// has the name, as PostgreSQL picks index names).
func (alt *tableAlteration) primaryKeyName(name string) (string, error) {
	schemaID := alt.t.SchemaID
	if name != "" {
		taken, err := indexNameTaken(alt.ec, schemaID, name)
		if err != nil {
			return "", err
		}
		if taken || alt.t.IndexByName(name) != nil {
			return "", pgerror.Newf(pgcode.DuplicateTable, "relation %q already exists", name)
		}
		return name, nil
	}
	base := alt.t.Name + "_pkey"
	for n := 0; ; n++ {
		name = base
		if n > 0 {
			name += strconv.Itoa(n)
		}
		taken, err := indexNameTaken(alt.ec, schemaID, name)
		if err != nil {
			return "", err
		}
		if !taken && alt.t.IndexByName(name) == nil && !constraintTaken(alt.t, name) {
			return name, nil
		}
	}
}

// dropPrimaryKey removes the declared primary key: the rows get a new
// hidden rowid key. The key columns stay NOT NULL, as in PostgreSQL 15.
func (alt *tableAlteration) dropPrimaryKey(cascade bool) error {
	t := alt.t
	name := t.PrimaryKeyConstraint()
	refs, err := alt.an.referencingFKs(t)
	if err != nil {
		return err
	}
	for _, ref := range refs {
		if ref.parentIndex != nil {
			continue
		}
		if !cascade {
			return pgerror.Newf(pgcode.DependentObjectsStillExist, "cannot drop constraint %s on table %s because other objects depend on it", name, t.Name).
				WithDetailf("constraint %s on table %s depends on index %s", ref.fk.Name, ref.child.Name, name).
				WithHint("Use DROP ... CASCADE to drop the dependent objects too.")
		}
		if ref.child.ID == t.ID {
			if err := alt.ec.notice("00000", fmt.Sprintf("drop cascades to constraint %s on table %s", ref.fk.Name, t.Name)); err != nil {
				return err
			}
			t.ForeignKeys = slices.DeleteFunc(t.ForeignKeys, func(fk catalog.ForeignKey) bool { return fk.Name == ref.fk.Name })
			continue
		}
		if err := dropForeignKey(alt.ec, ref); err != nil {
			return err
		}
	}
	if t.ColumnByName(rowIDColumn) != nil {
		return pgerror.NotSupported(fmt.Sprintf("dropping the primary key of a table with a column named %q", rowIDColumn))
	}

	from := cloneTable(t)
	id := t.NextColumnID
	t.NextColumnID++
	t.Columns = append(t.Columns, catalog.ColumnDescriptor{
		ID: id, Name: rowIDColumn, Type: plainType(oidInt8), NotNull: true,
		Identity: catalog.IdentityByDefault, Hidden: true,
	})
	t.PrimaryKey = []uint32{id}
	t.PrimaryKeyName = ""
	pos := len(t.Columns) - 1
	cat := alt.ec.sess.srv.cat
	seq := catalog.ColumnSequence(t, &t.Columns[pos])
	return alt.rewriteRows(from, func(_, row []any) error {
		v, err := cat.NextValue(seq)
		row[pos] = v
		return err
	})
}

// cloneTable copies the parts of a descriptor that an alteration changes
// in place, so the copy still describes the stored rows.
func cloneTable(t *catalog.TableDescriptor) *catalog.TableDescriptor {
	c := *t
	c.Columns = slices.Clone(t.Columns)
	c.PrimaryKey = slices.Clone(t.PrimaryKey)
	c.Indexes = slices.Clone(t.Indexes)
	return &c
}

// rewriteRows stores every row of the table again in the layout of alt.t:
// from describes the stored rows, and values move between the two by
// column ID. convert, when set, fills the new row from the stored one.
// All index entries are rebuilt. A key value that two rows share fails
// like PostgreSQL's index build, and a NULL in a NOT NULL column fails
// after the keys have been checked.
// NOTE: every row is held in memory and the rewritten rows in the
// statement's write batch, so the table must fit in memory.
func (alt *tableAlteration) rewriteRows(from *catalog.TableDescriptor, convert func(stored, row []any) error) error {
	txn := alt.ec.sess.txn.kv
	t := alt.t
	fromCodec := newRowCodec(from)
	rows, err := readStoredRows(txn, fromCodec)
	if err != nil {
		return err
	}
	if err := catalog.DeleteRange(txn, catalog.TablePrefix(t.ID)); err != nil {
		return err
	}
	codec := newRowCodec(t)
	var nullColumn string
	for _, r := range rows {
		row := make([]any, codec.width())
		for i, c := range t.Columns {
			if j, ok := fromCodec.colIndex[c.ID]; ok {
				row[i] = r.row[j]
			}
		}
		if convert != nil {
			if err := convert(r.row, row); err != nil {
				return err
			}
		}
		if col := firstNull(t, row); col != "" {
			if nullColumn == "" {
				nullColumn = col
			}
			continue
		}
		key, err := codec.encodeKey(row, r.owner)
		if err != nil {
			return err
		}
		if _, found, err := txn.Get(key); err != nil {
			return err
		} else if found {
			return duplicateKeyError(t, t.PrimaryKeyConstraint(), codec.keyCols, row)
		}
		val, err := codec.encodeValue(nil, row, r.created)
		if err != nil {
			return err
		}
		if err := txn.Put(key, val); err != nil {
			return err
		}
		if err := codec.putIndexEntries(txn, row, r.owner); err != nil {
			if pgerror.HasCode(err, pgcode.UniqueViolation) {
				pe, _ := pgerror.Flatten(err)
				return pgerror.Newf(pgcode.UniqueViolation, "could not create unique index %q", pe.ConstraintName).
					WithDetail(strings.Replace(pe.Detail, "already exists", "is duplicated", 1)).
					WithConstraint(t.Name, pe.ConstraintName)
			}
			return err
		}
	}
	if nullColumn != "" {
		return nullsInColumn(t, nullColumn)
	}
	return nil
}

// firstNull returns the first NOT NULL column that is NULL in row, or "".
func firstNull(t *catalog.TableDescriptor, row []any) string {
	for i, c := range t.Columns {
		if c.NotNull && row[i] == nil {
			return c.Name
		}
	}
	return ""
}

// duplicateKeyError is PostgreSQL's error for a unique index build that
// finds two rows with the same values in the columns at positions cols.
func duplicateKeyError(t *catalog.TableDescriptor, index string, cols []int, row []any) error {
	names := make([]string, len(cols))
	vals := make([]string, len(cols))
	for j, i := range cols {
		names[j] = t.Columns[i].Name
		vals[j] = formatDatum(row[i], t.Columns[i].Type.OID)
	}
	return pgerror.Newf(pgcode.UniqueViolation, "could not create unique index %q", index).
		WithDetailf("Key (%s)=(%s) is duplicated.", strings.Join(names, ", "), strings.Join(vals, ", ")).
		WithConstraint(t.Name, index)
}
