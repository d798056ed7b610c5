package executor

import (
	"slices"
	"sort"
	"strings"

	"github.com/cockroachdb/apd/v3"
	"github.com/jackc/pgx/v5/pgtype"
	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// aggSpec is one aggregate call of a query.
type aggSpec struct {
	name     string
	arg      expr // nil for count(*)
	distinct bool
	filter   expr
	typ      catalog.ColumnType
	// delimiter is string_agg's second argument.
	delimiter expr
	// order is the ORDER BY inside the call, sorted by orderKeys.
	order     []expr
	orderKeys []sortKey
	// unused is set when constant folding removed the call, which is then
	// not computed (see builder.dropAggregates).
	unused bool
}

// aggCollector gathers the aggregate calls of the clauses that allow them.
type aggCollector struct {
	specs []*aggSpec
	// windows gathers the window calls of the same clauses.
	windows *windowCollector
}

var aggregateNames = map[string]bool{
	"count": true, "sum": true, "avg": true, "min": true, "max": true,
	"bool_and": true, "bool_or": true, "every": true, "string_agg": true,
	"array_agg": true, "json_agg": true, "jsonb_agg": true, "json_object_agg": true,
	"jsonb_object_agg": true,
	"variance":         true, "var_samp": true, "var_pop": true,
	"stddev": true, "stddev_samp": true, "stddev_pop": true,
}

func (b *builder) buildAggregate(name string, fc *pg_query.FuncCall) (expr, error) {
	owner, depth, err := b.aggregateOwner(name, fc)
	if err != nil {
		return nil, err
	}
	if owner != nil {
		ref, err := owner.buildAggregate(name, fc)
		if err != nil {
			return nil, err
		}
		agg, ok := ref.(*aggRefExpr)
		if !ok {
			return nil, pgerror.Internal("aggregate of an enclosing query built as %s", typeString(ref))
		}
		spec := owner.aggs.specs[agg.idx]
		b.recordOuterAggregate(owner.scope, spec)
		return &outerAggRefExpr{depth: depth, idx: agg.idx, typ: agg.typ, spec: spec}, nil
	}
	if b.aggs == nil {
		switch b.clause {
		case "aggregate function calls":
			return nil, pgerror.New(pgcode.GroupingError, "aggregate function calls cannot be nested").WithPosition(fc.Location + 1)
		case "":
			b.clause = "this context"
		}
		return nil, pgerror.Newf(pgcode.GroupingError, "aggregate functions are not allowed in %s", b.clause).WithPosition(fc.Location + 1)
	}
	inner := &builder{sess: b.sess, scope: b.scope, params: b.params, an: b.an, clause: "aggregate function calls"}
	spec, err := inner.aggregateSpec(name, fc)
	if err != nil {
		return nil, err
	}
	b.aggs.specs = append(b.aggs.specs, spec)
	return &aggRefExpr{idx: len(b.aggs.specs) - 1, typ: spec.typ}, nil
}

// aggregateOwner finds the enclosing query that an aggregate call in a
// subquery belongs to, as PostgreSQL decides it. That is the nearest query
// level whose columns the call's arguments, FILTER and ORDER BY read, or
// the call's own level when they read none. It returns that query's
// builder and its depth, or nil when the call belongs to b's level.
//
// The level is found by building the call once with b and counting the
// column references that each level's scope resolved.
func (b *builder) aggregateOwner(name string, fc *pg_query.FuncCall) (*builder, int, error) {
	if b.scope == nil || b.scope.parent == nil || b.an == nil || b.an.outerBuilder == nil {
		return nil, 0, nil
	}
	var refs []int
	for s := b.scope; s != nil; s = s.parent {
		refs = append(refs, s.refs)
	}
	// The trial build must leave no subquery references for the grouping
	// check and no aggregates of enclosing queries behind, because the
	// real build adds its own.
	var undo []func()
	for ob := b.an.outerBuilder; ob != nil; {
		if recorded := ob.subqueryRefs; recorded != nil {
			n := len(*recorded)
			undo = append(undo, func() { *recorded = (*recorded)[:n] })
		}
		if aggs := ob.aggs; aggs != nil {
			n := len(aggs.specs)
			undo = append(undo, func() { aggs.specs = aggs.specs[:n] })
		}
		if ob.an == nil {
			break
		}
		ob = ob.an.outerBuilder
	}
	trial := &builder{sess: b.sess, scope: b.scope, params: b.params, an: b.an, clause: "aggregate function calls"}
	_, err := trial.aggregateSpec(name, fc)
	for _, f := range undo {
		f()
	}
	if err != nil {
		return nil, 0, err
	}

	depth := 0
	for s := b.scope; s != nil; s, depth = s.parent, depth+1 {
		if s.refs != refs[depth] {
			break
		}
	}
	if depth == 0 || depth == len(refs) {
		return nil, 0, nil
	}
	level := b.scope
	for range depth {
		level = level.parent
	}
	// NOTE: a level reached other than through a subquery in an
	// expression (the left side of a LATERAL join) keeps the call at b's
	// level, where PostgreSQL raises 42803.
	owner := b.enclosingBuilder(level)
	if owner == nil {
		return nil, 0, nil
	}
	return owner, depth, nil
}

// aggregateSpec builds an aggregate call's arguments, FILTER and ORDER BY
// with b and types its result.
func (b *builder) aggregateSpec(name string, fc *pg_query.FuncCall) (*aggSpec, error) {
	inner := b
	spec := &aggSpec{name: name, distinct: fc.AggDistinct}
	if fc.AggFilter != nil {
		f, err := inner.build(fc.AggFilter)
		if err != nil {
			return nil, err
		}
		if spec.filter, err = inner.requireBool(f, "FILTER"); err != nil {
			return nil, err
		}
	}
	switch {
	case fc.AggStar:
		if name != "count" {
			return nil, pgerror.Newf(pgcode.WrongObjectType, "%s(*) specified, but %s is not an aggregate function", name, name).WithPosition(fc.Location + 1)
		}
		spec.typ = plainType(oidInt8)
		return spec, nil
	case name == "string_agg":
		return spec, inner.stringAggSpec(spec, fc)
	case isJSONAggregate(name):
		return spec, inner.jsonAggSpec(spec, fc)
	case len(fc.Args) != 1:
		return nil, pgerror.Newf(pgcode.UndefinedFunction, "function %s with %d arguments does not exist", name, len(fc.Args)).WithPosition(fc.Location + 1)
	}
	arg, err := inner.build(fc.Args[0])
	if err != nil {
		return nil, err
	}
	built := arg
	argType := arg.resultType().OID
	if argType == oidUnknown {
		if arg, err = inner.castTo(arg, plainType(oidText), false); err != nil {
			return nil, err
		}
		argType = oidText
	}
	if argType == oidTime && (name == "sum" || name == "avg") {
		// time casts implicitly to interval, the type of the only sum and
		// avg that accept it.
		if arg, err = inner.castTo(arg, plainType(oidInterval), false); err != nil {
			return nil, err
		}
		argType = oidInterval
	}
	spec.arg = arg
	if err := inner.aggregateOrderMatching(spec, fc, []expr{argumentForOrder(built, arg)}); err != nil {
		return nil, err
	}
	switch name {
	case "count":
		spec.typ = plainType(oidInt8)
	case "sum":
		switch {
		case argType == oidInt2 || argType == oidInt4:
			spec.typ = plainType(oidInt8)
		case argType == oidInt8 || argType == oidNumeric:
			spec.typ = plainType(oidNumeric)
		case isFloatType(argType) || argType == oidInterval:
			spec.typ = plainType(argType)
		default:
			return nil, aggregateTypeError(name, argType, fc.Location)
		}
	case "avg":
		switch {
		case isIntType(argType) || argType == oidNumeric:
			spec.typ = plainType(oidNumeric)
		case isFloatType(argType):
			spec.typ = plainType(oidFloat8)
		case argType == oidInterval:
			spec.typ = plainType(oidInterval)
		default:
			return nil, aggregateTypeError(name, argType, fc.Location)
		}
	case "min", "max":
		if argType == oidJSON || argType == oidJSONB || argType == oidBool {
			return nil, aggregateTypeError(name, argType, fc.Location)
		}
		spec.typ = arg.resultType()
	case "variance", "var_samp", "var_pop", "stddev", "stddev_samp", "stddev_pop":
		switch {
		case isFloatType(argType):
			spec.typ = plainType(oidFloat8)
		case argType == oidInt2 || argType == oidInt4 || argType == oidInt8 || argType == oidNumeric:
			spec.typ = plainType(oidNumeric)
		default:
			return nil, aggregateTypeError(name, argType, fc.Location)
		}
	case "bool_and", "bool_or", "every":
		if argType != oidBool {
			return nil, aggregateTypeError(name, argType, fc.Location)
		}
		spec.typ = plainType(oidBool)
	case "array_agg":
		// An array argument gives an array of one more dimension.
		spec.typ = arg.resultType()
		if !isArrayType(argType) {
			oid, err := checkArrayElemType(argType)
			if err != nil {
				return nil, err
			}
			spec.typ = plainType(oid)
		}
	}
	return spec, nil
}

func aggregateTypeError(name string, oid uint32, location int32) error {
	return pgerror.Newf(pgcode.UndefinedFunction, "function %s(%s) does not exist", name, typeName(oid)).
		WithHint("No function matches the given name and argument types. You might need to add explicit type casts.").
		WithPosition(location + 1)
}

// checkGrouping rejects a grouped query whose SELECT list, HAVING or
// ORDER BY reads a column outside aggregates that is not grouped, as
// PostgreSQL does. A column is grouped when GROUP BY lists it, or lists
// every column of its table's primary key. An expression that GROUP BY
// lists is grouped as a whole. refs are the columns that subqueries read,
// which GROUP BY must list as columns, because PostgreSQL matches whole
// expressions only at the query's own level.
func checkGrouping(sp *selectPlan, refs []subqueryColumnRef) error {
	grouped := map[int]bool{}
	var groupExprs []expr
	for _, g := range sp.groupBy {
		if c, ok := g.(*columnExpr); ok {
			grouped[c.idx] = true
		} else {
			groupExprs = append(groupExprs, g)
		}
	}
	addKeyDependents(sp.scope, grouped)
	columnError := func(idx int, format string) *pgerror.Error {
		c := sp.scope.cols[idx]
		name := c.name
		if c.table != "" {
			name = c.table + "." + c.name
		}
		return pgerror.Newf(pgcode.GroupingError, format, name)
	}

	var check func(e expr) error
	check = func(e expr) error {
		for _, g := range groupExprs {
			if sameExpr(e, g) {
				return nil
			}
		}
		if c, ok := e.(*constExpr); ok && c.folded != nil {
			return check(c.folded)
		}
		if c, ok := e.(*columnExpr); ok && !grouped[c.idx] {
			return columnError(c.idx, "column \"%s\" must appear in the GROUP BY clause or be used in an aggregate function")
		}
		children, _ := exprChildren(e)
		for _, child := range children {
			if child == nil {
				continue
			}
			if err := check(child); err != nil {
				return err
			}
		}
		return nil
	}
	for _, list := range [][]expr{sp.targets, sp.extraSort, {sp.having}} {
		for _, e := range list {
			if e == nil {
				continue
			}
			if err := check(e); err != nil {
				return err
			}
		}
	}
	for _, r := range refs {
		if !grouped[r.idx] {
			return columnError(r.idx, "subquery uses ungrouped column \"%s\" from outer query").WithPosition(r.location + 1)
		}
	}
	return nil
}

// addKeyDependents marks as grouped every column of a table in sc whose
// declared primary key columns are all grouped, because the key
// determines them (PostgreSQL's functional dependency rule).
func addKeyDependents(sc *scope, grouped map[int]bool) {
	if sc == nil {
		return
	}
	type tableRef struct {
		alias string
		desc  *catalog.TableDescriptor
	}
	keyGrouped := map[tableRef]bool{}
	for _, c := range sc.cols {
		ref := tableRef{c.table, c.desc}
		if c.desc == nil || len(c.desc.PrimaryKey) == 0 {
			continue
		}
		if _, seen := keyGrouped[ref]; seen {
			continue
		}
		all := true
		for _, id := range c.desc.PrimaryKey {
			col := c.desc.ColumnByID(id)
			idx := -1
			for i, sc := range sc.cols {
				if col != nil && !col.Hidden && sc.desc == c.desc && sc.table == c.table && sc.name == col.Name {
					idx = i
				}
			}
			all = all && idx >= 0 && grouped[idx]
		}
		keyGrouped[ref] = all
	}
	for i, c := range sc.cols {
		if keyGrouped[tableRef{c.table, c.desc}] {
			grouped[i] = true
		}
	}
}

// walkExpr calls f on e and every expression below it. Aggregate
// arguments are not visited because they are evaluated per input row.
func walkExpr(e expr, f func(expr)) {
	if e == nil {
		return
	}
	f(e)
	children, _ := exprChildren(e)
	for _, c := range children {
		walkExpr(c, f)
	}
}

// exprChildren returns the operands of the expression kinds that are
// evaluated from their operands alone. known is false for every other
// kind, such as leaves, subqueries and references to enclosing queries.
func exprChildren(e expr) (children []expr, known bool) {
	switch x := e.(type) {
	case *castExpr:
		return []expr{x.arg}, true
	case *isNullExpr:
		return []expr{x.arg}, true
	case *boolTestExpr:
		return []expr{x.arg}, true
	case *andExpr:
		return x.args, true
	case *orExpr:
		return x.args, true
	case *notExpr:
		return []expr{x.arg}, true
	case *compareExpr:
		return []expr{x.left, x.right}, true
	case *distinctExpr:
		return []expr{x.cmp}, true
	case *nullIfExpr:
		return []expr{x.cmp}, true
	case *inExpr:
		return append([]expr{x.left}, x.items...), true
	case *likeExpr:
		return []expr{x.left, x.right, x.escape}, true
	case *regexExpr:
		return []expr{x.left, x.right}, true
	case *negExpr:
		return []expr{x.arg}, true
	case *arithExpr:
		return []expr{x.left, x.right}, true
	case *bitwiseExpr:
		return []expr{x.left, x.right}, true
	case *bitNotExpr:
		return []expr{x.arg}, true
	case *fieldSelectExpr:
		return []expr{x.arg}, true
	case *concatExpr:
		return []expr{x.left, x.right}, true
	case *caseExpr:
		return append(append(append([]expr{}, x.conds...), x.results...), x.def), true
	case *coalesceExpr:
		return x.args, true
	case *minMaxExpr:
		return x.args, true
	case *funcExpr:
		return x.args, true
	case *windowRefExpr:
		return x.children(), true
	case *srfRefExpr:
		return x.call.args, true
	}
	return nil, false
}

// aggState accumulates one aggregate of one group.
type aggState struct {
	count    int64
	intSum   int64
	intOver  bool
	decSum   *apd.Decimal
	floatSum float64
	best     any
	boolAcc  any
	seen     map[string]struct{}
	// text is string_agg's result so far.
	text []byte
	// items are array_agg's values so far.
	items []any
	// variance is the state of the variance and standard deviation
	// aggregates.
	variance varianceState
	// intervalSum is the sum of sum's and avg's interval values.
	intervalSum pgtype.Interval
	// ordered holds the inputs of an aggregate with ORDER BY until the
	// group is complete.
	ordered []orderedAggInput
}

type group struct {
	rep    []any
	states []aggState
}

// aggregateIter groups its input and returns one row per group: the
// group's first input row, with the aggregate values in ec.aggValues.
type aggregateIter struct {
	src    rowIter
	plan   *selectPlan
	groups []*group
	pos    int
	done   bool
}

func (it *aggregateIter) next(ec *evalContext) ([]any, error) {
	if !it.done {
		if err := it.consume(ec); err != nil {
			return nil, err
		}
		it.done = true
	}
	for it.pos < len(it.groups) {
		g := it.groups[it.pos]
		it.pos++
		vals := make([]any, len(it.plan.aggs))
		for i, spec := range it.plan.aggs {
			v, err := finalAggregate(spec, &g.states[i])
			if err != nil {
				return nil, err
			}
			vals[i] = v
		}
		ec.aggValues = vals
		if it.plan.having != nil {
			ok, err := it.plan.having.eval(ec, g.rep)
			if err != nil {
				return nil, err
			}
			if ok != true {
				continue
			}
		}
		return g.rep, nil
	}
	return nil, nil
}

func (it *aggregateIter) consume(ec *evalContext) error {
	byKey := map[string]*group{}
	keyVals := make([]any, len(it.plan.groupBy))
	keyTypes := exprTypes(it.plan.groupBy)
	for n := 0; ; n++ {
		row, err := it.src.next(ec)
		if err != nil {
			return err
		}
		if row == nil {
			break
		}
		if n%1024 == 1023 {
			if err := ec.checkCancel(); err != nil {
				return err
			}
		}
		for i, g := range it.plan.groupBy {
			if keyVals[i], err = g.eval(ec, row); err != nil {
				return err
			}
		}
		key, err := groupKey(keyVals, keyTypes)
		if err != nil {
			return err
		}
		g := byKey[key]
		if g == nil {
			// The copy is never nil, even of the empty row of a SELECT
			// without FROM: a nil row would end the result.
			g = &group{rep: append(make([]any, 0, len(row)), row...), states: make([]aggState, len(it.plan.aggs))}
			byKey[key] = g
			it.groups = append(it.groups, g)
		}
		for i, spec := range it.plan.aggs {
			if err := accumulate(ec, spec, &g.states[i], row); err != nil {
				return err
			}
		}
	}
	// Without GROUP BY, an aggregate query returns one row even for no
	// input.
	if len(it.groups) == 0 && len(it.plan.groupBy) == 0 {
		width := 0
		if it.plan.scope != nil {
			width = len(it.plan.scope.cols)
		}
		it.groups = append(it.groups, &group{rep: make([]any, width), states: make([]aggState, len(it.plan.aggs))})
	}
	return nil
}

func accumulate(ec *evalContext, spec *aggSpec, st *aggState, row []any) error {
	if spec.unused {
		return nil
	}
	if spec.filter != nil {
		ok, err := spec.filter.eval(ec, row)
		if err != nil || ok != true {
			return err
		}
	}
	if spec.arg == nil {
		st.count++
		return nil
	}
	v, err := spec.arg.eval(ec, row)
	if err != nil {
		return err
	}
	var delimiter any
	if spec.delimiter != nil {
		if delimiter, err = spec.delimiter.eval(ec, row); err != nil {
			return err
		}
	}
	if isJSONAggregate(spec.name) {
		if v, delimiter, err = jsonAggInput(ec, spec, v, delimiter); err != nil {
			return err
		}
	}
	if len(spec.order) > 0 {
		return deferOrderedInput(ec, spec, st, row, v, delimiter)
	}
	return addAggregateValue(spec, st, v, delimiter)
}

// addAggregateValue adds one argument value, after FILTER, to a group's
// state.
func addAggregateValue(spec *aggSpec, st *aggState, v, delimiter any) error {
	if v == nil && spec.name != "array_agg" {
		return nil
	}
	if spec.distinct {
		distinctValues := []any{v}
		distinctTypes := []uint32{spec.arg.resultType().OID}
		if isJSONObjectAggregate(spec.name) {
			// The object aggregates remove duplicate pairs of key and value.
			distinctValues = append(distinctValues, delimiter)
			distinctTypes = append(distinctTypes, spec.delimiter.resultType().OID)
		}
		key, err := groupKey(distinctValues, distinctTypes)
		if err != nil {
			return err
		}
		if st.seen == nil {
			st.seen = map[string]struct{}{}
		}
		if _, dup := st.seen[key]; dup {
			return nil
		}
		st.seen[key] = struct{}{}
	}
	st.count++
	switch spec.name {
	case "sum", "avg":
		return addToSum(st, v)
	case "variance", "var_samp", "var_pop", "stddev", "stddev_samp", "stddev_pop":
		return addVarianceValue(st, v)
	case "min", "max":
		if st.best == nil {
			st.best = v
			return nil
		}
		c := compareTyped(v, st.best, spec.typ.OID)
		if (spec.name == "min" && c < 0) || (spec.name == "max" && c > 0) {
			st.best = v
		}
	case "bool_and", "every":
		st.boolAcc = (st.boolAcc == nil || st.boolAcc == true) && v == true
	case "bool_or":
		st.boolAcc = st.boolAcc == true || v == true
	case "string_agg":
		appendStringAgg(st, v, delimiter)
	case "array_agg":
		return appendArrayAgg(spec, st, v)
	case "json_agg", "jsonb_agg", "json_object_agg", "jsonb_object_agg":
		appendJSONAgg(spec, st, v, delimiter)
	}
	return nil
}

// appendArrayAgg adds a value to array_agg's result. NULL elements are
// kept; array values become rows of a result with one more dimension, so
// they must be non-NULL, non-empty and all of the same dimensions.
func appendArrayAgg(spec *aggSpec, st *aggState, v any) error {
	if isArrayType(spec.arg.resultType().OID) {
		if err := checkAccumulatedArray(v, st.items); err != nil {
			return err
		}
	}
	st.items = append(st.items, v)
	return nil
}

// checkAccumulatedArray checks an array that is to become the next row of
// an array of one more dimension, after the rows so far.
func checkAccumulatedArray(v any, rows []any) error {
	a, _ := v.([]any)
	switch {
	case v == nil:
		return pgerror.New(pgcode.NullValueNotAllowed, "cannot accumulate null arrays")
	case len(a) == 0:
		return pgerror.New(pgcode.ArraySubscriptError, "cannot accumulate empty arrays")
	case len(rows) > 0 && !equalInts(arrayDims(a), arrayDims(rows[0].([]any))):
		return pgerror.New(pgcode.ArraySubscriptError, "cannot accumulate arrays of different dimensionality")
	case len(rows) == 0 && len(arrayDims(a)) >= maxArrayDims:
		return tooManyArrayDims(len(arrayDims(a)) + 1)
	}
	return nil
}

func addToSum(st *aggState, v any) error {
	switch x := v.(type) {
	case int64:
		if !st.intOver {
			s := st.intSum + x
			if (s > st.intSum) == (x > 0) || x == 0 {
				st.intSum = s
				return nil
			}
			st.intOver = true
			st.decSum = apd.New(st.intSum, 0)
		}
		_, err := decimalCtx.Add(st.decSum, st.decSum, apd.New(x, 0))
		return err
	case float64:
		st.floatSum += x
	case pgtype.Interval:
		sum, err := addIntervals(st.intervalSum, x)
		st.intervalSum = sum
		return err
	case *apd.Decimal:
		if st.decSum == nil {
			st.decSum = new(apd.Decimal)
		}
		_, err := decimalCtx.Add(st.decSum, st.decSum, x)
		return err
	}
	return nil
}

func finalAggregate(spec *aggSpec, st *aggState) (any, error) {
	if len(st.ordered) > 0 {
		if err := replayOrderedInputs(spec, st); err != nil {
			return nil, err
		}
	}
	switch spec.name {
	case "string_agg":
		return stringAggResult(spec, st), nil
	case "json_agg", "jsonb_agg", "json_object_agg", "jsonb_object_agg":
		return jsonAggResult(spec, st)
	case "array_agg":
		if st.count == 0 {
			return nil, nil
		}
		return st.items, nil
	case "count":
		return st.count, nil
	case "min", "max":
		return st.best, nil
	case "bool_and", "bool_or", "every":
		return st.boolAcc, nil
	case "variance", "var_samp", "var_pop", "stddev", "stddev_samp", "stddev_pop":
		return finalVariance(spec, st)
	}
	if st.count == 0 {
		return nil, nil
	}
	argType := spec.arg.resultType().OID
	var sum *apd.Decimal
	switch {
	case isFloatType(argType):
		if spec.name == "sum" {
			return st.floatSum, nil
		}
		return st.floatSum / float64(st.count), nil
	case argType == oidInterval:
		// PostgreSQL's interval_avg divides the sum by the count as
		// interval / float8 does.
		if spec.name == "sum" {
			return st.intervalSum, nil
		}
		return scaleInterval(st.intervalSum, float64(st.count), true)
	case isIntType(argType):
		if !st.intOver {
			if spec.name == "sum" && spec.typ.OID == oidInt8 {
				return st.intSum, nil
			}
			sum = apd.New(st.intSum, 0)
		} else {
			if spec.name == "sum" && spec.typ.OID == oidInt8 {
				return nil, outOfRange(oidInt8)
			}
			sum = st.decSum
		}
	default:
		sum = st.decSum
	}
	if spec.name == "sum" {
		return sum, nil
	}
	return decimalArith("/", sum, apd.New(st.count, 0))
}

func (it *aggregateIter) close() { it.src.close() }

// stringAggSpec types string_agg(value, delimiter): both text, or both
// bytea.
func (b *builder) stringAggSpec(spec *aggSpec, fc *pg_query.FuncCall) error {
	var args []expr
	for _, n := range fc.Args {
		e, err := b.build(n)
		if err != nil {
			return err
		}
		args = append(args, e)
	}
	noMatch := func() error {
		types := make([]string, len(args))
		for i, a := range args {
			types[i] = typeName(a.resultType().OID)
		}
		return pgerror.Newf(pgcode.UndefinedFunction, "function string_agg(%s) does not exist", strings.Join(types, ", ")).
			WithHint("No function matches the given name and argument types. You might need to add explicit type casts.").
			WithPosition(fc.Location + 1)
	}
	if len(args) != 2 {
		return noMatch()
	}
	typ := plainType(oidText)
	if args[0].resultType().OID == oidBytea {
		typ = plainType(oidBytea)
	}
	orderForms := make([]expr, len(args))
	for i, a := range args {
		t := a.resultType().OID
		if t != oidUnknown && t != typ.OID && !(typ.OID == oidText && isStringType(t)) {
			return noMatch()
		}
		c, err := b.castTo(a, typ, false)
		if err != nil {
			return err
		}
		orderForms[i] = argumentForOrder(a, c)
		args[i] = c
	}
	spec.arg, spec.delimiter, spec.typ = args[0], args[1], typ
	return b.aggregateOrderMatching(spec, fc, orderForms)
}

// orderDistinctInput makes an aggregate with DISTINCT and no ORDER BY
// take its values in ascending order, because PostgreSQL sorts the input
// to remove duplicates and array_agg, string_agg and the json aggregates
// show that order.
func orderDistinctInput(spec *aggSpec) {
	if spec.distinct && len(spec.order) == 0 && (spec.name == "array_agg" || spec.name == "string_agg" || isJSONAggregate(spec.name)) {
		spec.order = []expr{spec.arg}
		spec.orderKeys = []sortKey{{col: 0, typ: spec.arg.resultType().OID}}
		if isJSONObjectAggregate(spec.name) {
			spec.order = append(spec.order, spec.delimiter)
			spec.orderKeys = append(spec.orderKeys, sortKey{col: 1, typ: spec.delimiter.resultType().OID})
		}
	}
}

// argumentForOrder returns the form of an aggregate argument that an
// ORDER BY item of a DISTINCT aggregate must equal: the argument as
// written when the call only added an implicit cast, as PostgreSQL strips
// implicit casts before it compares. A cast constant stays cast, because
// PostgreSQL folds it into a constant of the new type, so ORDER BY 'x'
// does not match the argument 'x' that became text.
func argumentForOrder(built, coerced expr) expr {
	if _, ok := built.(*constExpr); ok {
		return coerced
	}
	return built
}

// aggregateOrder builds the ORDER BY inside an aggregate call whose
// arguments spec.arg and spec.delimiter are as written, with no cast
// added by the call.
func (b *builder) aggregateOrder(spec *aggSpec, fc *pg_query.FuncCall) error {
	var args []expr
	for _, a := range []expr{spec.arg, spec.delimiter} {
		if a != nil {
			args = append(args, a)
		}
	}
	return b.aggregateOrderMatching(spec, fc, args)
}

// aggregateOrderMatching builds the ORDER BY inside an aggregate call.
// With DISTINCT, PostgreSQL accepts only ORDER BY items equal to an
// argument, in the forms that args hold (see argumentForOrder).
func (b *builder) aggregateOrderMatching(spec *aggSpec, fc *pg_query.FuncCall, args []expr) error {
	for i, n := range fc.AggOrder {
		sb := n.GetSortBy()
		if sb.SortbyDir == pg_query.SortByDir_SORTBY_USING {
			return pgerror.NotSupported("ORDER BY ... USING in an aggregate call")
		}
		e, err := b.build(sb.Node)
		if err != nil {
			return err
		}
		if spec.distinct && !slices.ContainsFunc(args, func(a expr) bool { return sameExpr(a, e) }) {
			return pgerror.New(pgcode.InvalidColumnReference, "in an aggregate with DISTINCT, ORDER BY expressions must appear in argument list")
		}
		key := sortKeyOf(sb, e)
		key.col = i
		spec.order = append(spec.order, e)
		spec.orderKeys = append(spec.orderKeys, key)
	}
	orderDistinctInput(spec)
	return nil
}

// orderedAggInput is one input of an aggregate with ORDER BY, kept with
// its sort key values.
type orderedAggInput struct {
	value, delimiter any
	keys             []any
}

func deferOrderedInput(ec *evalContext, spec *aggSpec, st *aggState, row []any, v, delimiter any) error {
	in := orderedAggInput{value: v, delimiter: delimiter, keys: make([]any, len(spec.order))}
	for i, e := range spec.order {
		k, err := e.eval(ec, row)
		if err != nil {
			return err
		}
		in.keys[i] = k
	}
	st.ordered = append(st.ordered, in)
	return nil
}

// replayOrderedInputs adds a group's deferred inputs in ORDER BY order.
func replayOrderedInputs(spec *aggSpec, st *aggState) error {
	cmp := &sortIter{keys: spec.orderKeys}
	if hasJSONBKey(spec.orderKeys) {
		for _, in := range st.ordered {
			replaceJSONBSortKeys(in.keys, spec.orderKeys)
		}
	}
	sort.SliceStable(st.ordered, func(i, j int) bool { return cmp.less(st.ordered[i].keys, st.ordered[j].keys) })
	inputs := st.ordered
	st.ordered = nil
	for _, in := range inputs {
		if err := addAggregateValue(spec, st, in.value, in.delimiter); err != nil {
			return err
		}
	}
	return nil
}

// appendStringAgg adds a value to string_agg's result, preceded by its
// row's delimiter unless it is the first value. A NULL delimiter adds
// nothing.
func appendStringAgg(st *aggState, v, delimiter any) {
	if st.count > 1 {
		switch d := delimiter.(type) {
		case string:
			st.text = append(st.text, d...)
		case []byte:
			st.text = append(st.text, d...)
		}
	}
	switch x := v.(type) {
	case string:
		st.text = append(st.text, x...)
	case []byte:
		st.text = append(st.text, x...)
	}
}

func stringAggResult(spec *aggSpec, st *aggState) any {
	if st.count == 0 {
		return nil
	}
	if spec.typ.OID == oidBytea {
		return append([]byte(nil), st.text...)
	}
	return string(st.text)
}
