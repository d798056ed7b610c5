package executor

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// The json aggregates json_agg, jsonb_agg, json_object_agg and
// jsonb_object_agg. accumulate turns each input into JSON text with
// jsonAggInput, so that addAggregateValue and the ORDER BY replay, which
// run without an evaluation context, only collect text. json_object_agg
// keeps its key in aggSpec.arg and its value in aggSpec.delimiter.

func isJSONAggregate(name string) bool {
	switch name {
	case "json_agg", "jsonb_agg", "json_object_agg", "jsonb_object_agg":
		return true
	}
	return false
}

func isJSONObjectAggregate(name string) bool {
	return name == "json_object_agg" || name == "jsonb_object_agg"
}

// jsonAggSpec builds the arguments of a json aggregate and types its
// result.
func (b *builder) jsonAggSpec(spec *aggSpec, fc *pg_query.FuncCall) error {
	var args []expr
	for _, n := range fc.Args {
		e, err := b.build(n)
		if err != nil {
			return err
		}
		if e.resultType().OID == oidUnknown {
			if !isJSONObjectAggregate(spec.name) {
				return pgerror.New(pgcode.DatatypeMismatch, "could not determine polymorphic type because input has type unknown")
			}
			if e, err = b.castTo(e, plainType(oidText), false); err != nil {
				return err
			}
		}
		args = append(args, e)
	}
	want := 1
	if isJSONObjectAggregate(spec.name) {
		want = 2
	}
	if len(args) != want {
		types := make([]string, len(args))
		for i, a := range args {
			types[i] = typeName(a.resultType().OID)
		}
		return pgerror.Newf(pgcode.UndefinedFunction, "function %s(%s) does not exist", spec.name, strings.Join(types, ", ")).
			WithHint("No function matches the given name and argument types. You might need to add explicit type casts.").
			WithPosition(fc.Location + 1)
	}
	if spec.distinct {
		for _, a := range args {
			if a.resultType().OID == oidJSON {
				return pgerror.New(pgcode.UndefinedFunction, "could not identify an equality operator for type json")
			}
		}
	}
	spec.arg = args[0]
	if want == 2 {
		spec.delimiter = args[1]
	}
	spec.typ = plainType(oidJSON)
	if strings.HasPrefix(spec.name, "jsonb") {
		spec.typ = plainType(oidJSONB)
	}
	return b.aggregateOrder(spec, fc)
}

// jsonAggInput converts one input of a json aggregate to JSON text: the
// value, or for the object aggregates the key and the value.
func jsonAggInput(ec *evalContext, spec *aggSpec, v, value any) (any, any, error) {
	var buf strings.Builder
	if !isJSONObjectAggregate(spec.name) {
		writeJSONValue(&buf, ec, v, spec.arg.resultType().OID)
		return buf.String(), nil, nil
	}
	if v == nil {
		return nil, nil, pgerror.New(pgcode.InvalidParameterValue, "field name must not be null")
	}
	keyType := spec.arg.resultType().OID
	if isArrayType(keyType) || isJSONType(keyType) || keyType == oidRecord {
		return nil, nil, pgerror.New(pgcode.InvalidParameterValue, "key value must be scalar, not array, composite, or json")
	}
	var key strings.Builder
	writeJSONString(&key, textOf(v, keyType))
	writeJSONValue(&buf, ec, value, spec.delimiter.resultType().OID)
	return key.String(), buf.String(), nil
}

// appendJSONAgg adds converted inputs to a json aggregate's state: the
// values, or alternating keys and values.
func appendJSONAgg(spec *aggSpec, st *aggState, v, value any) {
	st.items = append(st.items, v)
	if isJSONObjectAggregate(spec.name) {
		st.items = append(st.items, value)
	}
}

// jsonAggResult prints a json aggregate's result as PostgreSQL 15 does.
// json_agg starts each array or record element after the first on a new
// line, and json_object_agg writes { "k" : v, ... }. The jsonb results
// are normalized.
func jsonAggResult(spec *aggSpec, st *aggState) (any, error) {
	if st.count == 0 {
		return nil, nil
	}
	var b strings.Builder
	if isJSONObjectAggregate(spec.name) {
		b.WriteString("{ ")
		for i := 0; i < len(st.items); i += 2 {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(st.items[i].(string))
			b.WriteString(" : ")
			b.WriteString(st.items[i+1].(string))
		}
		b.WriteString(" }")
	} else {
		argType := spec.arg.resultType().OID
		structured := isArrayType(argType) || argType == oidRecord
		b.WriteByte('[')
		for i, item := range st.items {
			if i > 0 {
				b.WriteString(", ")
				if structured && item != "null" {
					b.WriteString("\n ")
				}
			}
			b.WriteString(item.(string))
		}
		b.WriteByte(']')
	}
	if spec.typ.OID == oidJSONB {
		return normalizeJSONB(b.String())
	}
	return b.String(), nil
}
