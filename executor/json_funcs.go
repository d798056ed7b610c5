package executor

import (
	"encoding/json"
	"math"
	"strings"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// jsonb_set, jsonb_insert, json[b]_strip_nulls and jsonb_pretty.

// jsonbPathEdit is the change that jsonbSetPath makes at the end of the
// path.
type jsonbPathEdit struct {
	// insert marks jsonb_insert, which adds the value before an array
	// element (after it, with after) and never replaces an object member.
	insert, after bool
	// create lets jsonb_set add a missing last key or array element.
	create bool
}

func (e jsonbPathEdit) adds() bool { return e.insert || e.create }

// jsonbSetPath puts value at path[level:] below doc, following
// PostgreSQL 15's setPath. A missing intermediate key or element changes
// nothing. An array index past either end adds the value at that end when
// the edit adds values.
func jsonbSetPath(doc any, path []*string, level int, value any, edit jsonbPathEdit) (any, error) {
	step, err := jsonPathStep(path, level)
	if err != nil {
		return nil, err
	}
	last := level == len(path)-1
	switch x := doc.(type) {
	case map[string]any:
		v, exists := x[step]
		if !exists && !(last && edit.adds()) {
			return x, nil
		}
		if last && exists && edit.insert {
			return nil, pgerror.New(pgcode.InvalidParameterValue, "cannot replace existing key").
				WithHint("Try using the function jsonb_set to replace key value.")
		}
		out := make(map[string]any, len(x)+1)
		for k, member := range x {
			out[k] = member
		}
		if last {
			out[step] = value
			return out, nil
		}
		if out[step], err = jsonbSetPath(v, path, level+1, value, edit); err != nil {
			return nil, err
		}
		return out, nil
	case []any:
		idx, err := jsonArrayIndex(step, level)
		if err != nil {
			return nil, err
		}
		n := len(x)
		if idx < 0 {
			if -idx > n {
				idx = math.MinInt
			} else {
				idx += n
			}
		}
		idx = min(idx, n)
		if !last {
			if idx < 0 || idx >= n {
				return x, nil
			}
			out := append([]any(nil), x...)
			if out[idx], err = jsonbSetPath(x[idx], path, level+1, value, edit); err != nil {
				return nil, err
			}
			return out, nil
		}
		out := make([]any, 0, n+1)
		switch {
		case (idx < 0 || n == 0) && edit.adds():
			out = append(append(out, value), x...)
		case idx < 0 || idx == n:
			out = append(out, x...)
			if idx == n && edit.adds() {
				out = append(out, value)
			}
		case !edit.insert:
			out = append(append(append(out, x[:idx]...), value), x[idx+1:]...)
		case edit.after:
			out = append(append(append(out, x[:idx+1]...), value), x[idx+1:]...)
		default:
			out = append(append(append(out, x[:idx]...), value), x[idx:]...)
		}
		return out, nil
	}
	return doc, nil
}

// jsonbSet is jsonb_set(target, path, new_value [, create_if_missing]).
func jsonbSet(_ *evalContext, a []any) (any, error) {
	create := len(a) < 4 || a[3] == true
	return jsonbEditPath(a, jsonbPathEdit{create: create})
}

// jsonbInsert is jsonb_insert(target, path, new_value [, insert_after]).
func jsonbInsert(_ *evalContext, a []any) (any, error) {
	after := len(a) == 4 && a[3] == true
	return jsonbEditPath(a, jsonbPathEdit{insert: true, after: after})
}

func jsonbEditPath(a []any, edit jsonbPathEdit) (any, error) {
	doc, err := decodeJSON(a[0].(string))
	if err != nil {
		return nil, err
	}
	if !isJSONContainer(doc) {
		return nil, pgerror.New(pgcode.InvalidParameterValue, "cannot set path in scalar")
	}
	path, err := jsonPathArray(a[1])
	if err != nil {
		return nil, err
	}
	if len(path) == 0 {
		return a[0], nil
	}
	value, err := decodeJSON(a[2].(string))
	if err != nil {
		return nil, err
	}
	out, err := jsonbSetPath(doc, path, 0, value, edit)
	if err != nil {
		return nil, err
	}
	return jsonbText(out), nil
}

// jsonbStripNulls is jsonb_strip_nulls: it removes the object members
// whose value is null, at every depth. Array elements stay.
func jsonbStripNulls(_ *evalContext, a []any) (any, error) {
	doc, err := decodeJSON(a[0].(string))
	if err != nil {
		return nil, err
	}
	return jsonbText(stripJSONNulls(doc)), nil
}

func stripJSONNulls(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, member := range x {
			if member != nil {
				out[k] = stripJSONNulls(member)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, el := range x {
			out[i] = stripJSONNulls(el)
		}
		return out
	}
	return v
}

// jsonStripNulls is json_strip_nulls. Like PostgreSQL it keeps the order
// and duplicates of object keys and prints the result without spaces.
func jsonStripNulls(_ *evalContext, a []any) (any, error) {
	var b strings.Builder
	if err := writeJSONStripped(&b, a[0].(string)); err != nil {
		return nil, err
	}
	return b.String(), nil
}

func writeJSONStripped(b *strings.Builder, s string) error {
	kind, keys, values, err := decodeJSONOrdered(s)
	if err != nil {
		return err
	}
	switch kind {
	case '{':
		b.WriteByte('{')
		first := true
		for i, k := range keys {
			if string(values[i]) == "null" {
				continue
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			writeJSONString(b, k)
			b.WriteByte(':')
			if err := writeJSONStripped(b, string(values[i])); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case '[':
		b.WriteByte('[')
		for i, v := range values {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSONStripped(b, string(v)); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	default:
		raw := strings.TrimSpace(s)
		if strings.HasPrefix(raw, `"`) {
			var str string
			if json.Unmarshal([]byte(raw), &str) == nil {
				writeJSONString(b, str)
				return nil
			}
		}
		b.WriteString(raw)
	}
	return nil
}

// jsonbPretty is jsonb_pretty: one member or element per line, indented
// by four spaces per level. An empty container still takes two lines.
func jsonbPretty(_ *evalContext, a []any) (any, error) {
	doc, err := decodeJSON(a[0].(string))
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	writeJSONBPretty(&b, doc, 0)
	return b.String(), nil
}

func writeJSONBPretty(b *strings.Builder, v any, depth int) {
	indent := strings.Repeat("    ", depth)
	inner := indent + "    "
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sortJSONBKeys(keys)
		b.WriteString("{\n")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(",\n")
			}
			b.WriteString(inner)
			writeJSONB(b, k)
			b.WriteString(": ")
			writeJSONBPretty(b, x[k], depth+1)
		}
		if len(keys) > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(indent + "}")
	case []any:
		b.WriteString("[\n")
		for i, el := range x {
			if i > 0 {
				b.WriteString(",\n")
			}
			b.WriteString(inner)
			writeJSONBPretty(b, el, depth+1)
		}
		if len(x) > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(indent + "]")
	default:
		writeJSONB(b, v)
	}
}

func init() {
	set := []uint32{oidJSONB, oidTextArray, oidJSONB}
	jsonBuiltins["jsonb_set"] = []builtin{
		{argTypes: set, result: fixed(oidJSONB), strict: true, fn: jsonbSet},
		{argTypes: append(set, oidBool), result: fixed(oidJSONB), strict: true, fn: jsonbSet},
	}
	jsonBuiltins["jsonb_insert"] = []builtin{
		{argTypes: set, result: fixed(oidJSONB), strict: true, fn: jsonbInsert},
		{argTypes: append(set, oidBool), result: fixed(oidJSONB), strict: true, fn: jsonbInsert},
	}
	jsonBuiltins["jsonb_strip_nulls"] = []builtin{{argTypes: []uint32{oidJSONB}, result: fixed(oidJSONB), strict: true, fn: jsonbStripNulls}}
	jsonBuiltins["json_strip_nulls"] = []builtin{{argTypes: []uint32{oidJSON}, result: fixed(oidJSON), strict: true, fn: jsonStripNulls}}
	jsonBuiltins["jsonb_pretty"] = []builtin{{argTypes: []uint32{oidJSONB}, result: fixed(oidText), strict: true, fn: jsonbPretty}}
}
