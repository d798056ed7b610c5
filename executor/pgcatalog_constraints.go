package executor

import (
	"strings"

	"github.com/pgkeep/pgkeep/catalog"
)

// Foreign key and CHECK constraints have no index, so their pg_constraint
// OIDs take index numbers that real indexes do not reach: foreign key i
// of a table is index number 0x400+i and CHECK constraint i is 0x600+i.
//
// NOTE: a table with more than 1023 indexes, 512 foreign keys or 512
// CHECK constraints would reuse OIDs.
const (
	fkConstraintBase    = 0x400
	checkConstraintBase = 0x600
)

func fkConstraintOID(tableID uint32, i int) int64 {
	return indexOID(tableID, fkConstraintBase+uint32(i))
}

func checkConstraintOID(tableID uint32, i int) int64 {
	return indexOID(tableID, checkConstraintBase+uint32(i))
}

// fkOrCheckByOID returns the definition of the foreign key or CHECK
// constraint with the given OID, as pg_get_constraintdef prints it, or ""
// when there is none.
func fkOrCheckByOID(ec *evalContext, snap *catalogSnapshot, oid uint32, pretty bool) string {
	if oid&0xC0000000 != 0x80000000 {
		return ""
	}
	t, id := relationByOID(snap, oid)
	if t == nil {
		return ""
	}
	switch {
	case id >= checkConstraintBase && int(id-checkConstraintBase) < len(t.Checks):
		return checkDefinition(ec.sess.location(), t, t.Checks[id-checkConstraintBase], pretty)
	case id >= fkConstraintBase && id < checkConstraintBase && int(id-fkConstraintBase) < len(t.ForeignKeys):
		return fkDefinition(ec, snap, t, t.ForeignKeys[id-fkConstraintBase])
	}
	return ""
}

// fkActionNames are the foreign key actions as pg_get_constraintdef prints
// them, without NO ACTION, which it leaves out.
var fkActionNames = map[string]string{
	catalog.FKRestrict:   "RESTRICT",
	catalog.FKCascade:    "CASCADE",
	catalog.FKSetNull:    "SET NULL",
	catalog.FKSetDefault: "SET DEFAULT",
}

// fkDefinition renders a foreign key: FOREIGN KEY (a) REFERENCES p(id)
// followed by the actions other than NO ACTION. The referenced table is
// schema-qualified unless the search_path finds it.
func fkDefinition(ec *evalContext, snap *catalogSnapshot, t *catalog.TableDescriptor, fk catalog.ForeignKey) string {
	parent := snap.tableByID[fk.RefTable]
	if parent == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString("FOREIGN KEY (" + columnList(t, fk.Columns) + ") REFERENCES ")
	b.WriteString(relationName(ec, snap, parent.ID) + "(" + columnList(parent, fk.RefColumns) + ")")
	if fk.Match == catalog.FKMatchFull {
		b.WriteString(" MATCH FULL")
	}
	if name, ok := fkActionNames[fk.OnUpdate]; ok {
		b.WriteString(" ON UPDATE " + name)
	}
	if name, ok := fkActionNames[fk.OnDelete]; ok {
		b.WriteString(" ON DELETE " + name)
	}
	return b.String()
}

// referencedIndexOID returns the OID of the index that enforces the
// referenced columns of fk: the parent's primary key or a unique index on
// the same columns, in any order.
func referencedIndexOID(parent *catalog.TableDescriptor, fk catalog.ForeignKey) int64 {
	for _, ix := range tableIndexes(parent) {
		if ix.unique && sameColumnSet(ix.columns, fk.RefColumns) {
			return indexOID(parent.ID, ix.id)
		}
	}
	return 0
}

// fkMatchType returns pg_constraint.confmatchtype of a foreign key.
func fkMatchType(fk catalog.ForeignKey) string {
	if fk.Match == "" {
		return catalog.FKMatchSimple
	}
	return fk.Match
}

func int2Array(ids []uint32) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = int64(id)
	}
	return out
}

// addFKAndCheckRows adds the pg_constraint rows of t's foreign keys and
// CHECK constraints.
func addFKAndCheckRows(snap *catalogSnapshot, t *catalog.TableDescriptor, out *catalogRows) {
	for i, fk := range t.ForeignKeys {
		parent := snap.tableByID[fk.RefTable]
		if parent == nil {
			continue
		}
		out.add(map[string]any{
			"oid": fkConstraintOID(t.ID, i), "conname": fk.Name, "connamespace": int64(t.SchemaID), "contype": "f",
			"convalidated": true, "conrelid": int64(t.ID), "conindid": referencedIndexOID(parent, fk),
			"confrelid": int64(parent.ID), "confupdtype": fk.OnUpdate, "confdeltype": fk.OnDelete, "confmatchtype": fkMatchType(fk),
			"conislocal": true, "connoinherit": true, "conkey": int2Array(fk.Columns), "confkey": int2Array(fk.RefColumns),
		})
	}
	for i, c := range t.Checks {
		out.add(map[string]any{
			"oid": checkConstraintOID(t.ID, i), "conname": c.Name, "connamespace": int64(t.SchemaID), "contype": "c",
			"convalidated": true, "conrelid": int64(t.ID), "confupdtype": " ", "confdeltype": " ", "confmatchtype": " ",
			"conislocal": true, "connoinherit": false,
		})
	}
}
