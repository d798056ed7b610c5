package executor

import (
	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// jsonbAssignExpr is the new value of a jsonb column after UPDATE ... SET
// col['a'][0] = value. Like PostgreSQL 14 and later, it creates missing
// objects and arrays along the path, pads an array with nulls up to an
// index past its end, and starts from an empty container when the column
// is NULL.
type jsonbAssignExpr struct {
	doc   expr
	steps []expr
	value expr
}

// buildJSONBAssignment builds SET col[...] = value for a jsonb column at
// position idx of the updated rows.
func (b *builder) buildJSONBAssignment(value expr, col *catalog.ColumnDescriptor, idx int, indirection []*pg_query.Node) (expr, error) {
	var run []*pg_query.A_Indices
	for _, n := range indirection {
		ind := n.GetAIndices()
		if ind == nil {
			return nil, pgerror.NotSupported("assignment to a field of a composite column")
		}
		run = append(run, ind)
	}
	doc := &columnExpr{idx: idx, typ: col.Type, name: col.Name}
	sub, err := b.buildJSONBSubscripts(doc, run)
	if err != nil {
		return nil, err
	}
	from := value.resultType().OID
	if from != oidUnknown && from != oidJSONB {
		return nil, pgerror.Newf(pgcode.DatatypeMismatch, "subscripted assignment to %q requires type jsonb but expression is of type %s", col.Name, typeName(from)).
			WithHint("You will need to rewrite or cast the expression.")
	}
	if value, err = b.castTo(value, plainType(oidJSONB), true); err != nil {
		return nil, err
	}
	return &jsonbAssignExpr{doc: doc, steps: sub.(*jsonbSubscriptExpr).steps, value: value}, nil
}

func (e *jsonbAssignExpr) resultType() catalog.ColumnType { return plainType(oidJSONB) }

// jsonbAssignStep is one subscript of an assignment: its text, and
// whether it has an integer type, which makes a missing container an
// array.
type jsonbAssignStep struct {
	text    string
	integer bool
}

func (e *jsonbAssignExpr) eval(ec *evalContext, row []any) (any, error) {
	steps := make([]jsonbAssignStep, len(e.steps))
	for i, s := range e.steps {
		v, err := s.eval(ec, row)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return nil, pgerror.New(pgcode.NullValueNotAllowed, "jsonb subscript in assignment must not be null")
		}
		steps[i] = jsonbAssignStep{text: textOf(v, s.resultType().OID), integer: isIntType(s.resultType().OID)}
	}

	cur, err := e.doc.eval(ec, row)
	if err != nil {
		return nil, err
	}
	var doc any
	if cur == nil {
		doc = newJSONBContainer(steps[0])
	} else if doc, err = decodeJSON(cur.(string)); err != nil {
		return nil, err
	}

	v, err := e.value.eval(ec, row)
	if err != nil {
		return nil, err
	}
	var value any
	if v != nil {
		if value, err = decodeJSON(v.(string)); err != nil {
			return nil, err
		}
	}

	out, err := jsonbAssignPath(doc, steps, 0, value)
	if err != nil {
		return nil, err
	}
	return jsonbText(out), nil
}

// newJSONBContainer returns the empty container that a subscript
// applies to: an array for an integer subscript, else an object.
func newJSONBContainer(step jsonbAssignStep) any {
	if step.integer {
		return []any{}
	}
	return map[string]any{}
}

// jsonbAssignPath puts value at steps[level:] below doc.
func jsonbAssignPath(doc any, steps []jsonbAssignStep, level int, value any) (any, error) {
	step := steps[level]
	last := level == len(steps)-1
	switch x := doc.(type) {
	case map[string]any:
		out := make(map[string]any, len(x)+1)
		for k, member := range x {
			out[k] = member
		}
		if last {
			out[step.text] = value
			return out, nil
		}
		child, ok := x[step.text]
		if !ok {
			child = newJSONBContainer(steps[level+1])
		}
		var err error
		if out[step.text], err = jsonbAssignPath(child, steps, level+1, value); err != nil {
			return nil, err
		}
		return out, nil
	case []any:
		idx, err := jsonArrayIndex(step.text, level)
		if err != nil {
			return nil, err
		}
		n := len(x)
		if idx < 0 {
			if -idx > n {
				return nil, pgerror.Newf(pgcode.InvalidParameterValue, "path element at position %d is out of range: %d", level+1, idx)
			}
			idx += n
		}
		out := append(make([]any, 0, max(n, idx+1)), x...)
		for len(out) <= idx {
			out = append(out, nil)
		}
		if last {
			out[idx] = value
			return out, nil
		}
		child := out[idx]
		if idx >= n {
			child = newJSONBContainer(steps[level+1])
		}
		if out[idx], err = jsonbAssignPath(child, steps, level+1, value); err != nil {
			return nil, err
		}
		return out, nil
	}
	return nil, pgerror.New(pgcode.InvalidParameterValue, "cannot replace existing key").
		WithDetail("The path assumes key is a composite object, but it is a scalar value.")
}
