package executor

import (
	"encoding/json"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// The jsonb operators that build a new value: || (concatenation), - (key
// or element deletion) and #- (deletion at a path). They work on the
// decoded value (see decodeJSON) and print the result with writeJSONB.

// isJSONBConcat reports whether l || r is jsonb concatenation: jsonb with
// jsonb or with an unknown literal, which PostgreSQL resolves to jsonb.
func isJSONBConcat(lt, rt uint32) bool {
	return (lt == oidJSONB && (rt == oidJSONB || rt == oidUnknown)) || (rt == oidJSONB && lt == oidUnknown)
}

// jsonbEditExpr is jsonb || jsonb, jsonb - text, jsonb - int,
// jsonb - text[] and jsonb #- text[].
type jsonbEditExpr struct {
	op          string
	left, right expr
	// rightType is the type of right: jsonb, text, int4 or text[].
	rightType uint32
}

func (b *builder) buildJSONBConcat(l, r expr) (expr, error) {
	var err error
	if l, err = b.castTo(l, plainType(oidJSONB), false); err != nil {
		return nil, err
	}
	if r, err = b.castTo(r, plainType(oidJSONB), false); err != nil {
		return nil, err
	}
	return &jsonbEditExpr{op: "||", left: l, right: r, rightType: oidJSONB}, nil
}

// buildJSONBDelete builds jsonb - key, jsonb - index, jsonb - keys and
// jsonb #- path. An unknown literal after - is a key, as in PostgreSQL,
// which prefers text among the candidates.
func (b *builder) buildJSONBDelete(op string, l, r expr, location int32) (expr, error) {
	rt := r.resultType().OID
	var want uint32
	switch {
	case op == "#-" && (rt == oidUnknown || rt == oidTextArray):
		want = oidTextArray
	case op == "#-":
	case rt == oidUnknown || isStringType(rt):
		want = oidText
	case rt == oidInt2 || rt == oidInt4:
		want = oidInt4
	case rt == oidTextArray:
		want = oidTextArray
	}
	if want == 0 {
		return nil, undefinedOperator(op, "jsonb", rt, location)
	}
	r, err := b.castTo(r, plainType(want), false)
	if err != nil {
		return nil, err
	}
	return &jsonbEditExpr{op: op, left: l, right: r, rightType: want}, nil
}

func (e *jsonbEditExpr) eval(ec *evalContext, row []any) (any, error) {
	l, r, err := evalOperands(ec, row, e.left, e.right)
	if err != nil || l == nil || r == nil {
		return nil, err
	}
	doc, err := decodeJSON(l.(string))
	if err != nil {
		return nil, err
	}
	var out any
	switch {
	case e.op == "||":
		other, err := decodeJSON(r.(string))
		if err != nil {
			return nil, err
		}
		out = jsonbConcat(doc, other)
	case e.op == "#-":
		path, err := jsonPathArray(r)
		if err != nil {
			return nil, err
		}
		if !isJSONContainer(doc) {
			return nil, pgerror.New(pgcode.InvalidParameterValue, "cannot delete path in scalar")
		}
		if out, err = jsonbDeletePath(doc, path, 0); err != nil {
			return nil, err
		}
	case e.rightType == oidInt4:
		if out, err = jsonbDeleteIndex(doc, r.(int64)); err != nil {
			return nil, err
		}
	default:
		keys := []any{r}
		if e.rightType == oidTextArray {
			keys = r.([]any)
		}
		if out, err = jsonbDeleteKeys(doc, keys); err != nil {
			return nil, err
		}
	}
	return jsonbText(out), nil
}

func (e *jsonbEditExpr) resultType() catalog.ColumnType { return plainType(oidJSONB) }

// jsonbText prints a decoded jsonb value.
func jsonbText(v any) string {
	var b strings.Builder
	writeJSONB(&b, v)
	return b.String()
}

func isJSONContainer(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return true
	}
	return false
}

// jsonbConcat follows PostgreSQL's jsonb ||: two objects merge with the
// right one's members winning, and otherwise both sides become arrays (a
// non-array is wrapped in one) that are concatenated.
func jsonbConcat(a, b any) any {
	ao, aObject := a.(map[string]any)
	bo, bObject := b.(map[string]any)
	if aObject && bObject {
		out := make(map[string]any, len(ao)+len(bo))
		for k, v := range ao {
			out[k] = v
		}
		for k, v := range bo {
			out[k] = v
		}
		return out
	}
	aa, ok := a.([]any)
	if !ok {
		aa = []any{a}
	}
	ba, ok := b.([]any)
	if !ok {
		ba = []any{b}
	}
	return append(append(make([]any, 0, len(aa)+len(ba)), aa...), ba...)
}

// jsonbDeleteKeys is jsonb - text and jsonb - text[]: it removes the
// members with these keys from an object, or the string elements equal
// to one of them from an array. NULL keys match nothing.
func jsonbDeleteKeys(doc any, keys []any) (any, error) {
	drop := make(map[string]bool, len(keys))
	for _, k := range keys {
		if s, ok := k.(string); ok {
			drop[s] = true
		}
	}
	switch x := doc.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, v := range x {
			if !drop[k] {
				out[k] = v
			}
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(x))
		for _, v := range x {
			if s, ok := v.(string); !ok || !drop[s] {
				out = append(out, v)
			}
		}
		return out, nil
	}
	return nil, pgerror.New(pgcode.InvalidParameterValue, "cannot delete from scalar")
}

// jsonbDeleteIndex is jsonb - int: it removes an array element, counting
// from the end for a negative index. An index out of range changes
// nothing.
func jsonbDeleteIndex(doc any, idx int64) (any, error) {
	switch x := doc.(type) {
	case []any:
		if idx < 0 {
			idx += int64(len(x))
		}
		if idx < 0 || idx >= int64(len(x)) {
			return x, nil
		}
		return append(append(make([]any, 0, len(x)-1), x[:idx]...), x[idx+1:]...), nil
	case map[string]any:
		return nil, pgerror.New(pgcode.InvalidParameterValue, "cannot delete from object using integer index")
	}
	return nil, pgerror.New(pgcode.InvalidParameterValue, "cannot delete from scalar")
}

// jsonPathArray returns the elements of a text[] path, which must have
// one dimension. A nil element is NULL.
func jsonPathArray(v any) ([]*string, error) {
	items, _ := v.([]any)
	path := make([]*string, len(items))
	for i, item := range items {
		switch s := item.(type) {
		case nil:
		case string:
			path[i] = &s
		default:
			return nil, pgerror.New(pgcode.ArraySubscriptError, "wrong number of array subscripts")
		}
	}
	return path, nil
}

// jsonPathStep checks the path element at level before it is applied to
// a container.
func jsonPathStep(path []*string, level int) (string, error) {
	if path[level] == nil {
		return "", pgerror.Newf(pgcode.NullValueNotAllowed, "path element at position %d is null", level+1)
	}
	return *path[level], nil
}

// jsonArrayIndex reads a path element applied to an array.
func jsonArrayIndex(step string, level int) (int, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(step), 10, 32)
	if err != nil {
		return 0, pgerror.Newf(pgcode.InvalidTextRepresentation, "path element at position %d is not an integer: %q", level+1, step)
	}
	return int(n), nil
}

// jsonbDeletePath removes the value at path[level:] below doc. A path
// that leads nowhere changes nothing.
func jsonbDeletePath(doc any, path []*string, level int) (any, error) {
	if level >= len(path) {
		return doc, nil
	}
	step, err := jsonPathStep(path, level)
	if err != nil {
		return nil, err
	}
	last := level == len(path)-1
	switch x := doc.(type) {
	case map[string]any:
		v, ok := x[step]
		if !ok {
			return x, nil
		}
		out := make(map[string]any, len(x))
		for k, member := range x {
			out[k] = member
		}
		if last {
			delete(out, step)
			return out, nil
		}
		if out[step], err = jsonbDeletePath(v, path, level+1); err != nil {
			return nil, err
		}
		return out, nil
	case []any:
		idx, err := jsonArrayIndex(step, level)
		if err != nil {
			return nil, err
		}
		if idx < 0 {
			idx += len(x)
		}
		if idx < 0 || idx >= len(x) {
			return x, nil
		}
		if last {
			return append(append(make([]any, 0, len(x)-1), x[:idx]...), x[idx+1:]...), nil
		}
		out := append([]any(nil), x...)
		if out[idx], err = jsonbDeletePath(x[idx], path, level+1); err != nil {
			return nil, err
		}
		return out, nil
	}
	return doc, nil
}

// decodeJSONOrdered splits a JSON object into its keys and raw values, in
// input order and with duplicates, or an array into its raw elements.
// kind is '{', '[' or 0 for a scalar.
func decodeJSONOrdered(s string) (kind byte, keys []string, values []json.RawMessage, err error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return 0, nil, nil, invalidInput(oidJSON, s).WithDetail("The input is not valid JSON.")
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return 0, nil, nil, nil
	}
	kind = byte(d)
	for dec.More() {
		if kind == '{' {
			k, err := dec.Token()
			if err != nil {
				return 0, nil, nil, invalidInput(oidJSON, s).WithDetail("The input is not valid JSON.")
			}
			keys = append(keys, k.(string))
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return 0, nil, nil, invalidInput(oidJSON, s).WithDetail("The input is not valid JSON.")
		}
		values = append(values, raw)
	}
	return kind, keys, values, nil
}

// jsonbSubscriptExpr is a jsonb subscript such as d['a'][0], which reads
// the path of its subscripts like d #> ARRAY['a', '0'] in PostgreSQL 14
// and later.
type jsonbSubscriptExpr struct {
	arg   expr
	steps []expr
}

// buildJSONBSubscripts builds a run of subscripts on a jsonb value. Each
// subscript is an integer or text, and an unknown literal is text.
func (b *builder) buildJSONBSubscripts(arg expr, run []*pg_query.A_Indices) (expr, error) {
	e := &jsonbSubscriptExpr{arg: arg}
	for _, idx := range run {
		if idx.IsSlice {
			return nil, pgerror.New(pgcode.DatatypeMismatch, "jsonb subscript does not support slices").WithPosition(nodeLocation(idx.Uidx) + 1)
		}
		step, err := b.build(idx.Uidx)
		if err != nil {
			return nil, err
		}
		t := step.resultType().OID
		switch {
		case t == oidInt2 || t == oidInt4:
		case t == oidUnknown || isStringType(t):
			if step, err = b.castTo(step, plainType(oidText), false); err != nil {
				return nil, err
			}
		default:
			return nil, pgerror.Newf(pgcode.DatatypeMismatch, "subscript type %s is not supported", typeName(t)).
				WithHint("jsonb subscript must be coercible to either integer or text.").WithPosition(nodeLocation(idx.Uidx) + 1)
		}
		e.steps = append(e.steps, step)
	}
	return e, nil
}

func (e *jsonbSubscriptExpr) eval(ec *evalContext, row []any) (any, error) {
	doc, err := e.arg.eval(ec, row)
	if err != nil {
		return nil, err
	}
	steps := make([]*string, len(e.steps))
	for i, s := range e.steps {
		v, err := s.eval(ec, row)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return nil, nil
		}
		text := textOf(v, s.resultType().OID)
		steps[i] = &text
	}
	if doc == nil {
		return nil, nil
	}
	return jsonExtractPath(doc.(string), steps, false), nil
}

func (e *jsonbSubscriptExpr) resultType() catalog.ColumnType { return plainType(oidJSONB) }
