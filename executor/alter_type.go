package executor

import (
	"fmt"
	"slices"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// alterColumnType handles ALTER COLUMN c [SET DATA] TYPE newtype [USING
// expr]. It converts every stored value with the assignment cast from the
// old type, or with the USING expression, and stores the rows again, which
// rebuilds the primary key and the secondary indexes on the new values.
func (alt *tableAlteration) alterColumnType(name string, def *pg_query.ColumnDef) error {
	t := alt.t
	col, err := alt.column(name)
	if err != nil {
		return err
	}
	if def.CollClause != nil {
		return pgerror.NotSupported("COLLATE")
	}
	typ, serial, err := resolveTypeName(def.TypeName)
	if err != nil {
		return err
	}
	if serial {
		return pgerror.Newf(pgcode.UndefinedObject, "type %q does not exist", typeNameText(def.TypeName))
	}
	if err := alt.checkTypeChangeAllowed(col, typ); err != nil {
		return err
	}

	from := cloneTable(t)
	conv, err := alt.conversion(from, col.Name, typ, def.RawDefault)
	if err != nil {
		return err
	}
	col.Type = typ
	if col.Default != "" {
		if _, err := alt.an.compileDefault(*col); err != nil {
			if pgerror.HasCode(err, pgcode.DatatypeMismatch) {
				return pgerror.Newf(pgcode.DatatypeMismatch, "default for column %q cannot be cast automatically to type %s", col.Name, formatType(typ))
			}
			return err
		}
	}
	// CHECK constraints are compiled again over the new type, and like
	// PostgreSQL's re-added constraints they must hold for every row.
	for _, c := range t.Checks {
		if _, err := alt.an.compileCheck(t, c); err != nil {
			return err
		}
	}

	pos := slices.IndexFunc(t.Columns, func(c catalog.ColumnDescriptor) bool { return c.ID == col.ID })
	err = alt.rewriteRows(from, func(stored, row []any) error {
		v, err := conv.eval(alt.ec, stored)
		row[pos] = v
		return err
	})
	if err != nil {
		return err
	}
	for _, c := range t.Checks {
		if err := alt.validateCheck(c); err != nil {
			return err
		}
	}
	return nil
}

// checkTypeChangeAllowed rejects type changes that PostgreSQL rejects
// and those pgkeep does not support: columns in foreign keys or read by
// views, and serial columns that would leave the integer types.
func (alt *tableAlteration) checkTypeChangeAllowed(col *catalog.ColumnDescriptor, typ catalog.ColumnType) error {
	t := alt.t
	intType := isIntType(typ.OID) && typ.OID != oidOID && !isRegType(typ.OID)
	switch {
	case col.Serial && !intType:
		return pgerror.NotSupported("changing the type of a serial column to a type other than smallint, integer or bigint")
	case col.Identity != catalog.IdentityNone && !intType:
		return pgerror.New(pgcode.InvalidParameterValue, "identity column type must be smallint, integer, or bigint")
	}

	if typ.OID == oidJSON && alt.indexed(col.ID) {
		return pgerror.New(pgcode.UndefinedObject, "data type json has no default operator class for access method \"btree\"")
	}

	for _, fk := range t.ForeignKeys {
		i := slices.Index(fk.Columns, col.ID)
		if i < 0 {
			continue
		}
		parent := t
		if fk.RefTable != t.ID {
			var err error
			if parent, err = alt.ec.sess.srv.cat.TableByID(alt.ec.sess.txn.kv, fk.RefTable); err != nil {
				return err
			}
			if parent == nil {
				return pgerror.Internal("table of foreign key %q is gone", fk.Name)
			}
		}
		if err := fkTypesMatch(fk.Name, col.Name, typ, parent.ColumnByID(fk.RefColumns[i])); err != nil {
			return err
		}
		return pgerror.NotSupported(fmt.Sprintf("changing the type of column %q of foreign key %s", col.Name, fk.Name))
	}
	refs, err := alt.an.referencingFKs(t)
	if err != nil {
		return err
	}
	for _, ref := range refs {
		i := slices.Index(ref.fk.RefColumns, col.ID)
		if i < 0 {
			continue
		}
		child := ref.child.ColumnByID(ref.fk.Columns[i])
		if err := fkTypesMatch(ref.fk.Name, child.Name, child.Type, &catalog.ColumnDescriptor{Name: col.Name, Type: typ}); err != nil {
			return err
		}
		return pgerror.NotSupported(fmt.Sprintf("changing the type of column %q referenced by foreign key %s on table %s", col.Name, ref.fk.Name, ref.child.Name))
	}

	view, err := viewReadingColumn(alt.ec, t, col.Name)
	if err != nil {
		return err
	}
	if view != "" {
		return pgerror.New(pgcode.FeatureNotSupported, "cannot alter type of a column used by a view or rule").
			WithDetailf("rule _RETURN on view %s depends on column %q", view, col.Name)
	}
	return nil
}

// fkTypesMatch fails as PostgreSQL does when a foreign key column of type
// childType cannot be compared with the column it references.
func fkTypesMatch(fk, childColumn string, childType catalog.ColumnType, parent *catalog.ColumnDescriptor) error {
	if _, ok := commonType(childType.OID, parent.Type.OID); ok {
		return nil
	}
	return pgerror.Newf(pgcode.DatatypeMismatch, "foreign key constraint %q cannot be implemented", fk).
		WithDetailf("Key columns %q and %q are of incompatible types: %s and %s.", childColumn, parent.Name, formatType(childType), formatType(parent.Type))
}

// indexed reports whether a column is in the primary key or an index.
func (alt *tableAlteration) indexed(id uint32) bool {
	if slices.Contains(alt.t.PrimaryKey, id) {
		return true
	}
	return slices.ContainsFunc(alt.t.Indexes, func(ix catalog.IndexDescriptor) bool { return slices.Contains(ix.Columns, id) })
}

// conversion compiles the expression that computes a column's new value
// from a stored row of from: the USING expression, or the column itself,
// either cast to typ as an assignment would cast it.
func (alt *tableAlteration) conversion(from *catalog.TableDescriptor, column string, typ catalog.ColumnType, using *pg_query.Node) (expr, error) {
	b := &builder{sess: alt.ec.sess, scope: tableScope(from, from.Name), params: &paramTypes{}, clause: "transform expressions"}
	source := using
	if source == nil {
		source = &pg_query.Node{Node: &pg_query.Node_ColumnRef{ColumnRef: &pg_query.ColumnRef{Fields: []*pg_query.Node{pg_query.MakeStrNode(column)}}}}
	}
	e, err := b.build(source)
	if err != nil {
		return nil, err
	}
	if len(b.params.oids) > 0 {
		return nil, pgerror.Newf(pgcode.UndefinedParameter, "there is no parameter $%d", len(b.params.oids))
	}
	conv, err := b.coerceForAssignment(e, typ, column)
	if err == nil || !pgerror.HasCode(err, pgcode.DatatypeMismatch) {
		return conv, err
	}
	if using != nil {
		return nil, pgerror.Newf(pgcode.DatatypeMismatch, "result of USING clause for column %q cannot be cast automatically to type %s", column, formatType(typ)).
			WithHint("You might need to add an explicit cast.")
	}
	return nil, pgerror.Newf(pgcode.DatatypeMismatch, "column %q cannot be cast automatically to type %s", column, formatType(typ)).
		WithHint(fmt.Sprintf("You might need to specify \"USING %s::%s\".", quoteIdentIfNeeded(column), formatType(typ)))
}

// viewReadingColumn returns the name of a view whose query reads column
// of table t, or "". A view that selects * reads every column.
// NOTE: a column reference counts by its name alone, so a view that reads
// a column of the same name from another of its tables also counts.
func viewReadingColumn(ec *evalContext, t *catalog.TableDescriptor, column string) (string, error) {
	tables, err := ec.sess.srv.cat.StoredTables(ec.sess.txn.kv)
	if err != nil {
		return "", err
	}
	for _, v := range tables {
		if v.Kind != catalog.TableKindView {
			continue
		}
		tree, err := pg_query.Parse(v.ViewQuery)
		if err != nil {
			return "", pgerror.Internal("stored query of view %q does not parse: %v", v.Name, err)
		}
		readsTable, readsColumn := false, false
		walkMessages(tree.ProtoReflect(), func(m protoreflect.Message) {
			switch n := m.Interface().(type) {
			case *pg_query.RangeVar:
				readsTable = readsTable || n.Relname == t.Name
			case *pg_query.ColumnRef:
				if len(n.Fields) > 0 {
					last := n.Fields[len(n.Fields)-1]
					readsColumn = readsColumn || last.GetAStar() != nil || last.GetString_().GetSval() == column
				}
			}
		})
		if readsTable && readsColumn {
			return v.Name, nil
		}
	}
	return "", nil
}

// typeNameText joins the parts of a type name as written, without the
// pg_catalog schema the grammar adds to built-in names.
func typeNameText(tn *pg_query.TypeName) string {
	name := ""
	for _, n := range tn.Names {
		s := n.GetString_().GetSval()
		if s == "pg_catalog" && name == "" {
			continue
		}
		if name != "" {
			name += "."
		}
		name += s
	}
	return name
}
