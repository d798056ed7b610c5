package executor

import (
	"slices"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/pgkeep/pgkeep/catalog"
)

// The information_schema constraint views show the constraints of the
// ordinary tables the acting user may read. PostgreSQL 15 shows them only
// to the table's owner and to roles with a privilege other than SELECT on
// the table, so a role that may only read a table gets more rows here than
// in PostgreSQL.

// constraintScope is the part of the catalog the constraint views show.
type constraintScope struct {
	snap *catalogSnapshot
	// tables are the ordinary tables the acting user may read, in catalog
	// order.
	tables   []*catalog.TableDescriptor
	readable map[uint32]bool
}

func readConstraintScope(ec *evalContext) (*constraintScope, error) {
	snap, err := readCatalogSnapshot(ec)
	if err != nil {
		return nil, err
	}
	cs := &constraintScope{snap: snap, readable: map[uint32]bool{}}
	for _, t := range readableTables(ec, snap) {
		if t.Kind == catalog.TableKindSystem || catalogRelkind(t) != "r" {
			continue
		}
		cs.tables = append(cs.tables, t)
		cs.readable[t.ID] = true
	}
	return cs, nil
}

// constraintRow starts a row of a constraint view with the constraint's
// and the table's names, both in the table's schema.
func (cs *constraintScope) constraintRow(ec *evalContext, t *catalog.TableDescriptor, name string) map[string]any {
	schema := cs.snap.schemaName(t.SchemaID)
	return map[string]any{
		"constraint_catalog": ec.sess.database, "constraint_schema": schema, "constraint_name": name,
		"table_catalog": ec.sess.database, "table_schema": schema, "table_name": t.Name,
	}
}

// notNullConstraintName is the name PostgreSQL 15's information_schema
// gives the NOT NULL constraint of a column: schema OID, table OID and
// column number joined by underscores, then "_not_null". It depends on
// OIDs, so it differs between pgkeep and PostgreSQL for the same schema.
func notNullConstraintName(t *catalog.TableDescriptor, c *catalog.ColumnDescriptor) string {
	return itoa(int64(t.SchemaID)) + "_" + itoa(int64(t.ID)) + "_" + itoa(int64(c.ID)) + "_not_null"
}

// notNullColumns returns the visible NOT NULL columns of t.
func notNullColumns(t *catalog.TableDescriptor) []*catalog.ColumnDescriptor {
	var out []*catalog.ColumnDescriptor
	for _, c := range visibleColumns(t) {
		if c.NotNull {
			out = append(out, c)
		}
	}
	return out
}

// referencedIndex returns the unique index of the parent table that
// enforces the referenced columns of fk, as catalogIndex.
func referencedIndex(parent *catalog.TableDescriptor, fk catalog.ForeignKey) (catalogIndex, bool) {
	for _, ix := range tableIndexes(parent) {
		if ix.unique && sameColumnSet(ix.columns, fk.RefColumns) {
			return ix, true
		}
	}
	return catalogIndex{}, false
}

func infoTableConstraintsRows(ec *evalContext, out *catalogRows) error {
	cs, err := readConstraintScope(ec)
	if err != nil {
		return err
	}
	add := func(t *catalog.TableDescriptor, name, kind string, nullsDistinct any) {
		row := cs.constraintRow(ec, t, name)
		row["constraint_type"] = kind
		row["is_deferrable"], row["initially_deferred"], row["enforced"] = "NO", "NO", "YES"
		row["nulls_distinct"] = nullsDistinct
		out.add(row)
	}
	for _, t := range cs.tables {
		for _, ix := range tableIndexes(t) {
			switch {
			case !ix.constraint:
			case ix.primary:
				add(t, ix.name, "PRIMARY KEY", nil)
			default:
				add(t, ix.name, "UNIQUE", "YES")
			}
		}
		for _, fk := range t.ForeignKeys {
			add(t, fk.Name, "FOREIGN KEY", nil)
		}
		for _, c := range t.Checks {
			add(t, c.Name, "CHECK", nil)
		}
		for _, c := range notNullColumns(t) {
			add(t, notNullConstraintName(t, c), "CHECK", nil)
		}
	}
	return nil
}

func infoKeyColumnUsageRows(ec *evalContext, out *catalogRows) error {
	cs, err := readConstraintScope(ec)
	if err != nil {
		return err
	}
	for _, t := range cs.tables {
		for _, ix := range tableIndexes(t) {
			if !ix.constraint {
				continue
			}
			for i, id := range ix.columns {
				row := cs.constraintRow(ec, t, ix.name)
				row["column_name"] = columnName(t, id)
				row["ordinal_position"] = int64(i + 1)
				out.add(row)
			}
		}
		for _, fk := range t.ForeignKeys {
			var uniqueColumns []uint32
			if parent := cs.snap.tableByID[fk.RefTable]; parent != nil {
				if ix, ok := referencedIndex(parent, fk); ok {
					uniqueColumns = ix.columns
				}
			}
			for i, id := range fk.Columns {
				row := cs.constraintRow(ec, t, fk.Name)
				row["column_name"] = columnName(t, id)
				row["ordinal_position"] = int64(i + 1)
				if pos := slices.Index(uniqueColumns, fk.RefColumns[i]); pos >= 0 {
					row["position_in_unique_constraint"] = int64(pos + 1)
				}
				out.add(row)
			}
		}
	}
	return nil
}

// fkRuleNames are the foreign key actions as referential_constraints
// names them.
var fkRuleNames = map[string]string{
	catalog.FKNoAction:   "NO ACTION",
	catalog.FKRestrict:   "RESTRICT",
	catalog.FKCascade:    "CASCADE",
	catalog.FKSetNull:    "SET NULL",
	catalog.FKSetDefault: "SET DEFAULT",
}

func infoReferentialConstraintsRows(ec *evalContext, out *catalogRows) error {
	cs, err := readConstraintScope(ec)
	if err != nil {
		return err
	}
	for _, t := range cs.tables {
		schema := cs.snap.schemaName(t.SchemaID)
		for _, fk := range t.ForeignKeys {
			row := map[string]any{
				"constraint_catalog": ec.sess.database, "constraint_schema": schema, "constraint_name": fk.Name,
				"match_option": "NONE", "update_rule": fkRuleNames[fk.OnUpdate], "delete_rule": fkRuleNames[fk.OnDelete],
			}
			// The standard calls MATCH SIMPLE NONE.
			if fk.Match == catalog.FKMatchFull {
				row["match_option"] = "FULL"
			}
			// A key that references a unique index without a constraint
			// leaves the unique_constraint columns NULL, as in PostgreSQL.
			if parent := cs.snap.tableByID[fk.RefTable]; parent != nil {
				if ix, ok := referencedIndex(parent, fk); ok && ix.constraint {
					row["unique_constraint_catalog"] = ec.sess.database
					row["unique_constraint_schema"] = cs.snap.schemaName(parent.SchemaID)
					row["unique_constraint_name"] = ix.name
				}
			}
			out.add(row)
		}
	}
	return nil
}

// infoConstraintColumnUsageRows lists the columns each constraint uses:
// the key columns of primary keys and unique constraints, the referenced
// columns of foreign keys (under the referenced table) and the columns a
// CHECK condition reads.
func infoConstraintColumnUsageRows(ec *evalContext, out *catalogRows) error {
	cs, err := readConstraintScope(ec)
	if err != nil {
		return err
	}
	add := func(t, owner *catalog.TableDescriptor, constraint string, columns []uint32) {
		for _, id := range columns {
			row := cs.constraintRow(ec, t, constraint)
			row["constraint_schema"] = cs.snap.schemaName(owner.SchemaID)
			row["column_name"] = columnName(t, id)
			out.add(row)
		}
	}
	for _, t := range cs.tables {
		for _, ix := range tableIndexes(t) {
			if ix.constraint {
				add(t, t, ix.name, ix.columns)
			}
		}
		for _, fk := range t.ForeignKeys {
			if parent := cs.snap.tableByID[fk.RefTable]; parent != nil && cs.readable[parent.ID] {
				add(parent, t, fk.Name, fk.RefColumns)
			}
		}
		for _, c := range t.Checks {
			add(t, t, c.Name, checkColumns(t, c))
		}
	}
	return nil
}

// infoConstraintTableUsageRows lists the tables that primary keys, unique
// constraints and foreign keys use: their own table, and for a foreign key
// the referenced table.
func infoConstraintTableUsageRows(ec *evalContext, out *catalogRows) error {
	cs, err := readConstraintScope(ec)
	if err != nil {
		return err
	}
	add := func(t, owner *catalog.TableDescriptor, constraint string) {
		row := cs.constraintRow(ec, t, constraint)
		row["constraint_schema"] = cs.snap.schemaName(owner.SchemaID)
		out.add(row)
	}
	for _, t := range cs.tables {
		for _, ix := range tableIndexes(t) {
			if ix.constraint {
				add(t, t, ix.name)
			}
		}
		for _, fk := range t.ForeignKeys {
			if parent := cs.snap.tableByID[fk.RefTable]; parent != nil && cs.readable[parent.ID] {
				add(parent, t, fk.Name)
			}
		}
	}
	return nil
}

// infoCheckConstraintsRows lists the CHECK constraints and, as PostgreSQL
// 15 does, one "col IS NOT NULL" constraint per NOT NULL column.
func infoCheckConstraintsRows(ec *evalContext, out *catalogRows) error {
	cs, err := readConstraintScope(ec)
	if err != nil {
		return err
	}
	for _, t := range cs.tables {
		schema := cs.snap.schemaName(t.SchemaID)
		add := func(name, clause string) {
			out.add(map[string]any{
				"constraint_catalog": ec.sess.database, "constraint_schema": schema, "constraint_name": name, "check_clause": clause,
			})
		}
		for _, c := range t.Checks {
			// check_clause is pg_get_constraintdef without its "CHECK ".
			add(c.Name, checkDefinition(ec.sess.location(), t, c, false)[len("CHECK "):])
		}
		for _, c := range notNullColumns(t) {
			// PostgreSQL does not quote the column name here.
			add(notNullConstraintName(t, c), c.Name+" IS NOT NULL")
		}
	}
	return nil
}

func columnName(t *catalog.TableDescriptor, id uint32) any {
	if c := t.ColumnByID(id); c != nil {
		return c.Name
	}
	return nil
}

// checkColumns returns the IDs of the columns that the condition of a
// CHECK constraint reads, each once, in the order the condition first
// names them.
func checkColumns(t *catalog.TableDescriptor, c catalog.CheckConstraint) []uint32 {
	tree, err := pg_query.Parse("SELECT " + c.Expr)
	if err != nil {
		return nil
	}
	var ids []uint32
	walkMessages(tree.ProtoReflect(), func(m protoreflect.Message) {
		ref, ok := m.Interface().(*pg_query.ColumnRef)
		if !ok || len(ref.Fields) == 0 {
			return
		}
		name := ref.Fields[len(ref.Fields)-1].GetString_().GetSval()
		if col := t.ColumnByName(name); col != nil && !slices.Contains(ids, col.ID) {
			ids = append(ids, col.ID)
		}
	})
	return ids
}
