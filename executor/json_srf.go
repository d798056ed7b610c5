package executor

import (
	"encoding/json"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// The json set-returning functions: json[b]_each, json[b]_each_text,
// json[b]_array_elements, json[b]_array_elements_text and
// json[b]_object_keys. A jsonb text is normalized, so its members come
// out in jsonb key order with one entry per key, and a json text gives
// them in input order with duplicates, as in PostgreSQL.

func init() {
	for _, typ := range []uint32{oidJSON, oidJSONB} {
		prefix := typeName(typ)
		for _, asText := range []bool{false, true} {
			suffix, valueType := "", typ
			if asText {
				suffix, valueType = "_text", oidText
			}
			setFunctions[prefix+"_each"+suffix] = jsonEachFunction(prefix+"_each"+suffix, typ, valueType, asText)
			setFunctions[prefix+"_array_elements"+suffix] = jsonElementsFunction(prefix+"_array_elements"+suffix, typ, valueType, asText)
		}
		setFunctions[prefix+"_object_keys"] = jsonObjectKeysFunction(prefix+"_object_keys", typ)
		setFunctions[prefix+"_to_record"] = jsonToRecordFunction(prefix+"_to_record", typ, false)
		setFunctions[prefix+"_to_recordset"] = jsonToRecordFunction(prefix+"_to_recordset", typ, true)
	}
}

func jsonEachFunction(name string, typ, valueType uint32, asText bool) setFunction {
	return setFunction{
		argTypes: []uint32{typ},
		columns: func([]expr) []scopeColumn {
			return []scopeColumn{{name: "key", typ: plainType(oidText)}, {name: "value", typ: plainType(valueType)}}
		},
		rows: func(_ *evalContext, a []any) ([][]any, error) {
			if a[0] == nil {
				return nil, nil
			}
			kind, keys, values, err := decodeJSONOrdered(a[0].(string))
			if err != nil {
				return nil, err
			}
			if kind != '{' {
				return nil, jsonEachError(name, typ, kind)
			}
			out := make([][]any, len(keys))
			for i, k := range keys {
				out[i] = []any{k, jsonResult(values[i], asText)}
			}
			return out, nil
		},
	}
}

func jsonEachError(name string, typ uint32, kind byte) error {
	msg := "cannot call " + name + " on a non-object"
	if typ == oidJSON {
		msg = "cannot deconstruct a scalar"
		if kind == '[' {
			msg = "cannot deconstruct an array as an object"
		}
	}
	return pgerror.New(pgcode.InvalidParameterValue, msg)
}

func jsonElementsFunction(name string, typ, valueType uint32, asText bool) setFunction {
	return setFunction{
		argTypes: []uint32{typ},
		columns: func([]expr) []scopeColumn {
			return []scopeColumn{{name: "value", typ: plainType(valueType)}}
		},
		outParameter: true,
		rows: func(_ *evalContext, a []any) ([][]any, error) {
			if a[0] == nil {
				return nil, nil
			}
			kind, _, values, err := decodeJSONOrdered(a[0].(string))
			if err != nil {
				return nil, err
			}
			if kind != '[' {
				return nil, jsonElementsError(name, typ, kind)
			}
			out := make([][]any, len(values))
			for i, v := range values {
				out[i] = []any{jsonResult(v, asText)}
			}
			return out, nil
		},
	}
}

func jsonElementsError(name string, typ uint32, kind byte) error {
	var msg string
	switch {
	case typ == oidJSONB && kind == '{':
		msg = "cannot extract elements from an object"
	case typ == oidJSONB:
		msg = "cannot extract elements from a scalar"
	case kind == '{':
		msg = "cannot call " + name + " on a non-array"
	default:
		msg = "cannot call " + name + " on a scalar"
	}
	return pgerror.New(pgcode.InvalidParameterValue, msg)
}

func jsonObjectKeysFunction(name string, typ uint32) setFunction {
	return setFunction{
		argTypes: []uint32{typ},
		columns: func([]expr) []scopeColumn {
			return []scopeColumn{{name: name, typ: plainType(oidText)}}
		},
		rows: func(_ *evalContext, a []any) ([][]any, error) {
			if a[0] == nil {
				return nil, nil
			}
			kind, keys, _, err := decodeJSONOrdered(a[0].(string))
			if err != nil {
				return nil, err
			}
			switch kind {
			case '{':
			case '[':
				return nil, pgerror.Newf(pgcode.InvalidParameterValue, "cannot call %s on an array", name)
			default:
				return nil, pgerror.Newf(pgcode.InvalidParameterValue, "cannot call %s on a scalar", name)
			}
			out := make([][]any, len(keys))
			for i, k := range keys {
				out[i] = []any{k}
			}
			return out, nil
		},
	}
}

// jsonToRecordFunction returns json[b]_to_record, which makes one row of
// an object, or with set json[b]_to_recordset, which makes a row of each
// object of an array. The output columns come from the column definition
// list in FROM, as in FROM jsonb_to_recordset(d) AS x(a int, b text).
func jsonToRecordFunction(name string, typ uint32, set bool) setFunction {
	return setFunction{
		argTypes: []uint32{typ},
		withColumnList: func(cols []scopeColumn) setFunction {
			return setFunction{
				argTypes: []uint32{typ},
				columns: func([]expr) []scopeColumn {
					return append([]scopeColumn(nil), cols...)
				},
				rows: func(ec *evalContext, a []any) ([][]any, error) {
					if a[0] == nil {
						return nil, nil
					}
					return jsonToRecordRows(ec, name, typ, set, a[0].(string), cols)
				},
			}
		},
	}
}

func jsonToRecordRows(ec *evalContext, name string, typ uint32, set bool, doc string, cols []scopeColumn) ([][]any, error) {
	objects := []string{doc}
	if set {
		kind, _, values, err := decodeJSONOrdered(doc)
		if err != nil {
			return nil, err
		}
		switch {
		case kind == '[':
		case typ == oidJSONB:
			return nil, pgerror.Newf(pgcode.InvalidParameterValue, "cannot call %s on a non-array", name)
		case kind == '{':
			return nil, pgerror.Newf(pgcode.InvalidParameterValue, "cannot call %s on an object", name)
		default:
			return nil, pgerror.Newf(pgcode.InvalidParameterValue, "cannot call %s on a scalar", name)
		}
		objects = objects[:0]
		for _, v := range values {
			objects = append(objects, string(v))
		}
	}
	out := make([][]any, 0, len(objects))
	for _, obj := range objects {
		kind, keys, values, err := decodeJSONOrdered(obj)
		if err != nil {
			return nil, err
		}
		switch {
		case kind == '{':
		case set:
			return nil, pgerror.Newf(pgcode.InvalidParameterValue, "argument of %s must be an array of objects", name)
		case kind == '[':
			return nil, pgerror.New(pgcode.InvalidParameterValue, "cannot call populate_composite on an array")
		default:
			return nil, pgerror.New(pgcode.InvalidParameterValue, "cannot call populate_composite on a scalar")
		}
		// The last of duplicate json keys wins, as in PostgreSQL.
		members := make(map[string]json.RawMessage, len(keys))
		for i, k := range keys {
			members[k] = values[i]
		}
		row := make([]any, len(cols))
		for i, c := range cols {
			raw, ok := members[c.name]
			if !ok {
				continue
			}
			if row[i], err = jsonToColumnValue(ec, raw, c.typ); err != nil {
				return nil, err
			}
		}
		out = append(out, row)
	}
	return out, nil
}

// jsonToColumnValue converts a JSON value to a column of type typ: a JSON
// array to an array, json and jsonb to their text, a string to the input
// of typ, and any other value through its JSON text.
func jsonToColumnValue(ec *evalContext, raw json.RawMessage, typ catalog.ColumnType) (any, error) {
	loc := ec.sess.location()
	switch {
	case string(raw) == "null":
		return nil, nil
	case typ.OID == oidJSON:
		return string(raw), nil
	case typ.OID == oidJSONB:
		return normalizeJSONB(string(raw))
	case isArrayType(typ.OID) && len(raw) > 0 && raw[0] == '[':
		return jsonToArray(ec, raw, typ)
	}
	return castDatum(jsonResult(raw, true), oidText, typ, true, loc)
}

// jsonToArray converts a JSON array, whose nested arrays are the inner
// dimensions, to an array of type typ.
func jsonToArray(ec *evalContext, raw json.RawMessage, typ catalog.ColumnType) (any, error) {
	_, _, values, err := decodeJSONOrdered(string(raw))
	if err != nil {
		return nil, err
	}
	elem := catalog.ColumnType{OID: arrayElem(typ.OID), TypMod: typ.TypMod}
	out := make([]any, len(values))
	for i, v := range values {
		if len(v) > 0 && v[0] == '[' {
			out[i], err = jsonToArray(ec, v, typ)
		} else {
			out[i], err = jsonToColumnValue(ec, v, elem)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
