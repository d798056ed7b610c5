package executor

import (
	"slices"
	"sort"
	"strings"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
)

// This file registers the virtual tables of pg_catalog and
// information_schema. Their columns are PostgreSQL 15's
// (pgcatalog_columns.go); their rows are generated from pgkeep's catalog.
//
// OIDs. A schema's OID is its ID and a table's OID is its table ID, so both
// are stable across restarts. Objects without an ID of their own get OIDs
// from the table ID and a small per-table number, in ranges that cannot meet
// the table IDs below 1<<29:
//
//	index         0x80000000 | table ID<<11 | index ID
//	sequence      0xC0000000 | table ID<<11 | column ID
//	column default 0x40000000 | table ID<<11 | column ID
//	function      0x20000000 + position in the sorted builtin list
//
// NOTE: the table and column or index parts stay apart only while table IDs
// are below 1<<19 and column and index IDs below 1<<11.

// catalogTable is one table of pg_catalog or information_schema.
type catalogTable struct {
	schema string
	name   string
	id     uint32
	// view marks tables that PostgreSQL defines as views (relkind 'v').
	view bool
	// rows appends the rows the acting user may see; nil for the tables
	// that pgkeep always leaves empty.
	rows func(ec *evalContext, out *catalogRows) error
}

// catalogTableList lists the tables in ID order: the first gets ID
// firstCatalogTableID, and IDs end below the system tables' IDs.
var catalogTableList = []catalogTable{
	{schema: "pg_catalog", name: "pg_namespace", rows: pgNamespaceRows},
	{schema: "pg_catalog", name: "pg_class", rows: pgClassRows},
	{schema: "pg_catalog", name: "pg_attribute", rows: pgAttributeRows},
	{schema: "pg_catalog", name: "pg_type", rows: pgTypeRows},
	{schema: "pg_catalog", name: "pg_index", rows: pgIndexRows},
	{schema: "pg_catalog", name: "pg_constraint", rows: pgConstraintRows},
	{schema: "pg_catalog", name: "pg_attrdef", rows: pgAttrdefRows},
	{schema: "pg_catalog", name: "pg_description"},
	{schema: "pg_catalog", name: "pg_database", rows: pgDatabaseRows},
	{schema: "pg_catalog", name: "pg_roles", view: true, rows: pgRolesRows},
	{schema: "pg_catalog", name: "pg_user", view: true, rows: pgRolesRows},
	{schema: "pg_catalog", name: "pg_authid", rows: pgAuthidRows},
	{schema: "pg_catalog", name: "pg_auth_members"},
	{schema: "pg_catalog", name: "pg_proc", rows: pgProcRows},
	{schema: "pg_catalog", name: "pg_am", rows: pgAmRows},
	{schema: "pg_catalog", name: "pg_collation", rows: pgCollationRows},
	{schema: "pg_catalog", name: "pg_inherits"},
	{schema: "pg_catalog", name: "pg_sequence", rows: pgSequenceRows},
	{schema: "pg_catalog", name: "pg_settings", view: true, rows: pgSettingsRows},
	{schema: "pg_catalog", name: "pg_tables", view: true, rows: pgTablesRows},
	{schema: "pg_catalog", name: "pg_views", view: true, rows: pgViewsRows},
	{schema: "pg_catalog", name: "pg_indexes", view: true, rows: pgIndexesRows},
	{schema: "pg_catalog", name: "pg_stat_activity", view: true, rows: pgStatActivityRows},
	{schema: "pg_catalog", name: "pg_policy"},
	{schema: "pg_catalog", name: "pg_trigger"},
	{schema: "pg_catalog", name: "pg_enum"},
	{schema: "pg_catalog", name: "pg_extension"},
	{schema: "pg_catalog", name: "pg_partitioned_table"},
	{schema: "pg_catalog", name: "pg_publication"},
	{schema: "pg_catalog", name: "pg_publication_rel"},
	{schema: "pg_catalog", name: "pg_publication_namespace"},
	{schema: "pg_catalog", name: "pg_statistic_ext"},
	{schema: "pg_catalog", name: "pg_foreign_table"},
	{schema: "pg_catalog", name: "pg_rewrite"},
	{schema: "pg_catalog", name: "pg_depend"},
	{schema: "pg_catalog", name: "pg_shdescription"},
	{schema: "pg_catalog", name: "pg_tablespace", rows: pgTablespaceRows},
	{schema: "pg_catalog", name: "pg_matviews", view: true},
	{schema: "pg_catalog", name: "pg_sequences", view: true, rows: pgSequencesRows},
	{schema: "information_schema", name: "schemata", view: true, rows: infoSchemataRows},
	{schema: "information_schema", name: "tables", view: true, rows: infoTablesRows},
	{schema: "information_schema", name: "columns", view: true, rows: infoColumnsRows},
	{schema: "information_schema", name: "views", view: true, rows: infoViewsRows},
	{schema: "information_schema", name: "table_constraints", view: true, rows: infoTableConstraintsRows},
	{schema: "information_schema", name: "key_column_usage", view: true, rows: infoKeyColumnUsageRows},
	{schema: "information_schema", name: "constraint_column_usage", view: true, rows: infoConstraintColumnUsageRows},
	{schema: "information_schema", name: "referential_constraints", view: true, rows: infoReferentialConstraintsRows},
	{schema: "information_schema", name: "sequences", view: true, rows: infoSequencesRows},
	{schema: "information_schema", name: "routines", view: true},
	{schema: "information_schema", name: "check_constraints", view: true, rows: infoCheckConstraintsRows},
	{schema: "information_schema", name: "constraint_table_usage", view: true, rows: infoConstraintTableUsageRows},
	{schema: "pg_catalog", name: "pg_language", rows: pgLanguageRows},
}

const firstCatalogTableID = 10

// catalogVirtualTables maps a schema name to its virtual tables by name. It
// is built in init because the row generators refer back to it.
var catalogVirtualTables map[string]map[string]*virtualTable

func init() { catalogVirtualTables = buildCatalogVirtualTables() }

// catalogTableByID indexes catalogTableList by table ID.
var catalogTableByID = map[uint32]*catalogTable{}

func buildCatalogVirtualTables() map[string]map[string]*virtualTable {
	out := map[string]map[string]*virtualTable{"pg_catalog": {}, "information_schema": {}}
	for i := range catalogTableList {
		ct := &catalogTableList[i]
		ct.id = uint32(firstCatalogTableID + i)
		if ct.id >= systemAuditLogTableID {
			panic("too many catalog tables for the reserved ID range")
		}
		catalogTableByID[ct.id] = ct
		schemaID := catalog.PgCatalogSchemaID
		if ct.schema == "information_schema" {
			schemaID = catalog.InfoSchemaSchemaID
		}
		cols := catalogColumnLists[ct.schema+"."+ct.name]
		descCols := make([]catalog.ColumnDescriptor, len(cols))
		for j, c := range cols {
			descCols[j] = col(c.name, c.oid)
		}
		out[ct.schema][ct.name] = &virtualTable{
			desc: &catalog.TableDescriptor{ID: ct.id, SchemaID: schemaID, Name: ct.name, Kind: catalog.TableKindSystem, Columns: virtualColumns(descCols...)},
			rows: ct.generate,
		}
	}
	return out
}

func (ct *catalogTable) generate(ec *evalContext, _ expr) ([][]any, error) {
	out := newCatalogRows(catalogColumnLists[ct.schema+"."+ct.name], ct.schema == "pg_catalog")
	if ct.rows != nil {
		if err := ct.rows(ec, out); err != nil {
			return nil, err
		}
	}
	return out.rows, out.err
}

// catalogRows collects generated rows by column name.
type catalogRows struct {
	cols     []catalogColumn
	index    map[string]int
	defaults []any
	rows     [][]any
	err      error
}

// newCatalogRows prepares rows for cols. With zeroDefaults, a column that a
// row leaves out is false, 0 or the empty string by type, like the NOT NULL
// columns of pg_catalog. Without it, the column is NULL.
func newCatalogRows(cols []catalogColumn, zeroDefaults bool) *catalogRows {
	r := &catalogRows{cols: cols, index: make(map[string]int, len(cols)), defaults: make([]any, len(cols))}
	for i, c := range cols {
		r.index[c.name] = i
		if !zeroDefaults {
			continue
		}
		switch {
		case c.oid == oidBool:
			r.defaults[i] = false
		case isIntType(c.oid), isRegType(c.oid), c.oid == oidXid:
			r.defaults[i] = int64(0)
		case c.oid == oidFloat4:
			r.defaults[i] = float64(0)
		case c.oid == oidName, c.oid == oidChar:
			r.defaults[i] = ""
		}
	}
	return r
}

// add appends a row. Columns missing from values get their default.
func (r *catalogRows) add(values map[string]any) { r.addRow(values, false) }

// addPresent is add for generators shared by tables with different
// columns: values for columns the table lacks are dropped.
func (r *catalogRows) addPresent(values map[string]any) { r.addRow(values, true) }

func (r *catalogRows) addRow(values map[string]any, dropUnknown bool) {
	row := append([]any(nil), r.defaults...)
	for name, v := range values {
		i, ok := r.index[name]
		if !ok {
			if !dropUnknown && r.err == nil {
				r.err = pgerror.Internal("catalog row sets unknown column %q", name)
			}
			continue
		}
		row[i] = v
	}
	r.rows = append(r.rows, row)
}

func indexOID(tableID, indexID uint32) int64 {
	return int64(0x80000000 | tableID<<11 | indexID)
}

func sequenceOID(tableID, columnID uint32) int64 {
	return int64(0xC0000000 | tableID<<11 | columnID)
}

func attrdefOID(tableID, columnID uint32) int64 {
	return int64(0x40000000 | tableID<<11 | columnID)
}

// catalogSnapshot is the catalog as one statement reads it.
type catalogSnapshot struct {
	schemas    []*catalog.SchemaDescriptor
	schemaByID map[uint32]*catalog.SchemaDescriptor
	// tables are the stored tables and views of every schema, followed by
	// the virtual tables.
	tables    []*catalog.TableDescriptor
	tableByID map[uint32]*catalog.TableDescriptor
}

func readCatalogSnapshot(ec *evalContext) (*catalogSnapshot, error) {
	cat, txn := ec.sess.srv.cat, ec.sess.txn.kv
	schemas, err := cat.Schemas(txn)
	if err != nil {
		return nil, err
	}
	// Other sessions' temporary schemas stay out of sight.
	schemas = slices.DeleteFunc(schemas, ec.sess.otherSessionSchema)
	snap := &catalogSnapshot{schemas: schemas, schemaByID: map[uint32]*catalog.SchemaDescriptor{}, tableByID: map[uint32]*catalog.TableDescriptor{}}
	for _, s := range schemas {
		snap.schemaByID[s.ID] = s
		if s.Virtual {
			vts := virtualTables(s.Name)
			names := make([]string, 0, len(vts))
			for name := range vts {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				snap.tables = append(snap.tables, vts[name].desc)
			}
			continue
		}
		tables, err := cat.Tables(txn, s.ID)
		if err != nil {
			return nil, err
		}
		snap.tables = append(snap.tables, tables...)
	}
	for _, t := range snap.tables {
		snap.tableByID[t.ID] = t
	}
	return snap, nil
}

func (s *catalogSnapshot) schemaName(id uint32) string {
	if sc := s.schemaByID[id]; sc != nil {
		return sc.Name
	}
	return ""
}

// catalogRelkind returns pg_class.relkind of a table descriptor.
func catalogRelkind(t *catalog.TableDescriptor) string {
	switch {
	case t.Kind == catalog.TableKindView:
		return "v"
	case t.Kind == catalog.TableKindSequence:
		return "S"
	case t.Kind == catalog.TableKindSystem:
		if ct := catalogTableByID[t.ID]; ct != nil && ct.view {
			return "v"
		}
	}
	return "r"
}

// primaryKeyIndex reports whether t has a declared primary key, which
// PostgreSQL shows as the index table_pkey. A table without one keys its
// rows on a hidden row id column instead.
func primaryKeyIndex(t *catalog.TableDescriptor) bool {
	if t.Kind == catalog.TableKindView || t.Kind == catalog.TableKindSystem || len(t.PrimaryKey) == 0 {
		return false
	}
	for _, id := range t.PrimaryKey {
		if c := t.ColumnByID(id); c == nil || c.Hidden {
			return false
		}
	}
	return true
}

// catalogIndex is an index of a table as pg_index shows it: the primary
// key (index ID 1) or a secondary index.
type catalogIndex struct {
	id         uint32
	name       string
	columns    []uint32
	unique     bool
	primary    bool
	constraint bool
	// options are the columns' indoption bits, nil for all default.
	options []int16
}

func tableIndexes(t *catalog.TableDescriptor) []catalogIndex {
	var out []catalogIndex
	if primaryKeyIndex(t) {
		out = append(out, catalogIndex{id: catalog.PrimaryIndexID, name: t.PrimaryKeyConstraint(), columns: t.PrimaryKey, unique: true, primary: true, constraint: true})
	}
	for _, ix := range t.Indexes {
		out = append(out, catalogIndex{id: ix.ID, name: ix.Name, columns: ix.Columns, unique: ix.Unique, constraint: ix.Constraint, options: ix.Options})
	}
	return out
}

// visibleColumns returns the columns of t that PostgreSQL would show, in
// order.
func visibleColumns(t *catalog.TableDescriptor) []*catalog.ColumnDescriptor {
	var out []*catalog.ColumnDescriptor
	for i := range t.Columns {
		if !t.Columns[i].Hidden {
			out = append(out, &t.Columns[i])
		}
	}
	return out
}

// int2vector renders numbers as int2vector and oidvector text: "1 2".
func int2vector(ids []uint32) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = itoa(int64(id))
	}
	return strings.Join(parts, " ")
}

// hasSequence reports whether a column draws values from a sequence.
func hasSequence(c *catalog.ColumnDescriptor) bool {
	return c.Serial || c.Identity != catalog.IdentityNone
}
