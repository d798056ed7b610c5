package executor

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// This file holds the array and reg* type support that catalog queries
// need: one-dimensional arrays as []any with lower bound 1, ARRAY(subquery),
// x op ANY (array), subscripts, ||, array literals, and the casts between
// names and OIDs (::regclass, ::regtype, ::regnamespace and back to text).
//
// Stored tables have no array columns, so arrays exist only in expressions
// and in the catalog tables.

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
	case isArrayType(to) && (from == oidUnknown || isStringType(from) || isVectorType(from)):
		return &arrayParseExpr{arg: e, vector: isVectorType(from), typ: to}, true, nil
	case isArrayType(to) && isArrayType(from):
		return &arrayCastExpr{arg: e, typ: to}, true, nil
	case isArrayType(from) && isStringType(to):
		return &arrayTextExpr{arg: e, typ: typ}, true, nil
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
	if schema != "" {
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
				if hasSequence(c) && serialSequenceName(t, c) == name {
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
		name = serialSequenceName(t, c)
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

// arrayParseExpr casts an array literal such as '{1,2}', or an int2vector
// or oidvector such as '1 2', to an array type.
type arrayParseExpr struct {
	arg    expr
	vector bool
	typ    uint32
}

func (e *arrayParseExpr) resultType() catalog.ColumnType { return plainType(e.typ) }

func (e *arrayParseExpr) eval(ec *evalContext, row []any) (any, error) {
	v, err := e.arg.eval(ec, row)
	if err != nil || v == nil {
		return nil, err
	}
	s := v.(string)
	var items []string
	if e.vector {
		items = strings.Fields(s)
	} else if items, err = splitArrayLiteral(s); err != nil {
		return nil, err
	}
	elem := plainType(arrayElem(e.typ))
	out := make([]any, len(items))
	for i, item := range items {
		if item == "\x00NULL" {
			continue
		}
		if out[i], err = castDatum(item, oidText, elem, false, ec.sess.location()); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// splitArrayLiteral splits a one-dimensional array literal into its
// element texts; an unquoted NULL comes back as "\x00NULL".
func splitArrayLiteral(s string) ([]string, error) {
	malformed := func() error {
		return pgerror.Newf(pgcode.InvalidTextRepresentation, "malformed array literal: %q", s).
			WithDetail("pgkeep accepts one-dimensional arrays such as '{a,b}'.")
	}
	t := strings.TrimSpace(s)
	if len(t) < 2 || t[0] != '{' || t[len(t)-1] != '}' {
		return nil, malformed()
	}
	body := t[1 : len(t)-1]
	if strings.TrimSpace(body) == "" {
		return []string{}, nil
	}
	var out []string
	var cur strings.Builder
	quoted, inQuotes := false, false
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case inQuotes && c == '\\' && i+1 < len(body):
			i++
			cur.WriteByte(body[i])
		case c == '"':
			inQuotes, quoted = !inQuotes, true
		case inQuotes:
			cur.WriteByte(c)
		case c == '{' || c == '}':
			return nil, malformed()
		case c == ',':
			out = append(out, arrayItem(cur.String(), quoted))
			cur.Reset()
			quoted = false
		default:
			cur.WriteByte(c)
		}
	}
	if inQuotes {
		return nil, malformed()
	}
	return append(out, arrayItem(cur.String(), quoted)), nil
}

func arrayItem(s string, quoted bool) string {
	if quoted {
		return s
	}
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "null") {
		return "\x00NULL"
	}
	return s
}

// arrayCastExpr casts between array types element by element.
type arrayCastExpr struct {
	arg expr
	typ uint32
}

func (e *arrayCastExpr) resultType() catalog.ColumnType { return plainType(e.typ) }

func (e *arrayCastExpr) eval(ec *evalContext, row []any) (any, error) {
	v, err := e.arg.eval(ec, row)
	if err != nil || v == nil {
		return nil, err
	}
	from, to := arrayElem(e.arg.resultType().OID), plainType(arrayElem(e.typ))
	in := v.([]any)
	out := make([]any, len(in))
	for i, item := range in {
		if out[i], err = castDatum(item, from, to, false, ec.sess.location()); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// arrayTextExpr renders an array in PostgreSQL's text form, '{a,"b c"}'.
type arrayTextExpr struct {
	arg expr
	typ catalog.ColumnType
}

func (e *arrayTextExpr) resultType() catalog.ColumnType { return e.typ }

func (e *arrayTextExpr) eval(ec *evalContext, row []any) (any, error) {
	v, err := e.arg.eval(ec, row)
	if err != nil || v == nil {
		return nil, err
	}
	return formatArray(v.([]any), arrayElem(e.arg.resultType().OID)), nil
}

func formatArray(items []any, elem uint32) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, item := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		if item == nil {
			b.WriteString("NULL")
			continue
		}
		s := textOf(item, elem)
		if s == "" || strings.EqualFold(s, "null") || strings.ContainsAny(s, "{},\"\\ \t\n") {
			s = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
		}
		b.WriteString(s)
	}
	b.WriteByte('}')
	return b.String()
}

// compareArrays orders arrays element by element, then by length.
func compareArrays(a, b []any) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		switch {
		case a[i] == nil && b[i] == nil:
			continue
		case a[i] == nil:
			return 1
		case b[i] == nil:
			return -1
		}
		if c := compareDatums(a[i], b[i]); c != 0 {
			return c
		}
	}
	return cmpInt(int64(len(a)), int64(len(b)))
}

// arraySubqueryExpr is ARRAY(subquery): the subquery's one column as an
// array.
type arraySubqueryExpr struct {
	sq  *subquery
	typ uint32
}

func (b *builder) buildArraySubquery(sl *pg_query.SubLink, sq *subquery) (expr, error) {
	if len(sq.plan.targets) != 1 {
		return nil, pgerror.New(pgcode.SyntaxError, "subquery must return only one column").WithPosition(sl.Location + 1)
	}
	elem := sq.plan.targets[0].resultType().OID
	if elem == oidUnknown {
		elem = oidText
	}
	typ := arrayOf(elem)
	if typ == 0 || isArrayType(elem) {
		return nil, pgerror.Newf(pgcode.UndefinedObject, "could not find array type for data type %s", typeName(elem)).WithPosition(sl.Location + 1)
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
		out[i] = r[0]
	}
	return out, nil
}

// anyArrayExpr is x op ANY (array) and x op ALL (array).
type anyArrayExpr struct {
	array expr
	// cmp compares the left value with the column of a one-value row that
	// holds an element.
	cmp *compareExpr
	all bool
}

func (b *builder) buildAnyArray(ae *pg_query.A_Expr, op string) (expr, error) {
	left, err := b.build(ae.Lexpr)
	if err != nil {
		return nil, err
	}

	array, err := b.build(ae.Rexpr)
	if err != nil {
		return nil, err
	}
	if array, err = b.castVectorToArray(array); err != nil {
		return nil, err
	}
	if array.resultType().OID == oidUnknown {
		lt := left.resultType().OID
		if lt == oidUnknown {
			lt = oidText
		}
		if array, err = b.castTo(array, plainType(arrayOf(lt)), false); err != nil {
			return nil, err
		}
	}
	elem := arrayElem(array.resultType().OID)
	if elem == 0 {
		return nil, pgerror.Newf(pgcode.WrongObjectType, "op ANY/ALL (array) requires array on right side").WithPosition(ae.Location + 1)
	}

	cmpExpr, err := b.binary(op, left, &columnExpr{idx: 0, typ: plainType(elem)}, ae.Location)
	if err != nil {
		return nil, err
	}
	cmp, ok := cmpExpr.(*compareExpr)
	if !ok {
		return nil, pgerror.Newf(pgcode.WrongObjectType, "op ANY/ALL (array) requires operator to yield boolean").WithPosition(ae.Location + 1)
	}
	return &anyArrayExpr{array: array, cmp: cmp, all: ae.Kind == pg_query.A_Expr_Kind_AEXPR_OP_ALL}, nil
}

func (e *anyArrayExpr) resultType() catalog.ColumnType { return plainType(oidBool) }

func (e *anyArrayExpr) eval(ec *evalContext, row []any) (any, error) {
	v, err := e.array.eval(ec, row)
	if err != nil || v == nil {
		return nil, err
	}
	items := v.([]any)
	if len(items) == 0 {
		return e.all, nil
	}
	left, err := e.cmp.left.eval(ec, row)
	if err != nil || left == nil {
		return nil, err
	}
	sawNull := false
	for _, item := range items {
		right, err := e.cmp.right.eval(ec, []any{item})
		if err != nil {
			return nil, err
		}
		if right == nil {
			sawNull = true
			continue
		}
		res := compareResult(e.cmp.op, compareDatums(left, right))
		if res != e.all {
			return res, nil
		}
	}
	if sawNull {
		return nil, nil
	}
	return e.all, nil
}

// subscriptExpr is array[i]. Arrays start at 1, and int2vector and
// oidvector values start at 0, as in PostgreSQL.
type subscriptExpr struct {
	arg, index expr
	typ        uint32
}

func (b *builder) buildIndirection(ind *pg_query.A_Indirection) (expr, error) {
	arg, err := b.build(ind.Arg)
	if err != nil {
		return nil, err
	}
	for _, n := range ind.Indirection {
		idx := n.GetAIndices()
		if idx == nil || idx.IsSlice || idx.Uidx == nil {
			return nil, pgerror.NotSupported("this kind of indirection")
		}
		at := arg.resultType().OID
		elem := arrayElem(at)
		if elem == 0 {
			return nil, pgerror.Newf(pgcode.DatatypeMismatch, "cannot subscript type %s because it does not support subscripting", typeName(at))
		}
		index, err := b.build(idx.Uidx)
		if err != nil {
			return nil, err
		}
		if index, err = b.castTo(index, plainType(oidInt4), false); err != nil {
			return nil, err
		}
		arg = &subscriptExpr{arg: arg, index: index, typ: elem}
	}
	return arg, nil
}

func (e *subscriptExpr) resultType() catalog.ColumnType { return plainType(e.typ) }

func (e *subscriptExpr) eval(ec *evalContext, row []any) (any, error) {
	v, err := e.arg.eval(ec, row)
	if err != nil || v == nil {
		return nil, err
	}
	i, err := e.index.eval(ec, row)
	if err != nil || i == nil {
		return nil, err
	}
	pos := i.(int64) - 1
	items, isArray := v.([]any)
	if !isArray {
		for _, f := range strings.Fields(v.(string)) {
			items = append(items, f)
		}
		pos++
	}
	if pos < 0 || pos >= int64(len(items)) || items[pos] == nil {
		return nil, nil
	}
	if s, ok := items[pos].(string); ok && !isArray {
		return parseDatum(s, plainType(e.typ), nil)
	}
	return items[pos], nil
}

// arrayConcatExpr is array || array, array || element and element ||
// array.
type arrayConcatExpr struct {
	left, right expr
	typ         uint32
}

func (b *builder) buildArrayConcat(l, r expr, location int32) (expr, error) {
	lt, rt := l.resultType().OID, r.resultType().OID
	typ := lt
	if !isArrayType(lt) {
		typ = rt
	}
	var err error
	for _, side := range []*expr{&l, &r} {
		if (*side).resultType().OID == oidUnknown {
			if *side, err = b.castTo(*side, plainType(typ), false); err != nil {
				return nil, err
			}
		}
	}
	lt, rt = l.resultType().OID, r.resultType().OID
	if (isArrayType(lt) && isArrayType(rt) && arrayElem(lt) != arrayElem(rt) && !(isStringType(arrayElem(lt)) && isStringType(arrayElem(rt)))) ||
		(!isArrayType(lt) && lt != arrayElem(rt)) || (!isArrayType(rt) && rt != arrayElem(lt)) {
		return nil, undefinedOperator("||", typeName(lt), rt, location)
	}
	return &arrayConcatExpr{left: l, right: r, typ: typ}, nil
}

func (e *arrayConcatExpr) resultType() catalog.ColumnType { return plainType(e.typ) }

func (e *arrayConcatExpr) eval(ec *evalContext, row []any) (any, error) {
	l, r, err := evalOperands(ec, row, e.left, e.right)
	if err != nil {
		return nil, err
	}
	var out []any
	for i, v := range []any{l, r} {
		side := []expr{e.left, e.right}[i]
		switch {
		case isArrayType(side.resultType().OID):
			if v != nil {
				out = append(out, v.([]any)...)
			}
		default:
			out = append(out, v)
		}
	}
	if l == nil && r == nil {
		return nil, nil
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

func arrayToString(ec *evalContext, a []any) (any, error) {
	if a[0] == nil || a[1] == nil {
		return nil, nil
	}
	items, ok := a[0].([]any)
	if !ok {
		return nil, pgerror.Newf(pgcode.DatatypeMismatch, "array_to_string requires an array argument")
	}
	var parts []string
	for _, item := range items {
		switch {
		case item != nil:
			parts = append(parts, textOf(item, oidUnknown))
		case len(a) == 3 && a[2] != nil:
			parts = append(parts, a[2].(string))
		}
	}
	return strings.Join(parts, a[1].(string)), nil
}

// arrayPosition returns the position of the first element equal to the
// value, or NULL.
func arrayPosition(_ *evalContext, a []any) (any, error) {
	items, ok := a[0].([]any)
	if !ok || a[1] == nil {
		return nil, nil
	}
	for i, item := range items {
		if item != nil && compareDatums(item, a[1]) == 0 {
			return int64(i + 1), nil
		}
	}
	return nil, nil
}

func arrayUpper(_ *evalContext, a []any) (any, error) {
	items, ok := a[0].([]any)
	if !ok || a[1].(int64) != 1 || len(items) == 0 {
		return nil, nil
	}
	return int64(len(items)), nil
}

func arrayLower(_ *evalContext, a []any) (any, error) {
	items, ok := a[0].([]any)
	if !ok || a[1].(int64) != 1 || len(items) == 0 {
		return nil, nil
	}
	return int64(1), nil
}
