package executor

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// This file holds the type support that catalog queries need: the casts
// between names and OIDs (::regclass, ::regtype, ::regnamespace and back to
// text), int2vector and oidvector, and ARRAY(subquery). Arrays themselves
// are in array.go and the files next to it.

// isArrayType reports whether values of oid are []any arrays. int2vector
// and oidvector are array types in pg_type, but their values are text such
// as "1 2", so castVectorToArray converts them where an array is needed.
func isArrayType(oid uint32) bool { return arrayElem(oid) != 0 && !isVectorType(oid) }

func isVectorType(oid uint32) bool { return oid == oidInt2vector || oid == oidOidvector }

// castVectorToArray converts an int2vector or oidvector expression to
// int2[] or oid[], and returns other expressions unchanged.
func (b *builder) castVectorToArray(e expr) (expr, error) {
	oid := e.resultType().OID
	if !isVectorType(oid) {
		return e, nil
	}
	return b.castTo(e, plainType(arrayOf(arrayElem(oid))), false)
}

// castCatalogType builds the casts involving reg* and array types. ok is
// false when the cast is not one of these, so the caller continues with the
// ordinary casts.
func (b *builder) castCatalogType(e expr, typ catalog.ColumnType) (out expr, ok bool, err error) {
	from := e.resultType().OID
	to := typ.OID
	switch {
	case from == to:
		return nil, false, nil
	case isRegType(to) && (from == oidUnknown || isStringType(from)):
		return &regLookupExpr{arg: e, typ: to}, true, nil
	case isRegType(from) && isStringType(to):
		return &regNameExpr{arg: e, from: from, typ: typ}, true, nil
	case isArrayType(to) && isVectorType(from):
		return &vectorToArrayExpr{arg: e, typ: to}, true, nil
	}
	return nil, false, nil
}

// regLookupExpr casts text to a reg* type: a number is taken as the OID,
// anything else is looked up by name.
type regLookupExpr struct {
	arg expr
	typ uint32
}

func (e *regLookupExpr) resultType() catalog.ColumnType { return plainType(e.typ) }

func (e *regLookupExpr) eval(ec *evalContext, row []any) (any, error) {
	v, err := e.arg.eval(ec, row)
	if err != nil || v == nil {
		return nil, err
	}
	s := strings.TrimSpace(v.(string))
	if s == "-" {
		return int64(0), nil
	}
	if oid, err := parseDatum(s, plainType(oidOID), nil); err == nil {
		return oid, nil
	}
	switch e.typ {
	case oidRegclass:
		snap, err := readCatalogSnapshot(ec)
		if err != nil {
			return nil, err
		}
		return lookupRegclass(ec, snap, s)
	case oidRegnamespace:
		schema, err := ec.sess.srv.cat.Schema(ec.sess.txn.kv, unquoteName(s))
		if err != nil {
			return nil, err
		}
		if schema == nil {
			return nil, pgerror.Newf(pgcode.UndefinedSchema, "schema %q does not exist", s)
		}
		return int64(schema.ID), nil
	case oidRegtype:
		tree, err := pg_query.Parse("SELECT NULL::" + s)
		if err == nil && len(tree.Stmts) == 1 {
			if tc := tree.Stmts[0].Stmt.GetSelectStmt().GetTargetList()[0].GetResTarget().GetVal().GetTypeCast(); tc != nil {
				if typ, _, err := resolveTypeName(tc.TypeName); err == nil {
					return int64(typ.OID), nil
				}
			}
		}
		return nil, pgerror.Newf(pgcode.UndefinedObject, "type %q does not exist", s)
	}
	return nil, pgerror.Newf(pgcode.FeatureNotSupported, "cannot look up %s by name", typeName(e.typ))
}

// unquoteName folds an unquoted identifier to lower case and removes the
// quotes of a quoted one.
func unquoteName(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
	}
	return strings.ToLower(s)
}

// splitQualifiedName splits "schema.name" with optional quotes; the schema
// is empty when the name is unqualified.
func splitQualifiedName(s string) (schema, name string) {
	inQuotes := false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '"':
			inQuotes = !inQuotes
		case s[i] == '.' && !inQuotes:
			return unquoteName(s[:i]), unquoteName(s[i+1:])
		}
	}
	return "", unquoteName(s)
}

// lookupRegclass finds a relation by possibly qualified name along the
// search path, with pg_catalog searched first, and returns its OID. Index
// and sequence names are found too.
func lookupRegclass(ec *evalContext, snap *catalogSnapshot, text string) (int64, error) {
	schema, name := splitQualifiedName(text)
	path := catalogSearchPath(ec.sess)
	switch {
	case schema == "pg_temp":
		path = []string{ec.sess.temp.schema}
	case schema != "":
		path = []string{schema}
	}
	for _, schemaName := range path {
		for _, t := range snap.tables {
			if snap.schemaName(t.SchemaID) != schemaName {
				continue
			}
			if t.Name == name {
				return int64(t.ID), nil
			}
			for _, ix := range tableIndexes(t) {
				if ix.name == name {
					return indexOID(t.ID, ix.id), nil
				}
			}
			for _, c := range visibleColumns(t) {
				if hasSequence(c) && catalog.ColumnSequenceName(t, c) == name {
					return sequenceOID(t.ID, c.ID), nil
				}
			}
		}
	}
	return 0, pgerror.Newf(pgcode.UndefinedTable, "relation %q does not exist", text)
}

// regNameExpr casts a reg* value to text: the name, schema-qualified when
// the schema is not on the search path, or the number when no object has
// that OID.
// NOTE: only an explicit cast to text renders the name. A reg* value sent
// to the client as it is shows the OID number, where PostgreSQL shows the
// name.
type regNameExpr struct {
	arg  expr
	from uint32
	typ  catalog.ColumnType
}

func (e *regNameExpr) resultType() catalog.ColumnType { return e.typ }

func (e *regNameExpr) eval(ec *evalContext, row []any) (any, error) {
	v, err := e.arg.eval(ec, row)
	if err != nil || v == nil {
		return nil, err
	}
	return regName(ec, e.from, uint32(v.(int64)))
}

// regName renders a regtype, regclass or regnamespace value as its name,
// "-" for 0, or the number when nothing has that OID.
func regName(ec *evalContext, typ, oid uint32) (string, error) {
	if oid == 0 {
		return "-", nil
	}
	switch typ {
	case oidRegtype:
		return formatRegtype(oid), nil
	case oidRegclass:
		snap, err := readCatalogSnapshot(ec)
		if err != nil {
			return "", err
		}
		if name := relationName(ec, snap, oid); name != "" {
			return name, nil
		}
	case oidRegnamespace:
		snap, err := readCatalogSnapshot(ec)
		if err != nil {
			return "", err
		}
		if name := snap.schemaName(oid); name != "" {
			return quoteIdentIfNeeded(name), nil
		}
	}
	return itoa(int64(oid)), nil
}

// relationName returns the name of a pg_class OID as regclass output
// shows it, or "".
func relationName(ec *evalContext, snap *catalogSnapshot, oid uint32) string {
	t, sub := relationByOID(snap, oid)
	if t == nil {
		return ""
	}
	name := t.Name
	switch {
	case oid&0xC0000000 == 0xC0000000:
		c := t.ColumnByID(sub)
		if c == nil {
			return ""
		}
		name = catalog.ColumnSequenceName(t, c)
	case oid&0x80000000 != 0:
		ix, _ := indexByOID(snap, oid)
		if ix == nil {
			return ""
		}
		name = ix.name
	}
	schema := snap.schemaName(t.SchemaID)
	for _, s := range catalogSearchPath(ec.sess) {
		if s == schema {
			return quoteIdentIfNeeded(name)
		}
	}
	return quoteIdentIfNeeded(schema) + "." + quoteIdentIfNeeded(name)
}

// vectorToArrayExpr casts an int2vector or oidvector, whose values are
// text such as '1 2', to int2[] or oid[].
type vectorToArrayExpr struct {
	arg expr
	typ uint32
}

func (e *vectorToArrayExpr) resultType() catalog.ColumnType { return plainType(e.typ) }

func (e *vectorToArrayExpr) eval(ec *evalContext, row []any) (any, error) {
	v, err := e.arg.eval(ec, row)
	if err != nil || v == nil {
		return nil, err
	}
	items := strings.Fields(v.(string))
	elem := plainType(arrayElem(e.typ))
	out := make([]any, len(items))
	for i, item := range items {
		if out[i], err = parseDatum(item, elem, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// arraySubqueryExpr is ARRAY(subquery): the subquery's one column as an
// array, of one more dimension when the column is an array.
type arraySubqueryExpr struct {
	sq     *subquery
	typ    uint32
	nested bool
}

func (b *builder) buildArraySubquery(sl *pg_query.SubLink, sq *subquery) (expr, error) {
	if len(sq.plan.targets) != 1 {
		return nil, pgerror.New(pgcode.SyntaxError, "subquery must return only one column").WithPosition(sl.Location + 1)
	}
	elem := sq.plan.targets[0].resultType().OID
	if elem == oidUnknown {
		elem = oidText
	}
	if isArrayType(elem) {
		return &arraySubqueryExpr{sq: sq, typ: elem, nested: true}, nil
	}
	typ, err := checkArrayElemType(elem)
	if err != nil {
		return nil, err.(*pgerror.Error).WithPosition(sl.Location + 1)
	}
	return &arraySubqueryExpr{sq: sq, typ: typ}, nil
}

func (e *arraySubqueryExpr) resultType() catalog.ColumnType { return plainType(e.typ) }

func (e *arraySubqueryExpr) eval(ec *evalContext, row []any) (any, error) {
	rows, err := e.sq.rows(ec, row)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(rows))
	for i, r := range rows {
		if e.nested {
			if err := checkAccumulatedArray(r[0], out[:i]); err != nil {
				return nil, err
			}
		}
		out[i] = r[0]
	}
	return out, nil
}

// buildCollate accepts COLLATE "default", "C" and "POSIX", which are the
// collations pgkeep compares by, and ignores them.
func (b *builder) buildCollate(cc *pg_query.CollateClause) (expr, error) {
	var parts []string
	for _, n := range cc.Collname {
		parts = append(parts, n.GetString_().GetSval())
	}
	name := parts[len(parts)-1]
	if len(parts) > 2 || len(parts) == 2 && parts[0] != "pg_catalog" || name != "default" && name != "C" && name != "POSIX" {
		return nil, pgerror.Newf(pgcode.UndefinedObject, "collation %q does not exist", strings.Join(parts, ".")).
			WithHint("pgkeep supports the collations default, C and POSIX.").WithPosition(cc.Location + 1)
	}
	return b.build(cc.Arg)
}
