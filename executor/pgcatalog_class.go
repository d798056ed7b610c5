package executor

import (
	"strings"

	"github.com/pgkeep/pgkeep/catalog"
)

// Access method OIDs of PostgreSQL: heap for tables, btree for indexes.
const (
	amHeap  = 2
	amBtree = 403
	// collationDefault and collationC are pg_collation OIDs.
	collationDefault = 100
	collationC       = 950
)

func pgNamespaceRows(ec *evalContext, out *catalogRows) error {
	snap, err := readCatalogSnapshot(ec)
	if err != nil {
		return err
	}
	for _, s := range snap.schemas {
		out.add(map[string]any{"oid": int64(s.ID), "nspname": s.Name, "nspowner": int64(s.OwnerID())})
	}
	return nil
}

func pgClassRows(ec *evalContext, out *catalogRows) error {
	snap, err := readCatalogSnapshot(ec)
	if err != nil {
		return err
	}
	// PostgreSQL enforces a foreign key with triggers on both tables, and
	// psql looks for foreign keys only where relhastriggers is set.
	hasTriggers := map[uint32]bool{}
	for _, t := range snap.tables {
		for _, fk := range t.ForeignKeys {
			hasTriggers[t.ID], hasTriggers[fk.RefTable] = true, true
		}
	}
	for _, t := range snap.tables {
		kind := catalogRelkind(t)
		indexes := tableIndexes(t)
		persistence := "p"
		if sc := snap.schemaByID[t.SchemaID]; sc != nil && sc.Temporary {
			persistence = "t"
		}
		row := map[string]any{
			"oid": int64(t.ID), "relname": t.Name, "relnamespace": int64(t.SchemaID), "relowner": int64(t.Owner),
			"relfilenode": int64(t.ID), "reltuples": float64(-1), "relhasindex": len(indexes) > 0,
			"relpersistence": persistence, "relkind": kind, "relnatts": int64(len(visibleColumns(t))), "relispopulated": true,
			"relreplident": "d", "relchecks": int64(len(t.Checks)), "relhastriggers": hasTriggers[t.ID],
		}
		if kind == "v" {
			row["relhasrules"] = true
			row["relreplident"] = "n"
			row["relfilenode"] = int64(0)
		} else {
			row["relam"] = int64(amHeap)
		}
		out.add(row)
		for _, ix := range indexes {
			out.add(map[string]any{
				"oid": indexOID(t.ID, ix.id), "relname": ix.name, "relnamespace": int64(t.SchemaID), "relowner": int64(t.Owner),
				"relam": int64(amBtree), "relfilenode": indexOID(t.ID, ix.id), "reltuples": float64(0), "relpersistence": "p",
				"relkind": "i", "relnatts": int64(len(ix.columns)), "relispopulated": true, "relreplident": "n",
			})
		}
		for _, c := range visibleColumns(t) {
			if !hasSequence(c) || kind != "r" || t.Kind == catalog.TableKindSystem {
				continue
			}
			out.add(map[string]any{
				"oid": sequenceOID(t.ID, c.ID), "relname": catalog.ColumnSequenceName(t, c), "relnamespace": int64(t.SchemaID),
				"relowner": int64(t.Owner), "relfilenode": sequenceOID(t.ID, c.ID), "reltuples": float64(1), "relpersistence": "p",
				"relkind": "S", "relnatts": int64(3), "relispopulated": true, "relreplident": "n",
			})
		}
	}
	return nil
}

// typeCollation returns the collation OID of a column type: default for
// the collatable string types, C for name, none for the others.
func typeCollation(oid uint32) int64 {
	if t := typeByOID[oid]; t != nil {
		return int64(t.collation)
	}
	return 0
}

func pgAttributeRows(ec *evalContext, out *catalogRows) error {
	snap, err := readCatalogSnapshot(ec)
	if err != nil {
		return err
	}
	for _, t := range snap.tables {
		for _, c := range visibleColumns(t) {
			out.add(attributeRow(int64(t.ID), c.ID, c))
		}
		for _, ix := range tableIndexes(t) {
			for i, id := range ix.columns {
				if c := t.ColumnByID(id); c != nil {
					row := attributeRow(indexOID(t.ID, ix.id), uint32(i+1), c)
					row["attnotnull"], row["atthasdef"], row["attidentity"] = false, false, ""
					out.add(row)
				}
			}
		}
	}
	return nil
}

func attributeRow(relID int64, attnum uint32, c *catalog.ColumnDescriptor) map[string]any {
	identity := ""
	switch {
	case c.Serial:
	case c.Identity == catalog.IdentityAlways:
		identity = "a"
	case c.Identity == catalog.IdentityByDefault:
		identity = "d"
	}
	length, byValue, align, storage := int64(-1), false, "i", "x"
	if t := typeByOID[c.Type.OID]; t != nil {
		length, byValue, align, storage = int64(t.length), t.byValue, string(t.align), string(t.storage)
	}
	return map[string]any{
		"attrelid": relID, "attname": c.Name, "atttypid": int64(c.Type.OID), "attstattarget": int64(-1),
		"attlen": length, "attnum": int64(attnum), "attcacheoff": int64(-1), "atttypmod": int64(c.Type.TypMod),
		"attbyval": byValue, "attalign": align, "attstorage": storage, "attnotnull": c.NotNull,
		"atthasdef": c.Default != "" || c.Serial, "attidentity": identity, "attislocal": true,
		"attcollation": typeCollation(c.Type.OID),
	}
}

// columnDefault returns the default expression of a column as
// pg_get_expr renders it, or "" for none. The sequence of a serial column
// is schema-qualified unless its schema is on the search_path.
func columnDefault(ec *evalContext, snap *catalogSnapshot, t *catalog.TableDescriptor, c *catalog.ColumnDescriptor) string {
	if c.Serial {
		name := relationName(ec, snap, uint32(sequenceOID(t.ID, c.ID)))
		return "nextval('" + strings.ReplaceAll(name, "'", "''") + "'::regclass)"
	}
	if c.Default == "" {
		return ""
	}
	return defaultDefinition(ec.sess.location(), t, c)
}

func pgAttrdefRows(ec *evalContext, out *catalogRows) error {
	snap, err := readCatalogSnapshot(ec)
	if err != nil {
		return err
	}
	for _, t := range snap.tables {
		for _, c := range visibleColumns(t) {
			if def := columnDefault(ec, snap, t, c); def != "" {
				out.add(map[string]any{"oid": attrdefOID(t.ID, c.ID), "adrelid": int64(t.ID), "adnum": int64(c.ID), "adbin": def})
			}
		}
	}
	return nil
}

func pgIndexRows(ec *evalContext, out *catalogRows) error {
	snap, err := readCatalogSnapshot(ec)
	if err != nil {
		return err
	}
	for _, t := range snap.tables {
		for _, ix := range tableIndexes(t) {
			collations := make([]uint32, len(ix.columns))
			zeros := make([]uint32, len(ix.columns))
			options := make([]uint32, len(ix.columns))
			for i, o := range ix.options {
				options[i] = uint32(o)
			}
			for i, id := range ix.columns {
				if c := t.ColumnByID(id); c != nil {
					collations[i] = uint32(typeCollation(c.Type.OID))
				}
			}
			out.add(map[string]any{
				"indexrelid": indexOID(t.ID, ix.id), "indrelid": int64(t.ID), "indnatts": int64(len(ix.columns)),
				"indnkeyatts": int64(len(ix.columns)), "indisunique": ix.unique, "indisprimary": ix.primary,
				"indimmediate": true, "indisvalid": true, "indisready": true, "indislive": true,
				"indkey": int2vector(ix.columns), "indcollation": int2vector(collations), "indclass": int2vector(zeros),
				"indoption": int2vector(options),
			})
		}
	}
	return nil
}

func pgConstraintRows(ec *evalContext, out *catalogRows) error {
	snap, err := readCatalogSnapshot(ec)
	if err != nil {
		return err
	}
	for _, t := range snap.tables {
		for _, ix := range tableIndexes(t) {
			if !ix.constraint {
				continue
			}
			kind := "u"
			if ix.primary {
				kind = "p"
			}
			key := make([]any, len(ix.columns))
			for i, id := range ix.columns {
				key[i] = int64(id)
			}
			out.add(map[string]any{
				"oid": indexOID(t.ID, ix.id), "conname": ix.name, "connamespace": int64(t.SchemaID), "contype": kind,
				"convalidated": true, "conrelid": int64(t.ID), "conindid": indexOID(t.ID, ix.id),
				"confupdtype": " ", "confdeltype": " ", "confmatchtype": " ", "conislocal": true, "connoinherit": true,
				"conkey": key,
			})
		}
		addFKAndCheckRows(snap, t, out)
	}
	return nil
}

// catalogSequence is a sequence as the catalog tables show it: a named
// sequence, or the implicit sequence of a serial or identity column, whose
// descriptor catalog.ColumnSequence builds.
type catalogSequence struct {
	oid  int64
	desc *catalog.TableDescriptor
	// table is the table whose access governs the sequence: the sequence
	// itself, or the table of its column.
	table *catalog.TableDescriptor
}

// catalogSequences lists the sequences of the snapshot's tables.
func catalogSequences(snap *catalogSnapshot) []catalogSequence {
	var out []catalogSequence
	for _, t := range snap.tables {
		switch {
		case t.Kind == catalog.TableKindSequence:
			out = append(out, catalogSequence{oid: int64(t.ID), desc: t, table: t})
		case catalogRelkind(t) == "r" && t.Kind != catalog.TableKindSystem:
			for _, c := range visibleColumns(t) {
				if hasSequence(c) {
					out = append(out, catalogSequence{oid: sequenceOID(t.ID, c.ID), desc: catalog.ColumnSequence(t, c), table: t})
				}
			}
		}
	}
	return out
}

func pgSequenceRows(ec *evalContext, out *catalogRows) error {
	snap, err := readCatalogSnapshot(ec)
	if err != nil {
		return err
	}
	for _, seq := range catalogSequences(snap) {
		o := seq.desc.Sequence
		out.add(map[string]any{
			"seqrelid": seq.oid, "seqtypid": int64(o.TypeOID), "seqstart": o.Start, "seqincrement": o.Increment,
			"seqmax": o.Max, "seqmin": o.Min, "seqcache": o.Cache, "seqcycle": o.Cycle,
		})
	}
	return nil
}

// pgSequencesRows fills pg_sequences. last_value is NULL until nextval or
// setval has given the sequence a value, as in PostgreSQL.
func pgSequencesRows(ec *evalContext, out *catalogRows) error {
	snap, err := readCatalogSnapshot(ec)
	if err != nil {
		return err
	}
	owners := map[uint32]string{}
	for _, seq := range catalogSequences(snap) {
		owner, err := ownerName(ec.sess.srv.cat, ec.sess.txn.kv, owners, seq.desc.Owner)
		if err != nil {
			return err
		}
		last, _, called, err := ec.sess.srv.cat.SequenceState(seq.desc)
		if err != nil {
			return err
		}
		var lastValue any
		if called {
			lastValue = last
		}
		o := seq.desc.Sequence
		out.add(map[string]any{
			"schemaname": snap.schemaName(seq.desc.SchemaID), "sequencename": seq.desc.Name, "sequenceowner": owner,
			"data_type": int64(o.TypeOID), "start_value": o.Start, "min_value": o.Min, "max_value": o.Max,
			"increment_by": o.Increment, "cycle": o.Cycle, "cache_size": o.Cache, "last_value": lastValue,
		})
	}
	return nil
}

// infoSequencesRows fills information_schema.sequences with the sequences
// whose table the role may read, except those of identity columns.
func infoSequencesRows(ec *evalContext, out *catalogRows) error {
	snap, err := readCatalogSnapshot(ec)
	if err != nil {
		return err
	}
	readable := map[*catalog.TableDescriptor]bool{}
	for _, t := range readableTables(ec, snap) {
		readable[t] = true
	}
	for _, seq := range catalogSequences(snap) {
		if !readable[seq.table] {
			continue
		}
		o := seq.desc.Sequence
		// Like PostgreSQL, the view leaves out the sequences of identity
		// columns.
		if c := seq.table.ColumnByID(o.Column); o.Column != 0 && c != nil && !c.Serial {
			continue
		}
		precision := int64(64)
		switch o.TypeOID {
		case oidInt2:
			precision = 16
		case oidInt4:
			precision = 32
		}
		out.add(map[string]any{
			"sequence_catalog": ec.sess.database, "sequence_schema": snap.schemaName(seq.desc.SchemaID), "sequence_name": seq.desc.Name,
			"data_type": typeName(o.TypeOID), "numeric_precision": precision, "numeric_precision_radix": int64(2), "numeric_scale": int64(0),
			"start_value": itoa(o.Start), "minimum_value": itoa(o.Min), "maximum_value": itoa(o.Max),
			"increment": itoa(o.Increment), "cycle_option": yesNo(o.Cycle),
		})
	}
	return nil
}

func pgTablesRows(ec *evalContext, out *catalogRows) error {
	return ownedRelationRows(ec, func(snap *catalogSnapshot, t *catalog.TableDescriptor, owner any) {
		if catalogRelkind(t) != "r" {
			return
		}
		out.add(map[string]any{
			"schemaname": snap.schemaName(t.SchemaID), "tablename": t.Name, "tableowner": owner,
			"hasindexes": len(tableIndexes(t)) > 0,
		})
	})
}

func pgViewsRows(ec *evalContext, out *catalogRows) error {
	return ownedRelationRows(ec, func(snap *catalogSnapshot, t *catalog.TableDescriptor, owner any) {
		if t.Kind != catalog.TableKindView {
			return
		}
		out.add(map[string]any{"schemaname": snap.schemaName(t.SchemaID), "viewname": t.Name, "viewowner": owner, "definition": t.ViewQuery})
	})
}

func pgIndexesRows(ec *evalContext, out *catalogRows) error {
	return ownedRelationRows(ec, func(snap *catalogSnapshot, t *catalog.TableDescriptor, _ any) {
		for _, ix := range tableIndexes(t) {
			out.add(map[string]any{
				"schemaname": snap.schemaName(t.SchemaID), "tablename": t.Name, "indexname": ix.name,
				"indexdef": indexDefinition(snap, t, ix),
			})
		}
	})
}

// ownedRelationRows calls fn for every table with its owner's name.
func ownedRelationRows(ec *evalContext, fn func(*catalogSnapshot, *catalog.TableDescriptor, any)) error {
	snap, err := readCatalogSnapshot(ec)
	if err != nil {
		return err
	}
	owners := map[uint32]string{}
	for _, t := range snap.tables {
		owner, err := ownerName(ec.sess.srv.cat, ec.sess.txn.kv, owners, t.Owner)
		if err != nil {
			return err
		}
		fn(snap, t, owner)
	}
	return nil
}

// indexDefinition renders an index as pg_get_indexdef does.
func indexDefinition(snap *catalogSnapshot, t *catalog.TableDescriptor, ix catalogIndex) string {
	def := "CREATE INDEX "
	if ix.unique {
		def = "CREATE UNIQUE INDEX "
	}
	def += quoteIdentIfNeeded(ix.name) + " ON " + quoteIdentIfNeeded(snap.schemaName(t.SchemaID)) + "." + quoteIdentIfNeeded(t.Name) +
		" USING btree (" + indexColumnList(t, ix) + ")"
	return def
}

// indexColumnList renders an index's columns with their sort options, as
// pg_get_indexdef does.
func indexColumnList(t *catalog.TableDescriptor, ix catalogIndex) string {
	var b strings.Builder
	for i, id := range ix.columns {
		if i > 0 {
			b.WriteString(", ")
		}
		if c := t.ColumnByID(id); c != nil {
			b.WriteString(quoteIdentIfNeeded(c.Name))
		}
		if i >= len(ix.options) {
			continue
		}
		switch ix.options[i] {
		case 1:
			b.WriteString(" DESC NULLS LAST")
		case 2:
			b.WriteString(" NULLS FIRST")
		case 3:
			b.WriteString(" DESC")
		}
	}
	return b.String()
}

func columnList(t *catalog.TableDescriptor, ids []uint32) string {
	s := ""
	for i, id := range ids {
		if i > 0 {
			s += ", "
		}
		if c := t.ColumnByID(id); c != nil {
			s += quoteIdentIfNeeded(c.Name)
		}
	}
	return s
}

// constraintDefinition renders a primary key or unique constraint as
// pg_get_constraintdef does.
func constraintDefinition(t *catalog.TableDescriptor, ix catalogIndex) string {
	if ix.primary {
		return "PRIMARY KEY (" + columnList(t, ix.columns) + ")"
	}
	return "UNIQUE (" + columnList(t, ix.columns) + ")"
}
