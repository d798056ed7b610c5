package executor

import (
	"strings"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/kv"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// Values of the anonymous composite type record. pgkeep makes them from a
// set-returning function with several output columns called in a SELECT
// list, such as information_schema._pg_expandarray(a), and from a
// whole-row reference such as t in SELECT row_to_json(t) FROM t. Field
// selection such as (_pg_expandarray(a)).n reads their fields. The field
// names and types are known when the query is built: a record-valued
// expression or column carries them as a []scopeColumn.

// informationSchemaFunctions are the functions that exist only in
// information_schema.
var informationSchemaFunctions = map[string]bool{"_pg_expandarray": true}

// recordValue is a value of type record.
type recordValue struct {
	values []any
	// types are the type OIDs of values, used to print and compare them.
	types []uint32
	// names are the field names, which row_to_json and to_json print.
	names []string
}

// wireRecord is a record on its way to the client, whose timestamptz
// fields print in the session time zone loc.
type wireRecord struct {
	rec *recordValue
	loc *time.Location
}

func newWireRecord(r *recordValue, loc *time.Location) *wireRecord {
	return &wireRecord{rec: r, loc: loc}
}

// TextValue returns the record's text output, as pgtype.TextValuer.
func (w *wireRecord) TextValue() (pgtype.Text, error) {
	return pgtype.Text{String: formatRecord(w.rec, w.loc), Valid: true}, nil
}

// RecordFields returns the type OIDs of the fields and their values in the
// Go types that pgtype's codecs take. The protocol package encodes them
// for a client that requests records in binary.
func (w *wireRecord) RecordFields() ([]uint32, []any) {
	values := make([]any, len(w.rec.values))
	for i, v := range w.rec.values {
		switch x := v.(type) {
		case *apd.Decimal:
			v = numericToPgtype(x)
		case time.Time:
			if w.rec.types[i] == oidTimestamptz {
				v = x.In(w.loc)
			}
		case []any:
			v = newWireArray(x, arrayElem(w.rec.types[i]), w.loc)
		case *recordValue:
			v = newWireRecord(x, w.loc)
		}
		values[i] = v
	}
	return w.rec.types, values
}

// formatRecord prints r as PostgreSQL's record_out does: (a,b), with
// nothing for NULL, and double quotes around a value that is empty or
// contains a quote, backslash, parenthesis, comma or white space.
// timestamptz fields print in loc, or in their own zone when loc is nil.
func formatRecord(r *recordValue, loc *time.Location) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, v := range r.values {
		if i > 0 {
			b.WriteByte(',')
		}
		if v == nil {
			continue
		}
		var s string
		switch x := v.(type) {
		case *recordValue:
			s = formatRecord(x, loc)
		case []any:
			s = formatArray(x, arrayElem(r.types[i]), loc)
		default:
			s = arrayElementText(v, r.types[i], loc)
		}
		if s != "" && !strings.ContainsAny(s, "\"\\(), \t\n\r\v\f") {
			b.WriteString(s)
			continue
		}
		b.WriteByte('"')
		for _, c := range []byte(s) {
			if c == '"' || c == '\\' {
				b.WriteByte(c)
			}
			b.WriteByte(c)
		}
		b.WriteByte('"')
	}
	b.WriteByte(')')
	return b.String()
}

// newRecord makes the record of one output row of a set-returning
// function with the given output columns.
func newRecord(fields []scopeColumn, values []any) *recordValue {
	types := make([]uint32, len(fields))
	names := make([]string, len(fields))
	for i, f := range fields {
		types[i], names[i] = f.typ.OID, f.name
	}
	return &recordValue{values: values, types: types, names: names}
}

// recordFields returns the fields of a record-valued expression, or nil
// when e is not a record or its fields are not known.
func recordFields(e expr) []scopeColumn {
	switch x := e.(type) {
	case *srfRefExpr:
		return x.call.fields
	case *columnExpr:
		return x.fields
	case *outerColumnExpr:
		return x.fields
	case *wholeRowExpr:
		return x.fields
	}
	return nil
}

// wholeRowExpr is a reference to a FROM item by its name, such as t in
// SELECT row_to_json(t) FROM t: a record of the item's visible columns.
type wholeRowExpr struct {
	cols   []expr
	fields []scopeColumn
}

func (e *wholeRowExpr) eval(ec *evalContext, row []any) (any, error) {
	values := make([]any, len(e.cols))
	for i, c := range e.cols {
		v, err := c.eval(ec, row)
		if err != nil {
			return nil, err
		}
		values[i] = v
	}
	return newRecord(e.fields, values), nil
}

func (e *wholeRowExpr) resultType() catalog.ColumnType { return plainType(oidRecord) }

// buildWholeRow builds a reference to the FROM item named table, of this
// query or an enclosing one. ok is false when no item has that name.
func (b *builder) buildWholeRow(table string) (e expr, ok bool) {
	depth := 0
	for s := b.scope; s != nil; s = s.parent {
		w := &wholeRowExpr{}
		for i, c := range s.cols {
			if c.table != table || c.hidden || c.usingMerged {
				continue
			}
			var col expr = &columnExpr{idx: i, typ: c.typ, name: c.name, fields: c.fields}
			if depth > 0 {
				col = &outerColumnExpr{depth: depth, idx: i, typ: c.typ, fields: c.fields}
			}
			w.cols = append(w.cols, col)
			w.fields = append(w.fields, scopeColumn{name: c.name, typ: c.typ, fields: c.fields})
		}
		if len(w.cols) > 0 {
			for inner := b.scope; inner != s; inner = inner.parent {
				inner.correlated = true
			}
			return w, true
		}
		depth++
	}
	return nil, false
}

// setOpRecordFields returns the fields of a record column of a set
// operation: the left query's, when the right query's record has fields
// of the same types.
func setOpRecordFields(left, right expr) []scopeColumn {
	lf, rf := recordFields(left), recordFields(right)
	if len(lf) != len(rf) {
		return nil
	}
	for i := range lf {
		if lf[i].typ != rf[i].typ {
			return nil
		}
	}
	return lf
}

// compareRecords orders two records field by field, with NULL after
// every value, as PostgreSQL's btree comparison of records does.
func compareRecords(a, b *recordValue) int {
	for i := 0; i < len(a.values) && i < len(b.values); i++ {
		x, y := a.values[i], b.values[i]
		switch {
		case x == nil && y == nil:
			continue
		case x == nil:
			return 1
		case y == nil:
			return -1
		}
		if c := compareTyped(x, y, a.types[i]); c != 0 {
			return c
		}
	}
	return cmpInt(int64(len(a.values)), int64(len(b.values)))
}

// encodeRecordKey appends the key form of a record for grouping: its
// fields' key forms, wrapped as bytes.
func encodeRecordKey(buf []byte, r *recordValue) ([]byte, error) {
	var body []byte
	var err error
	for i, v := range r.values {
		if body, err = encodeKeyDatum(body, v, r.types[i]); err != nil {
			return nil, err
		}
	}
	return kv.EncodeBytes(buf, body), nil
}

// fieldSelectExpr is the field selection (arg).name on a record.
type fieldSelectExpr struct {
	arg expr
	idx int
	typ catalog.ColumnType
}

func (e *fieldSelectExpr) eval(ec *evalContext, row []any) (any, error) {
	v, err := e.arg.eval(ec, row)
	if err != nil || v == nil {
		return nil, err
	}
	r, ok := v.(*recordValue)
	if !ok || e.idx >= len(r.values) {
		return nil, pgerror.Internal("field selection from a %T value", v)
	}
	return r.values[e.idx], nil
}

func (e *fieldSelectExpr) resultType() catalog.ColumnType { return e.typ }

// buildFieldSelection builds (arg).name. location is the position of the
// expression in the statement.
func (b *builder) buildFieldSelection(arg expr, name string, location int32) (expr, error) {
	t := arg.resultType().OID
	if t != oidRecord {
		return nil, pgerror.Newf(pgcode.WrongObjectType, "column notation .%s applied to type %s, which is not a composite type", name, typeName(t)).
			WithPosition(location + 1)
	}
	for i, f := range recordFields(arg) {
		if f.name == name {
			return &fieldSelectExpr{arg: arg, idx: i, typ: f.typ}, nil
		}
	}
	return nil, pgerror.Newf(pgcode.UndefinedColumn, "could not identify column %q in record data type", name).WithPosition(location + 1)
}
