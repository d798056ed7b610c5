package executor

import (
	"context"
)

// PostgreSQL's planner folds constant subexpressions before it runs a
// statement, and the folding shows in results: a strict operator or
// function with a NULL constant argument becomes NULL without evaluating
// its other arguments, so CAST(NULL AS int) + x / 0 is NULL, and
// x / 0 = 1 AND FALSE is false without a division. The builder folds the
// same cases as it compiles each expression (see builder.build).
//
// Only folding whose result is the same for every execution of a cached
// plan is done: a NULL argument of a strict call, AND and OR with a
// deciding constant, and operators over constants of simple types.
// NOTE: an operator over constants whose evaluation fails stays as it is,
// so it fails when a row reaches it, where PostgreSQL fails while
// planning. Functions over constants are folded only when they are listed
// in immutableBuiltins.

// maxFoldDepth bounds how far below an expression foldConstants looks for
// constants. The builder folds every expression it compiles, so constant
// operands are usually folded already, except below the nodes that one
// grammar construct builds together (BETWEEN builds an AND of two
// comparisons).
const maxFoldDepth = 3

// foldConstants returns e, or a constant of e's type when PostgreSQL's
// planner would fold e to one. The constant keeps e, because the
// grouping check looks at the expression as written.
func (b *builder) foldConstants(e expr) expr {
	if _, ok := e.(*constExpr); ok {
		return e
	}
	v, ok := b.constantValue(e, maxFoldDepth)
	if !ok {
		return e
	}
	b.dropAggregates(e)
	return &constExpr{val: v, typ: e.resultType(), folded: e}
}

// dropAggregates marks the aggregate calls in e, which folding removes,
// as unused, so that they are not computed: PostgreSQL computes only the
// aggregates left after folding, and so never fails in the arguments of
// the others. Each call is used in one place only, so a removed call is
// used nowhere else.
func (b *builder) dropAggregates(e expr) {
	walkExpr(e, func(x expr) {
		var sq *subquery
		switch y := x.(type) {
		case *aggRefExpr:
			if b.aggs != nil && y.idx < len(b.aggs.specs) {
				b.aggs.specs[y.idx].unused = true
			}
		case *existsExpr:
			sq = y.sq
		case *scalarSubqueryExpr:
			sq = y.sq
		case *quantifiedExpr:
			sq = y.sq
		case *arraySubqueryExpr:
			sq = y.sq
		}
		if sq != nil {
			for _, spec := range sq.outerAggs {
				spec.unused = true
			}
		}
	})
}

// constantValue returns the value that e has for every row, or ok false
// when it may vary or when depth runs out.
func (b *builder) constantValue(e expr, depth int) (v any, ok bool) {
	if c, ok := e.(*constExpr); ok {
		return c.val, true
	}
	if depth == 0 {
		return nil, false
	}
	switch x := e.(type) {
	case *andExpr:
		return b.constantJunction(x.args, false, depth)
	case *orExpr:
		return b.constantJunction(x.args, true, depth)
	case *nullIfExpr:
		// NULLIF with a NULL first argument is NULL whatever the second.
		if v, ok := b.constantValue(x.cmp.left, depth-1); ok && v == nil {
			return nil, true
		}
	case *inExpr:
		if b.inIsNull(x, depth) {
			return nil, true
		}
	case *caseExpr:
		return b.constantCase(x, depth)
	case *coalesceExpr:
		// NULL constants drop out, and a first remaining argument that is
		// constant is the result.
		for _, a := range x.args {
			v, ok := b.constantValue(a, depth-1)
			if !ok || v != nil {
				return v, ok
			}
		}
		return nil, true
	}
	children, _ := exprChildren(e)
	if isStrictExpr(e) {
		for _, c := range children {
			if c == nil {
				continue
			}
			// A set-returning function still returns its rows, each
			// of them NULL.
			if v, ok := b.constantValue(c, depth-1); ok && v == nil && !containsSetFunction(e) {
				return nil, true
			}
		}
	}
	if !isConstantTree(e, depth) {
		return nil, false
	}
	v, err := e.eval(&evalContext{ctx: context.Background(), sess: b.sess}, nil)
	if err != nil {
		return nil, false
	}
	return v, true
}

// isConstantTree reports whether e is built of immutable operators over
// constants alone, so that evaluating it reads no row.
func isConstantTree(e expr, depth int) bool {
	if _, ok := e.(*constExpr); ok {
		return true
	}
	if depth == 0 || !isImmutableOperator(e) {
		return false
	}
	children, _ := exprChildren(e)
	for _, c := range children {
		if c != nil && (!isPlainConstantType(c.resultType().OID) || !isConstantTree(c, depth-1)) {
			return false
		}
	}
	return true
}

// inIsNull reports whether PostgreSQL folds e to NULL. PostgreSQL turns
// x IN (a) with one item into x = a, which a NULL constant on either side
// folds to NULL, and x IN (...) with several items into x = ANY (ARRAY
// [...]) for the items that read no column of the query, which folds only
// when all its operands are constant. The items that read columns become
// comparisons of their own, joined by OR. So a NULL constant x folds the
// whole test to NULL when every item is constant or reads a column.
func (b *builder) inIsNull(e *inExpr, depth int) bool {
	if len(e.items) == 1 {
		if v, ok := b.constantValue(e.items[0], depth-1); ok && v == nil {
			return true
		}
	}
	if v, ok := b.constantValue(e.left, depth-1); !ok || v != nil {
		return false
	}
	for _, item := range e.items {
		if _, ok := b.constantValue(item, depth-1); !ok && !readsAnyColumn(item) {
			return false
		}
	}
	return true
}

// readsAnyColumn reports whether e reads a column of its query's row.
func readsAnyColumn(e expr) bool {
	found := false
	walkExpr(e, func(x expr) {
		if _, ok := x.(*columnExpr); ok {
			found = true
		}
	})
	return found
}

// constantCase folds CASE like PostgreSQL: branches whose condition is a
// constant other than TRUE drop out, and a first remaining branch whose
// condition is TRUE decides the result, which is constant when that
// branch's result is.
func (b *builder) constantCase(e *caseExpr, depth int) (any, bool) {
	for i, c := range e.conds {
		v, ok := b.constantValue(c, depth-1)
		if !ok {
			return nil, false
		}
		if v == true {
			return b.constantValue(e.results[i], depth-1)
		}
	}
	if e.def == nil {
		return nil, true
	}
	return b.constantValue(e.def, depth-1)
}

// constantJunction folds AND (or OR, when or is set) like PostgreSQL: a
// constant FALSE argument (TRUE for OR) decides the result whatever the
// others are, and arguments that are all constant give a constant.
func (b *builder) constantJunction(args []expr, or bool, depth int) (any, bool) {
	allConstant, sawNull := true, false
	for _, a := range args {
		v, ok := b.constantValue(a, depth-1)
		switch {
		case !ok:
			allConstant = false
		case v == nil:
			sawNull = true
		case v.(bool) == or:
			return or, true
		}
	}
	if !allConstant {
		return nil, false
	}
	if sawNull {
		return nil, true
	}
	return !or, true
}

// isStrictExpr reports whether e is NULL whenever an operand is NULL.
func isStrictExpr(e expr) bool {
	switch x := e.(type) {
	case *arithExpr, *compareExpr, *concatExpr, *negExpr, *castExpr, *likeExpr, *regexExpr:
		return true
	case *funcExpr:
		return x.fn.strict
	}
	return false
}

// isImmutableOperator reports whether e, given constant operands of the
// types isPlainConstantType accepts, has a result that depends on nothing
// else, so it can be computed once while the statement is compiled.
func isImmutableOperator(e expr) bool {
	switch x := e.(type) {
	case *arithExpr, *compareExpr, *concatExpr, *negExpr, *notExpr, *isNullExpr, *boolTestExpr,
		*distinctExpr, *nullIfExpr, *inExpr, *minMaxExpr, *coalesceExpr, *caseExpr:
		return true
	case *funcExpr:
		return immutableBuiltins[x.name] && !x.fn.volatile
	}
	return false
}

// immutableBuiltins are the builtins that PostgreSQL marks immutable
// (pg_proc.provolatile 'i') for arguments of the types isPlainConstantType
// accepts, and so folds over constant arguments: strpos('ab', 'x') is 0
// while planning. concat and quote_literal are missing because they are
// stable for some argument types.
var immutableBuiltins = map[string]bool{
	"lower": true, "upper": true, "length": true, "char_length": true, "character_length": true,
	"octet_length": true, "substr": true, "substring": true, "position": true, "strpos": true,
	"btrim": true, "ltrim": true, "rtrim": true, "replace": true, "left": true, "right": true,
	"repeat": true, "lpad": true, "rpad": true, "reverse": true, "split_part": true, "initcap": true,
	"starts_with": true, "ascii": true, "chr": true, "translate": true, "to_hex": true,
	"quote_ident": true, "md5": true, "abs": true, "round": true, "trunc": true, "ceil": true,
	"ceiling": true, "floor": true, "sign": true, "sqrt": true, "cbrt": true, "exp": true, "ln": true,
	"log": true, "power": true, "pow": true, "mod": true, "div": true, "gcd": true, "lcm": true,
	"pi": true, "degrees": true, "radians": true, "sin": true, "cos": true, "tan": true, "asin": true,
	"acos": true, "atan": true, "width_bucket": true,
}

// isPlainConstantType reports whether operators on values of type oid
// are immutable: numbers, strings and booleans, but not time types,
// whose text form and comparisons depend on the session's time zone.
func isPlainConstantType(oid uint32) bool {
	switch oid {
	case oidBool, oidInt2, oidInt4, oidInt8, oidNumeric, oidFloat4, oidFloat8, oidText, oidVarchar, oidBpchar, oidUnknown:
		return true
	}
	return false
}
