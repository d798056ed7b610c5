package executor

import (
	"strings"
	"unicode/utf8"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// arrayParam is the kind of one parameter of an array function.
type arrayParam byte

const (
	// paramArray is PostgreSQL's anycompatiblearray (or anyarray).
	paramArray arrayParam = iota
	// paramElem is anycompatible, the element type of the array arguments.
	paramElem
	paramInt
	paramText
)

// arrayFunction is a built-in function over arrays. Its polymorphic
// parameters resolve to one array type, as PostgreSQL resolves
// anycompatiblearray and anycompatible.
type arrayFunction struct {
	params []arrayParam
	// required is the number of parameters that must be given, and the
	// rest are optional.
	required int
	// result returns the result type for the resolved array type.
	result func(array uint32) uint32
	// strict functions return NULL when any argument is NULL.
	strict bool
	fn     func(ec *evalContext, args []any, elem uint32) (any, error)
}

func resultArray(array uint32) uint32 { return array }

func resultFixed(oid uint32) func(uint32) uint32 {
	return func(uint32) uint32 { return oid }
}

var arrayFunctions = map[string]arrayFunction{
	"array_length": {params: []arrayParam{paramArray, paramInt}, required: 2, result: resultFixed(oidInt4), strict: true,
		fn: func(_ *evalContext, a []any, _ uint32) (any, error) {
			return arrayDimension(a, func(n int) any { return int64(n) })
		}},
	"array_lower": {params: []arrayParam{paramArray, paramInt}, required: 2, result: resultFixed(oidInt4), strict: true,
		fn: func(_ *evalContext, a []any, _ uint32) (any, error) {
			return arrayDimension(a, func(int) any { return int64(1) })
		}},
	"array_upper": {params: []arrayParam{paramArray, paramInt}, required: 2, result: resultFixed(oidInt4), strict: true,
		fn: func(_ *evalContext, a []any, _ uint32) (any, error) {
			return arrayDimension(a, func(n int) any { return int64(n) })
		}},
	"array_ndims": {params: []arrayParam{paramArray}, required: 1, result: resultFixed(oidInt4), strict: true,
		fn: func(_ *evalContext, a []any, _ uint32) (any, error) {
			if n := len(arrayDims(a[0].([]any))); n > 0 {
				return int64(n), nil
			}
			return nil, nil
		}},
	"array_dims": {params: []arrayParam{paramArray}, required: 1, result: resultFixed(oidText), strict: true,
		fn: func(_ *evalContext, a []any, _ uint32) (any, error) {
			if dims := arrayDims(a[0].([]any)); len(dims) > 0 {
				return arrayDimsText(dims), nil
			}
			return nil, nil
		}},
	"cardinality": {params: []arrayParam{paramArray}, required: 1, result: resultFixed(oidInt4), strict: true,
		fn: func(_ *evalContext, a []any, _ uint32) (any, error) {
			return int64(arrayCardinality(a[0].([]any))), nil
		}},
	"array_append": {params: []arrayParam{paramArray, paramElem}, required: 2, result: resultArray,
		fn: func(_ *evalContext, a []any, _ uint32) (any, error) { return arrayAppend(a[0], a[1]) }},
	"array_prepend": {params: []arrayParam{paramElem, paramArray}, required: 2, result: resultArray,
		fn: func(_ *evalContext, a []any, _ uint32) (any, error) { return arrayPrepend(a[0], a[1]) }},
	"array_cat": {params: []arrayParam{paramArray, paramArray}, required: 2, result: resultArray,
		fn: func(_ *evalContext, a []any, _ uint32) (any, error) { return arrayCat(a[0], a[1]) }},
	"array_remove":    {params: []arrayParam{paramArray, paramElem}, required: 2, result: resultArray, fn: arrayRemove},
	"array_replace":   {params: []arrayParam{paramArray, paramElem, paramElem}, required: 3, result: resultArray, fn: arrayReplace},
	"array_position":  {params: []arrayParam{paramArray, paramElem, paramInt}, required: 2, result: resultFixed(oidInt4), fn: arrayPosition},
	"array_positions": {params: []arrayParam{paramArray, paramElem}, required: 2, result: resultFixed(oidInt4Array), fn: arrayPositions},
	"array_to_string": {params: []arrayParam{paramArray, paramText, paramText}, required: 2, result: resultFixed(oidText), fn: arrayToString},
	"string_to_array": {params: []arrayParam{paramText, paramText, paramText}, required: 2, result: resultFixed(oidTextArray), fn: stringToArray},
	"trim_array":      {params: []arrayParam{paramArray, paramInt}, required: 2, result: resultArray, strict: true, fn: trimArray},
}

// arrayFuncExpr calls an arrayFunction.
type arrayFuncExpr struct {
	fn   *arrayFunction
	args []expr
	elem uint32
	typ  catalog.ColumnType
}

func (e *arrayFuncExpr) resultType() catalog.ColumnType { return e.typ }

func (e *arrayFuncExpr) eval(ec *evalContext, row []any) (any, error) {
	vals := make([]any, len(e.args))
	for i, a := range e.args {
		v, err := a.eval(ec, row)
		if err != nil {
			return nil, err
		}
		if v == nil && e.fn.strict {
			return nil, nil
		}
		vals[i] = v
	}
	return e.fn.fn(ec, vals, e.elem)
}

// buildArrayFunc builds a call of an array function. ok is false when
// name is not one.
func (b *builder) buildArrayFunc(name string, args []expr, location int32) (e expr, ok bool, err error) {
	fn, ok := arrayFunctions[name]
	if !ok {
		return nil, false, nil
	}
	noMatch := func() error {
		types := make([]string, len(args))
		for i, a := range args {
			types[i] = typeName(a.resultType().OID)
		}
		return pgerror.Newf(pgcode.UndefinedFunction, "function %s(%s) does not exist", name, strings.Join(types, ", ")).
			WithHint("No function matches the given name and argument types. You might need to add explicit type casts.").
			WithPosition(location + 1)
	}
	if len(args) < fn.required || len(args) > len(fn.params) {
		return nil, true, noMatch()
	}

	// The polymorphic arguments meet in one element type.
	elem, polymorphic, known := uint32(oidUnknown), false, false
	for i, a := range args {
		t := a.resultType().OID
		switch fn.params[i] {
		case paramArray:
			polymorphic = true
			if t == oidUnknown {
				continue
			}
			if isVectorType(t) {
				t = arrayOf(arrayElem(t))
			}
			if !isArrayType(t) {
				return nil, true, noMatch()
			}
			t = arrayElem(t)
		case paramElem:
			polymorphic = true
			if t == oidUnknown {
				continue
			}
			if isArrayType(t) {
				return nil, true, pgerror.NotSupported("array functions with arrays as elements")
			}
		default:
			continue
		}
		c, ok := commonType(elem, t)
		if !ok {
			return nil, true, noMatch()
		}
		elem, known = c, true
	}
	if polymorphic && !known {
		return nil, true, pgerror.New(pgcode.DatatypeMismatch, "could not determine polymorphic type because input has type unknown")
	}
	array := arrayOf(elem)
	if polymorphic && array == 0 {
		return nil, true, noMatch()
	}

	cast := make([]expr, len(args))
	for i, a := range args {
		t := a.resultType().OID
		var want uint32
		switch fn.params[i] {
		case paramArray:
			if a, err = b.castVectorToArray(a); err != nil {
				return nil, true, err
			}
			want = array
		case paramElem:
			want = elem
		case paramInt:
			if t != oidUnknown && !isIntType(t) {
				return nil, true, noMatch()
			}
			want = oidInt4
		case paramText:
			if t != oidUnknown && !isStringType(t) {
				return nil, true, noMatch()
			}
			want = oidText
		}
		if cast[i], err = b.castTo(a, plainType(want), false); err != nil {
			return nil, true, err
		}
	}
	return &arrayFuncExpr{fn: &fn, args: cast, elem: elem, typ: plainType(fn.result(array))}, true, nil
}

// arrayDimension applies f to the length of the dimension given by the
// second argument, or returns NULL when the array has no such dimension.
func arrayDimension(a []any, f func(n int) any) (any, error) {
	dims := arrayDims(a[0].([]any))
	d := a[1].(int64)
	if d < 1 || d > int64(len(dims)) {
		return nil, nil
	}
	return f(dims[d-1]), nil
}

func arrayRemove(_ *evalContext, a []any, elem uint32) (any, error) {
	if a[0] == nil {
		return nil, nil
	}
	items := a[0].([]any)
	if isMultiDim(items) {
		return nil, pgerror.New(pgcode.FeatureNotSupported, "removing elements from multidimensional arrays is not supported")
	}
	out := make([]any, 0, len(items))
	for _, v := range items {
		if !equalTyped(v, a[1], elem) {
			out = append(out, v)
		}
	}
	return out, nil
}

func arrayReplace(_ *evalContext, a []any, elem uint32) (any, error) {
	if a[0] == nil {
		return nil, nil
	}
	flat := flattenArray(nil, a[0].([]any))
	for i, v := range flat {
		if equalTyped(v, a[1], elem) {
			flat[i] = a[2]
		}
	}
	return reshapeArray(flat, arrayDims(a[0].([]any))), nil
}

// searchableArray returns the elements of an array argument that
// array_position and array_positions search.
func searchableArray(v any) ([]any, error) {
	items := v.([]any)
	if isMultiDim(items) {
		return nil, pgerror.New(pgcode.FeatureNotSupported, "searching for elements in multidimensional arrays is not supported")
	}
	return items, nil
}

func arrayPosition(_ *evalContext, a []any, elem uint32) (any, error) {
	if a[0] == nil {
		return nil, nil
	}
	items, err := searchableArray(a[0])
	if err != nil {
		return nil, err
	}
	start := int64(1)
	if len(a) == 3 {
		if a[2] == nil {
			return nil, pgerror.New(pgcode.NullValueNotAllowed, "initial position must not be null")
		}
		start = max(a[2].(int64), 1)
	}
	for i := start - 1; i < int64(len(items)); i++ {
		if equalTyped(items[i], a[1], elem) {
			return i + 1, nil
		}
	}
	return nil, nil
}

func arrayPositions(_ *evalContext, a []any, elem uint32) (any, error) {
	if a[0] == nil {
		return nil, nil
	}
	items, err := searchableArray(a[0])
	if err != nil {
		return nil, err
	}
	out := []any{}
	for i, v := range items {
		if equalTyped(v, a[1], elem) {
			out = append(out, int64(i+1))
		}
	}
	return out, nil
}

// arrayToString joins the elements' text output with a delimiter, leaving
// NULL elements out unless a replacement is given.
func arrayToString(ec *evalContext, a []any, elem uint32) (any, error) {
	if a[0] == nil || a[1] == nil {
		return nil, nil
	}
	delimiter := a[1].(string)
	var b strings.Builder
	first := true
	for _, v := range arrayElements(a[0].([]any)) {
		var text string
		switch {
		case v != nil:
			text = arrayElementText(v, elem, ec.sess.location())
		case len(a) == 3 && a[2] != nil:
			text = a[2].(string)
		default:
			continue
		}
		if !first {
			b.WriteString(delimiter)
		}
		first = false
		b.WriteString(text)
	}
	return b.String(), nil
}

// stringToArray splits text at a delimiter into text[]: a NULL delimiter
// splits into characters, an empty one keeps the text whole, and elements
// equal to the optional third argument become NULL.
func stringToArray(_ *evalContext, a []any, _ uint32) (any, error) {
	if a[0] == nil {
		return nil, nil
	}
	s := a[0].(string)
	if s == "" {
		return []any{}, nil
	}
	var parts []string
	switch d, _ := a[1].(string); {
	case a[1] == nil:
		for len(s) > 0 {
			_, n := utf8.DecodeRuneInString(s)
			parts = append(parts, s[:n])
			s = s[n:]
		}
	case d == "":
		parts = []string{s}
	default:
		parts = strings.Split(s, d)
	}
	out := make([]any, len(parts))
	for i, p := range parts {
		if len(a) == 3 && a[2] != nil && p == a[2].(string) {
			continue
		}
		out[i] = p
	}
	return out, nil
}

func trimArray(_ *evalContext, a []any, _ uint32) (any, error) {
	items := a[0].([]any)
	n := a[1].(int64)
	if n < 0 || n > int64(len(items)) {
		return nil, pgerror.Newf(pgcode.ArraySubscriptError, "number of elements to trim must be between 0 and %d", len(items))
	}
	return append([]any{}, items[:int64(len(items))-n]...), nil
}
