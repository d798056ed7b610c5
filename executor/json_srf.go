package executor

import (
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
