package executor

import (
	"strings"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// Values of the anonymous composite type record. pgkeep makes them only
// from a set-returning function with several output columns called in a
// SELECT list, such as information_schema._pg_expandarray(a), and field
// selection such as (_pg_expandarray(a)).n reads their fields. The field
// names and types are known when the query is built: a record-valued
// expression or column carries them as a []scopeColumn.

// informationSchemaFunctions are the functions that exist only in
// information_schema.
var informationSchemaFunctions = map[string]bool{"_pg_expandarray": true}

// recordValue is a value of type record.
type recordValue struct {
	values []any
	// types are the type OIDs of values, used to print them.
	types []uint32
}

// TextValue sends a record in text format, as pgtype.TextValuer.
func (r *recordValue) TextValue() (pgtype.Text, error) {
	return pgtype.Text{String: formatRecord(r), Valid: true}, nil
}

// formatRecord prints r as PostgreSQL's record_out does: (a,b), with
// nothing for NULL, and double quotes around a value that is empty or
// contains a quote, backslash, parenthesis, comma or white space.
func formatRecord(r *recordValue) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, v := range r.values {
		if i > 0 {
			b.WriteByte(',')
		}
		if v == nil {
			continue
		}
		s := formatDatum(v, r.types[i])
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
	for i, f := range fields {
		types[i] = f.typ.OID
	}
	return &recordValue{values: values, types: types}
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
	}
	return nil
}

// fieldSelectExpr reads one field of a record: (arg).name.
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
