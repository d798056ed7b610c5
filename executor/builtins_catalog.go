package executor

import (
	"slices"
	"strconv"
	"strings"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
	"github.com/pgkeep/pgkeep/security"
)

// catalogBuiltins are the system information functions that psql, drivers
// and ORMs call while reading pg_catalog.
var catalogBuiltins = map[string][]builtin{
	"pg_table_is_visible":    {{argTypes: []uint32{oidOID}, result: fixed(oidBool), strict: true, fn: pgTableIsVisible}},
	"pg_type_is_visible":     {{argTypes: []uint32{oidOID}, result: fixed(oidBool), strict: true, fn: func(_ *evalContext, a []any) (any, error) { return typeByOID[uint32(a[0].(int64))] != nil, nil }}},
	"pg_function_is_visible": {{argTypes: []uint32{oidOID}, result: fixed(oidBool), strict: true, fn: func(*evalContext, []any) (any, error) { return true, nil }}},
	"format_type":            {{argTypes: []uint32{oidOID, oidInt4}, result: fixed(oidText), fn: formatTypeBuiltin}},
	"pg_get_expr": {
		{argTypes: []uint32{0, oidOID}, result: fixed(oidText), strict: true, fn: firstArgument},
		{argTypes: []uint32{0, oidOID, oidBool}, result: fixed(oidText), strict: true, fn: firstArgument},
	},
	"pg_get_indexdef": {
		{argTypes: []uint32{oidOID}, result: fixed(oidText), strict: true, fn: pgGetIndexdef},
		{argTypes: []uint32{oidOID, oidInt4, oidBool}, result: fixed(oidText), strict: true, fn: pgGetIndexdef},
	},
	"pg_get_constraintdef": {
		{argTypes: []uint32{oidOID}, result: fixed(oidText), strict: true, fn: pgGetConstraintdef},
		{argTypes: []uint32{oidOID, oidBool}, result: fixed(oidText), strict: true, fn: pgGetConstraintdef},
	},
	"pg_get_viewdef": {
		{argTypes: []uint32{oidOID}, result: fixed(oidText), strict: true, fn: pgGetViewdef},
		{argTypes: []uint32{oidOID, oidBool}, result: fixed(oidText), strict: true, fn: pgGetViewdef},
	},
	"pg_get_userbyid":        {{argTypes: []uint32{oidOID}, result: fixed(oidName), strict: true, fn: pgGetUserByID}},
	"pg_get_serial_sequence": {{argTypes: []uint32{oidText, oidText}, result: fixed(oidText), strict: true, fn: pgGetSerialSequence}},
	"pg_encoding_to_char": {{argTypes: []uint32{oidInt4}, result: fixed(oidName), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
		if a[0].(int64) == 6 {
			return "UTF8", nil
		}
		return "", nil
	}}},
	"pg_get_function_result":    {{argTypes: []uint32{oidOID}, result: fixed(oidText), strict: true, fn: pgGetFunctionResult}},
	"pg_get_function_arguments": {{argTypes: []uint32{oidOID}, result: fixed(oidText), strict: true, fn: pgGetFunctionArguments}},
	// Only SQL functions written with BEGIN ATOMIC have a body to show,
	// and pgkeep has no SQL functions.
	"pg_get_function_sqlbody": {{argTypes: []uint32{oidOID}, result: fixed(oidText), strict: true, fn: constant(nil)}},
	// pgkeep has no partitions, so a table's only ancestor is itself. The
	// set-returning form in FROM is in pgcatalog_funcs.go.
	"pg_partition_ancestors":          {{argTypes: []uint32{oidRegclass}, result: fixed(oidRegclass), strict: true, fn: firstArgument}},
	"pg_relation_is_publishable":      {{argTypes: []uint32{oidRegclass}, result: fixed(oidBool), strict: true, fn: constant(false)}},
	"pg_get_statisticsobjdef_columns": {{argTypes: []uint32{oidOID}, result: fixed(oidText), strict: true, fn: constant(nil)}},
	"pg_get_ruledef":                  {{argTypes: []uint32{oidOID, oidBool}, result: fixed(oidText), strict: true, fn: constant(nil)}},
	"pg_get_triggerdef":               {{argTypes: []uint32{oidOID, oidBool}, result: fixed(oidText), strict: true, fn: constant(nil)}},
	"current_schemas":                 {{argTypes: []uint32{oidBool}, result: fixed(oidNameArray), strict: true, fn: currentSchemas}},
	"has_table_privilege": {
		{argTypes: []uint32{oidText, oidText}, result: fixed(oidBool), strict: true, fn: hasTablePrivilege},
		{argTypes: []uint32{oidOID, oidText}, result: fixed(oidBool), strict: true, fn: hasTablePrivilege},
		{argTypes: []uint32{oidName, oidText, oidText}, result: fixed(oidBool), strict: true, fn: hasTablePrivilegeOf},
	},
	"has_schema_privilege": {
		{argTypes: []uint32{oidText, oidText}, result: fixed(oidBool), strict: true, fn: hasSchemaPrivilege},
		{argTypes: []uint32{oidName, oidText, oidText}, result: fixed(oidBool), strict: true, fn: func(ec *evalContext, a []any) (any, error) {
			return hasSchemaPrivilege(ec, a[1:])
		}},
	},
	"has_database_privilege": {
		{argTypes: []uint32{oidText, oidText}, result: fixed(oidBool), strict: true, fn: hasDatabasePrivilege},
		{argTypes: []uint32{oidOID, oidText}, result: fixed(oidBool), strict: true, fn: hasDatabasePrivilege},
		{argTypes: []uint32{oidName, oidText, oidText}, result: fixed(oidBool), strict: true, fn: func(ec *evalContext, a []any) (any, error) {
			return hasDatabasePrivilege(ec, a[1:])
		}},
	},
	"pg_database_size": {
		{argTypes: []uint32{oidName}, result: fixed(oidInt8), strict: true, fn: constant(int64(0))},
		{argTypes: []uint32{oidOID}, result: fixed(oidInt8), strict: true, fn: constant(int64(0))},
	},
	// pgkeep stores no comments.
	"obj_description": {
		{argTypes: []uint32{oidOID}, result: fixed(oidText), fn: constant(nil)},
		{argTypes: []uint32{oidOID, oidName}, result: fixed(oidText), fn: constant(nil)},
	},
	"col_description":        {{argTypes: []uint32{oidOID, oidInt4}, result: fixed(oidText), fn: constant(nil)}},
	"shobj_description":      {{argTypes: []uint32{oidOID, oidName}, result: fixed(oidText), fn: constant(nil)}},
	"pg_table_size":          {{argTypes: []uint32{oidRegclass}, result: fixed(oidInt8), strict: true, fn: constant(int64(0))}},
	"pg_relation_size":       {{argTypes: []uint32{oidRegclass}, result: fixed(oidInt8), strict: true, fn: constant(int64(0))}},
	"pg_total_relation_size": {{argTypes: []uint32{oidRegclass}, result: fixed(oidInt8), strict: true, fn: constant(int64(0))}},
	"pg_size_pretty":         {{argTypes: []uint32{oidInt8}, result: fixed(oidText), strict: true, fn: pgSizePretty}},
}

func init() {
	builtinTables = append(builtinTables, catalogBuiltins)
}

// quoteIdentIfNeeded quotes a name as quote_ident does.
func quoteIdentIfNeeded(s string) string { return quoteIdent(s).(string) }

func constant(v any) func(*evalContext, []any) (any, error) {
	return func(*evalContext, []any) (any, error) { return v, nil }
}

func firstArgument(_ *evalContext, a []any) (any, error) { return a[0], nil }

func argOID(v any) uint32 { return uint32(v.(int64)) }

// pgTableIsVisible reports whether a relation is found by its unqualified
// name: its schema is pg_catalog or on the search_path, and no schema
// searched before it has a table of the same name.
func pgTableIsVisible(ec *evalContext, a []any) (any, error) {
	snap, err := readCatalogSnapshot(ec)
	if err != nil {
		return nil, err
	}
	t, _ := relationByOID(snap, argOID(a[0]))
	if t == nil {
		return nil, nil
	}
	for _, name := range catalogSearchPath(ec.sess) {
		if name == snap.schemaName(t.SchemaID) {
			return true, nil
		}
		for _, other := range snap.tables {
			if other.Name == t.Name && snap.schemaName(other.SchemaID) == name {
				return false, nil
			}
		}
	}
	return false, nil
}

// catalogSearchPath is the search_path as PostgreSQL searches it for
// relations: pg_catalog first unless the path names it, and before it the
// session's temporary schema, unless the path places it with pg_temp.
func catalogSearchPath(s *Session) []string {
	path := s.searchPath()
	temp := s.temp.schema
	if temp != "" {
		if i := slices.Index(path, "pg_temp"); i >= 0 {
			path = slices.Clone(path)
			path[i] = temp
		}
	}
	if !slices.Contains(path, "pg_catalog") {
		path = append([]string{"pg_catalog"}, path...)
	}
	if temp != "" && !slices.Contains(path, temp) {
		path = append([]string{temp}, path...)
	}
	return path
}

// relationByOID finds the table of a pg_class OID. An index or a sequence
// OID returns the table it belongs to and the index or column ID.
func relationByOID(snap *catalogSnapshot, oid uint32) (*catalog.TableDescriptor, uint32) {
	if oid&0x80000000 != 0 {
		t := snap.tableByID[(oid&0x3FFFFFFF)>>11]
		return t, oid & 0x7FF
	}
	return snap.tableByID[oid], 0
}

func formatTypeBuiltin(_ *evalContext, a []any) (any, error) {
	if a[0] == nil {
		return nil, nil
	}
	typmod := int32(-1)
	if a[1] != nil {
		typmod = int32(a[1].(int64))
	}
	return formatTypeName(argOID(a[0]), typmod), nil
}

// formatTypeName renders a type as format_type does.
func formatTypeName(oid uint32, typmod int32) string {
	if elem := arrayElem(oid); elem != 0 {
		return formatTypeName(elem, typmod) + "[]"
	}
	if _, ok := typeNames[oid]; ok {
		return formatType(catalog.ColumnType{OID: oid, TypMod: typmod})
	}
	if t := typeByOID[oid]; t != nil {
		return t.name
	}
	return "???"
}

func pgGetIndexdef(ec *evalContext, a []any) (any, error) {
	snap, err := readCatalogSnapshot(ec)
	if err != nil {
		return nil, err
	}
	ix, t := indexByOID(snap, argOID(a[0]))
	if ix == nil {
		return nil, nil
	}
	// A column number other than 0 requests that key column alone, and
	// one that the index lacks gets an empty string.
	if len(a) == 3 && a[1] != int64(0) {
		n := a[1].(int64)
		if n < 1 || n > int64(len(ix.columns)) {
			return "", nil
		}
		return columnList(t, ix.columns[n-1:n]), nil
	}
	def := indexDefinition(snap, t, *ix)
	// The pretty form leaves out a schema the search path reaches.
	if len(a) == 3 && a[2] == true && slices.Contains(catalogSearchPath(ec.sess), snap.schemaName(t.SchemaID)) {
		def = strings.Replace(def, " ON "+quoteIdentIfNeeded(snap.schemaName(t.SchemaID))+".", " ON ", 1)
	}
	return def, nil
}

func indexByOID(snap *catalogSnapshot, oid uint32) (*catalogIndex, *catalog.TableDescriptor) {
	if oid&0xC0000000 != 0x80000000 {
		return nil, nil
	}
	t, id := relationByOID(snap, oid)
	if t == nil {
		return nil, nil
	}
	for _, ix := range tableIndexes(t) {
		if ix.id == id {
			return &ix, t
		}
	}
	return nil, nil
}

func pgGetConstraintdef(ec *evalContext, a []any) (any, error) {
	snap, err := readCatalogSnapshot(ec)
	if err != nil {
		return nil, err
	}
	ix, t := indexByOID(snap, argOID(a[0]))
	if ix == nil || !ix.constraint {
		pretty := len(a) > 1 && a[1] == true
		if def := fkOrCheckByOID(ec, snap, argOID(a[0]), pretty); def != "" {
			return def, nil
		}
		return nil, nil
	}
	return constraintDefinition(t, *ix), nil
}

func pgGetViewdef(ec *evalContext, a []any) (any, error) {
	snap, err := readCatalogSnapshot(ec)
	if err != nil {
		return nil, err
	}
	t, id := relationByOID(snap, argOID(a[0]))
	if t == nil || id != 0 || t.Kind != catalog.TableKindView {
		return nil, nil
	}
	return " " + t.ViewQuery + ";", nil
}

func pgGetUserByID(ec *evalContext, a []any) (any, error) {
	id := a[0].(int64)
	u, err := ec.sess.srv.cat.UserByID(ec.sess.txn.kv, uint32(id))
	if err != nil {
		return nil, err
	}
	if u == nil {
		return "unknown (OID=" + itoa(id) + ")", nil
	}
	return u.Name, nil
}

// pgGetSerialSequence returns the sequence of a serial or identity
// column, schema-qualified, or NULL when the column has none.
func pgGetSerialSequence(ec *evalContext, a []any) (any, error) {
	snap, err := readCatalogSnapshot(ec)
	if err != nil {
		return nil, err
	}
	oid, err := lookupRegclass(ec, snap, a[0].(string))
	if err != nil {
		return nil, err
	}
	t, _ := relationByOID(snap, uint32(oid))
	column := a[1].(string)
	c := t.ColumnByName(column)
	if c == nil {
		return nil, pgerror.Newf(pgcode.UndefinedColumn, "column %q of relation %q does not exist", column, t.Name)
	}
	if !hasSequence(c) {
		return nil, nil
	}
	schema := snap.schemaName(t.SchemaID)
	if schema == ec.sess.temp.schema {
		schema = "pg_temp"
	}
	return quoteIdentIfNeeded(schema) + "." + quoteIdentIfNeeded(catalog.ColumnSequenceName(t, c)), nil
}

func procByOID(oid int64) *builtinProc {
	for _, p := range builtinProcs() {
		if p.oid == oid {
			return &p
		}
	}
	return nil
}

func pgGetFunctionResult(_ *evalContext, a []any) (any, error) {
	p := procByOID(a[0].(int64))
	if p == nil {
		return nil, nil
	}
	return formatTypeName(procResultType(p.fn), -1), nil
}

func pgGetFunctionArguments(_ *evalContext, a []any) (any, error) {
	p := procByOID(a[0].(int64))
	if p == nil {
		return nil, nil
	}
	names := make([]string, len(p.fn.argTypes))
	for i, oid := range p.fn.argTypes {
		if oid == 0 {
			oid = oidAnyarray
		}
		names[i] = formatTypeName(oid, -1)
	}
	return strings.Join(names, ", "), nil
}

func currentSchemas(ec *evalContext, a []any) (any, error) {
	var out []any
	path := ec.sess.searchPath()
	if a[0] == true {
		path = catalogSearchPath(ec.sess)
	}
	for _, name := range path {
		s, err := ec.sess.srv.cat.Schema(ec.sess.txn.kv, name)
		if err != nil {
			return nil, err
		}
		if s != nil {
			out = append(out, name)
		}
	}
	return out, nil
}

// privilegeOperations maps the privilege names of has_table_privilege to
// pgkeep's table operations.
var privilegeOperations = map[string]security.Operation{
	"select": security.OpSelect, "insert": security.OpInsert, "update": security.OpUpdate, "delete": security.OpDelete,
}

func hasTablePrivilege(ec *evalContext, a []any) (any, error) {
	return tablePrivilege(ec, ec.actor(), a[0], a[1].(string))
}

func hasTablePrivilegeOf(ec *evalContext, a []any) (any, error) {
	u, err := ec.sess.srv.cat.User(ec.sess.txn.kv, a[0].(string))
	if err != nil {
		return nil, err
	}
	if u == nil || !u.Active() {
		return nil, pgerror.Newf(pgcode.UndefinedObject, "role %q does not exist", a[0].(string))
	}
	return tablePrivilege(ec, u, a[1], a[2].(string))
}

// tablePrivilege evaluates has_table_privilege with pgkeep's table rules.
// The privilege text may list several privileges separated by commas; any
// one granted is enough, as in PostgreSQL.
func tablePrivilege(ec *evalContext, u *catalog.UserDescriptor, table any, privileges string) (any, error) {
	snap, err := readCatalogSnapshot(ec)
	if err != nil {
		return nil, err
	}
	oid, ok := table.(int64)
	if !ok {
		if oid, err = lookupRegclass(ec, snap, table.(string)); err != nil {
			return nil, err
		}
	}
	t, _ := relationByOID(snap, uint32(oid))
	if t == nil {
		return nil, nil
	}
	for _, p := range strings.Split(privileges, ",") {
		name := strings.ToLower(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(p), " WITH GRANT OPTION")))
		op, known := privilegeOperations[name]
		switch {
		case known:
			if security.CheckTable(subjectOf(u), securityTable(t), op) == nil {
				return true, nil
			}
		case name == "truncate" || name == "references" || name == "trigger":
		default:
			return nil, pgerror.Newf(pgcode.InvalidParameterValue, "unrecognized privilege type: %q", strings.TrimSpace(p))
		}
	}
	return false, nil
}

// hasSchemaPrivilege grants USAGE on every schema, because pgkeep checks
// access per table, and CREATE to the roles that may run DDL.
func hasSchemaPrivilege(ec *evalContext, a []any) (any, error) {
	s, err := ec.sess.srv.cat.Schema(ec.sess.txn.kv, a[0].(string))
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, pgerror.Newf(pgcode.UndefinedSchema, "schema %q does not exist", a[0].(string))
	}
	return anyPrivilege(a[1].(string), func(privilege string) (bool, bool) {
		switch privilege {
		case "usage":
			return true, true
		case "create":
			return !s.Virtual && security.CheckDDL(subjectOf(ec.actor()), "create table", s.Name) == nil, true
		}
		return false, false
	})
}

// anyPrivilege evaluates a comma-separated privilege list of a
// has_*_privilege function: true when grant grants any of them. grant
// receives each name in lower case and reports whether it is granted and
// whether the name is known; an unknown name fails with 22023.
func anyPrivilege(list string, grant func(privilege string) (granted, known bool)) (any, error) {
	result := false
	for _, p := range strings.Split(list, ",") {
		granted, known := grant(strings.ToLower(strings.TrimSpace(p)))
		if !known {
			return nil, pgerror.Newf(pgcode.InvalidParameterValue, "unrecognized privilege type: %q", strings.TrimSpace(p))
		}
		result = result || granted
	}
	return result, nil
}

// hasDatabasePrivilege evaluates has_database_privilege for pgkeep's one
// database: every user may connect and create temporary tables, and the
// roles that run DDL may create schemas.
func hasDatabasePrivilege(ec *evalContext, a []any) (any, error) {
	switch db := a[0].(type) {
	case string:
		if db != ec.sess.database {
			return nil, pgerror.Newf(pgcode.UndefinedDatabase, "database %q does not exist", db)
		}
	case int64:
		if db != int64(catalog.DatabaseID) {
			return nil, pgerror.Newf(pgcode.UndefinedDatabase, "database with OID %d does not exist", db)
		}
	}
	return anyPrivilege(a[1].(string), func(privilege string) (bool, bool) {
		switch privilege {
		case "connect", "temp", "temporary":
			return true, true
		case "create":
			return security.CheckDDL(subjectOf(ec.actor()), "create schema", "") == nil, true
		}
		return false, false
	})
}

// pgSizePretty renders a byte count as pg_size_pretty does in PostgreSQL
// 15: bytes below 10240, then kB, MB, GB and TB, each rounded half away
// from zero, switching unit when the value reaches 20480 of the smaller one.
func pgSizePretty(_ *evalContext, a []any) (any, error) {
	size := a[0].(int64)
	const limit, limit2 = 10 * 1024, 20*1024 - 1
	if max(size, -size) < limit {
		return itoa(size) + " bytes", nil
	}
	// One extra bit is kept for rounding.
	size /= 1 << 9
	for _, unit := range []string{"kB", "MB", "GB"} {
		if max(size, -size) < limit2 {
			return itoa(halfRounded(size)) + " " + unit, nil
		}
		size /= 1 << 10
	}
	return itoa(halfRounded(size)) + " TB", nil
}

func halfRounded(v int64) int64 {
	if v < 0 {
		return (v - 1) / 2
	}
	return (v + 1) / 2
}

// formatRegtype prints a regtype value as PostgreSQL does: the type's name,
// "-" for 0, or the number for an OID pgkeep does not know.
func formatRegtype(oid uint32) string {
	switch {
	case oid == 0:
		return "-"
	case typeByOID[oid] != nil || typeNames[oid] != "":
		return formatTypeName(oid, -1)
	}
	return strconv.FormatUint(uint64(oid), 10)
}

// buildTypeofCall compiles pg_typeof(x), whose value is the type of its
// argument as the analysis found it.
func buildTypeofCall(args []expr) (expr, bool) {
	if len(args) != 1 {
		return nil, false
	}
	return &constExpr{val: int64(args[0].resultType().OID), typ: plainType(oidRegtype)}, true
}
