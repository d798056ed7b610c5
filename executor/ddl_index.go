package executor

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/kv"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
	"github.com/pgkeep/pgkeep/security"
)

// planCreateIndex handles CREATE [UNIQUE] INDEX [IF NOT EXISTS] [name] ON
// table (columns). The index is filled from the table's rows in the same
// transaction.
func (a *analyser) planCreateIndex(is *pg_query.IndexStmt) (*plan, error) {
	gate, err := a.ddlGate("create index", is.Idxname)
	if err != nil {
		return nil, err
	}
	switch {
	case is.WhereClause != nil:
		return nil, pgerror.New(pgcode.FeatureNotSupported, "partial indexes are not supported")
	case len(is.IndexIncludingParams) > 0:
		return nil, pgerror.NotSupported("INCLUDE columns")
	case is.AccessMethod != "" && is.AccessMethod != "btree":
		return nil, pgerror.NotSupported("index access method " + is.AccessMethod)
	case is.Concurrent:
		return nil, pgerror.NotSupported("CREATE INDEX CONCURRENTLY")
	}
	var colNames []string
	var options []int16
	for i, p := range is.IndexParams {
		elem := p.GetIndexElem()
		if elem.Expr != nil || elem.Name == "" {
			return nil, pgerror.New(pgcode.FeatureNotSupported, "indexes on expressions are not supported")
		}
		colNames = append(colNames, elem.Name)
		// DESC and NULLS FIRST are recorded for the catalog. Entries are
		// kept in ascending order, which serves lookups either way and
		// ORDER BY in both directions through a backward scan.
		if option := indexOption(elem); option != 0 {
			if options == nil {
				options = make([]int16, len(is.IndexParams))
			}
			options[i] = option
		}
	}
	rv := is.Relation
	return writePlan("CREATE INDEX", func(ec *evalContext) error {
		an := &analyser{sess: ec.sess, txn: ec.sess.txn.kv}
		t, schema, err := an.resolveTable(rv)
		if err != nil {
			return err
		}
		if t.Kind == catalog.TableKindView || t.Kind == catalog.TableKindSystem || t.Kind == catalog.TableKindSequence {
			return pgerror.Newf(pgcode.WrongObjectType, "%q is not a table", t.Name)
		}
		if err := gate.check(t); err != nil {
			return err
		}
		name := is.Idxname
		if name == "" {
			name = defaultIndexName(t.Name, colNames, is.Unique)
		}
		taken, err := indexNameTaken(ec, schema.ID, name)
		if err != nil {
			return err
		}
		if taken {
			if is.IfNotExists {
				return ec.notice("42P07", "relation \""+name+"\" already exists, skipping")
			}
			return pgerror.Newf(pgcode.DuplicateTable, "relation %q already exists", name)
		}
		ix := catalog.IndexDescriptor{Name: name, Unique: is.Unique, Options: options}
		for _, cn := range colNames {
			col := t.ColumnByName(cn)
			if col == nil || col.Hidden {
				return pgerror.Newf(pgcode.UndefinedColumn, "column %q does not exist", cn)
			}
			if col.Type.OID == oidJSON {
				return pgerror.New(pgcode.UndefinedObject, "data type json has no default operator class for access method \"btree\"")
			}
			ix.Columns = append(ix.Columns, col.ID)
		}
		return addIndex(ec, t, ix)
	}), nil
}

// indexOption returns PostgreSQL's indoption bits of an index column: 1
// for DESC and 2 for NULLS FIRST, which DESC implies unless NULLS LAST is
// given.
func indexOption(elem *pg_query.IndexElem) int16 {
	var option int16
	desc := elem.Ordering == pg_query.SortByDir_SORTBY_DESC
	if desc {
		option |= 1
	}
	switch elem.NullsOrdering {
	case pg_query.SortByNulls_SORTBY_NULLS_FIRST:
		option |= 2
	case pg_query.SortByNulls_SORTBY_NULLS_DEFAULT:
		if desc {
			option |= 2
		}
	}
	return option
}

// addIndex stores a new index of t and writes the entries of its rows.
func addIndex(ec *evalContext, t *catalog.TableDescriptor, ix catalog.IndexDescriptor) error {
	desc := *t
	desc.Indexes = append([]catalog.IndexDescriptor(nil), t.Indexes...)
	added := desc.AddIndex(ix)
	codec := newRowCodec(&desc)
	var ic *indexCodec
	for _, c := range codec.indexCodecs() {
		if c.desc.ID == added.ID {
			ic = c
		}
	}
	if err := backfillIndex(ec.sess.txn.kv, codec, ic); err != nil {
		return err
	}
	return ec.sess.srv.cat.PutTable(ec.sess.txn.kv, &desc)
}

// backfillIndex writes the entries of every stored row into one index.
func backfillIndex(txn kv.Txn, codec *rowCodec, ic *indexCodec) error {
	rows, err := readStoredRows(txn, codec)
	if err != nil {
		return err
	}
	single := &rowCodec{table: codec.table, colIndex: codec.colIndex, keyCols: codec.keyCols, prefix: codec.prefix, perUser: codec.perUser, indexes: []*indexCodec{ic}}
	for _, p := range rows {
		if err := single.putIndexEntries(txn, p.row, p.owner); err != nil {
			if pgerror.HasCode(err, pgcode.UniqueViolation) {
				pe, _ := pgerror.Flatten(err)
				return pgerror.Newf(pgcode.UniqueViolation, "could not create unique index %q", ic.desc.Name).
					WithDetail(strings.Replace(pe.Detail, "already exists", "is duplicated", 1))
			}
			return err
		}
	}
	return nil
}

// defaultIndexName names an index as PostgreSQL does: table_columns_idx,
// or table_columns_key for a unique constraint.
func defaultIndexName(table string, cols []string, unique bool) string {
	suffix := "idx"
	if unique {
		suffix = "key"
	}
	return table + "_" + strings.Join(cols, "_") + "_" + suffix
}

// indexNameTaken reports whether a table, view or index of the schema has
// the name: they share one namespace, as in PostgreSQL.
func indexNameTaken(ec *evalContext, schemaID uint32, name string) (bool, error) {
	_, t, err := findIndex(ec.sess.srv.cat, ec.sess.txn.kv, schemaID, name)
	if err != nil || t != nil {
		return t != nil, err
	}
	tables, err := ec.sess.srv.cat.Tables(ec.sess.txn.kv, schemaID)
	if err != nil {
		return false, err
	}
	for _, t := range tables {
		if primaryKeyIndex(t) && t.PrimaryKeyConstraint() == name {
			return true, nil
		}
	}
	t, err = ec.sess.srv.cat.Table(ec.sess.txn.kv, schemaID, name)
	return t != nil, err
}

// findIndex returns the index of the schema with the given name and its
// table, or nils.
func findIndex(cat *catalog.Catalog, txn kv.Txn, schemaID uint32, name string) (*catalog.IndexDescriptor, *catalog.TableDescriptor, error) {
	tables, err := cat.Tables(txn, schemaID)
	if err != nil {
		return nil, nil, err
	}
	for _, t := range tables {
		if ix := t.IndexByName(name); ix != nil {
			return ix, t, nil
		}
	}
	return nil, nil, nil
}

// planDropIndexes handles DROP INDEX [IF EXISTS] names.
func (a *analyser) planDropIndexes(ds *pg_query.DropStmt) (*plan, error) {
	if err := security.CheckDDL(subjectOf(a.subject()), "drop index", ""); err != nil {
		return nil, err
	}
	var names [][]string
	for _, obj := range ds.Objects {
		var parts []string
		for _, p := range obj.GetList().Items {
			parts = append(parts, p.GetString_().GetSval())
		}
		names = append(names, parts)
	}
	return writePlan("DROP INDEX", func(ec *evalContext) error {
		s := ec.sess
		cat := s.srv.cat
		txn := s.txn.kv
		for _, parts := range names {
			name := parts[len(parts)-1]
			schemas := s.searchPath()
			if len(parts) > 1 {
				schemas = []string{parts[len(parts)-2]}
			}
			var ix *catalog.IndexDescriptor
			var t *catalog.TableDescriptor
			for _, sn := range schemas {
				schema, err := cat.Schema(txn, sn)
				if err != nil {
					return err
				}
				if schema == nil || schema.Virtual {
					continue
				}
				if ix, t, err = findIndex(cat, txn, schema.ID, name); err != nil {
					return err
				}
				if ix != nil {
					break
				}
			}
			if ix == nil {
				if ds.MissingOk {
					if err := ec.notice("00000", "index \""+name+"\" does not exist, skipping"); err != nil {
						return err
					}
					continue
				}
				return pgerror.Newf(pgcode.UndefinedObject, "index %q does not exist", name)
			}
			if ix.Constraint {
				return pgerror.Newf(pgcode.DependentObjectsStillExist, "cannot drop index %s because constraint %s on table %s requires it", name, name, t.Name).
					WithHint(fmt.Sprintf("You can drop constraint %s on table %s instead.", name, t.Name))
			}
			if err := dropIndex(cat, txn, t, ix.ID); err != nil {
				return err
			}
		}
		return nil
	}), nil
}

// dropIndex removes an index's entries and its descriptor.
func dropIndex(cat *catalog.Catalog, txn kv.Txn, t *catalog.TableDescriptor, indexID uint32) error {
	if err := deleteIndexEntries(txn, t, indexID); err != nil {
		return err
	}
	desc := *t
	desc.Indexes = nil
	for _, ix := range t.Indexes {
		if ix.ID != indexID {
			desc.Indexes = append(desc.Indexes, ix)
		}
	}
	return cat.PutTable(txn, &desc)
}
