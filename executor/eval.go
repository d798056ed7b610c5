package executor

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/jackc/pgx/v5/pgtype"
	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// evalContext carries what expressions read besides the row: parameters,
// the session and the statement's start time.
type evalContext struct {
	ctx    context.Context
	sess   *Session
	params []any
	// txnTime is now() and CURRENT_TIMESTAMP: the start of the transaction.
	txnTime time.Time
	// statementTime is statement_timestamp(): the start of the statement,
	// equal to txnTime for the first statement of a transaction.
	statementTime time.Time
	// aggValues holds the aggregate results of the current group.
	aggValues []any
	// srfValues holds the current values of the SELECT list's
	// set-returning function calls.
	srfValues []any
	// asUser is the target of EXECUTE AS USER, or nil.
	asUser *catalog.UserDescriptor
	// outer holds the current rows of the enclosing queries while a
	// correlated subquery runs, innermost last, and outerAggValues the
	// aggValues of the same queries, for aggregates of an enclosing query
	// used inside the subquery.
	outer          [][]any
	outerAggValues [][]any
	// subqueryRows and cteRows cache the results of uncorrelated subqueries
	// and WITH queries for one execution, and subqueryMemo those of
	// correlated subqueries by the enclosing values they read (see
	// subquery.rows).
	subqueryRows map[*subquery][][]any
	cteRows      map[*cteDef][][]any
	subqueryMemo map[*subquery]*subqueryMemo
	// volatileCalls counts the calls of volatile functions and the other
	// evaluations whose result a subquery's memo keys do not determine.
	volatileCalls int
}

func typeString(v any) string { return fmt.Sprintf("%T", v) }

type constExpr struct {
	val any
	typ catalog.ColumnType
	// folded is the expression that constant folding replaced by this
	// constant, or nil for a literal (see builder.foldConstants).
	folded expr
}

func (e *constExpr) eval(*evalContext, []any) (any, error) { return e.val, nil }
func (e *constExpr) resultType() catalog.ColumnType        { return e.typ }

type columnExpr struct {
	idx  int
	typ  catalog.ColumnType
	name string
	// fields are the fields of a record column (see record.go).
	fields []scopeColumn
}

func (e *columnExpr) eval(_ *evalContext, row []any) (any, error) { return row[e.idx], nil }
func (e *columnExpr) resultType() catalog.ColumnType              { return e.typ }

type paramExpr struct {
	n      int
	params *paramTypes
}

func (e *paramExpr) eval(ec *evalContext, _ []any) (any, error) {
	if e.n > len(ec.params) {
		return nil, pgerror.Newf(pgcode.UndefinedParameter, "there is no parameter $%d", e.n)
	}
	return ec.params[e.n-1], nil
}

// resultType is unknown until the statement determines the type, and text
// for parameters still undetermined when analysis ends.
func (e *paramExpr) resultType() catalog.ColumnType { return plainType(e.params.get(e.n)) }

type castExpr struct {
	arg        expr
	typ        catalog.ColumnType
	assignment bool
}

func (e *castExpr) eval(ec *evalContext, row []any) (any, error) {
	v, err := e.arg.eval(ec, row)
	if err != nil || v == nil {
		return nil, err
	}
	return castDatum(v, e.arg.resultType().OID, e.typ, e.assignment, ec.sess.location())
}

func (e *castExpr) resultType() catalog.ColumnType { return e.typ }

type isNullExpr struct {
	arg expr
	not bool
}

func (e *isNullExpr) eval(ec *evalContext, row []any) (any, error) {
	v, err := e.arg.eval(ec, row)
	if err != nil {
		return nil, err
	}
	return (v == nil) != e.not, nil
}

func (e *isNullExpr) resultType() catalog.ColumnType { return plainType(oidBool) }

type boolTestExpr struct {
	arg  expr
	kind pg_query.BoolTestType
}

func (e *boolTestExpr) eval(ec *evalContext, row []any) (any, error) {
	v, err := e.arg.eval(ec, row)
	if err != nil {
		return nil, err
	}
	switch e.kind {
	case pg_query.BoolTestType_IS_TRUE:
		return v == true, nil
	case pg_query.BoolTestType_IS_NOT_TRUE:
		return v != true, nil
	case pg_query.BoolTestType_IS_FALSE:
		return v == false, nil
	case pg_query.BoolTestType_IS_NOT_FALSE:
		return v != false, nil
	case pg_query.BoolTestType_IS_UNKNOWN:
		return v == nil, nil
	}
	return v != nil, nil
}

func (e *boolTestExpr) resultType() catalog.ColumnType { return plainType(oidBool) }

type andExpr struct{ args []expr }

func (e *andExpr) eval(ec *evalContext, row []any) (any, error) {
	sawNull := false
	for _, a := range e.args {
		v, err := a.eval(ec, row)
		if err != nil {
			return nil, err
		}
		if v == nil {
			sawNull = true
			continue
		}
		if !v.(bool) {
			return false, nil
		}
	}
	if sawNull {
		return nil, nil
	}
	return true, nil
}

func (e *andExpr) resultType() catalog.ColumnType { return plainType(oidBool) }

type orExpr struct{ args []expr }

func (e *orExpr) eval(ec *evalContext, row []any) (any, error) {
	sawNull := false
	for _, a := range e.args {
		v, err := a.eval(ec, row)
		if err != nil {
			return nil, err
		}
		if v == nil {
			sawNull = true
			continue
		}
		if v.(bool) {
			return true, nil
		}
	}
	if sawNull {
		return nil, nil
	}
	return false, nil
}

func (e *orExpr) resultType() catalog.ColumnType { return plainType(oidBool) }

type notExpr struct{ arg expr }

func (e *notExpr) eval(ec *evalContext, row []any) (any, error) {
	v, err := e.arg.eval(ec, row)
	if err != nil || v == nil {
		return nil, err
	}
	return !v.(bool), nil
}

func (e *notExpr) resultType() catalog.ColumnType { return plainType(oidBool) }

type compareExpr struct {
	op          string
	left, right expr
	// bpchar compares character(n) values, which ignore trailing spaces.
	bpchar bool
	// typ is the type OID both sides have, for compareTyped, or 0.
	typ uint32
}

func (e *compareExpr) eval(ec *evalContext, row []any) (any, error) {
	l, r, err := evalOperands(ec, row, e.left, e.right)
	if err != nil || l == nil {
		return nil, err
	}
	if e.bpchar {
		l, r = strings.TrimRight(l.(string), " "), strings.TrimRight(r.(string), " ")
	}
	return compareResult(e.op, compareTyped(l, r, e.typ)), nil
}

func compareResult(op string, c int) bool {
	switch op {
	case "=":
		return c == 0
	case "<>":
		return c != 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	}
	return c >= 0
}

func (e *compareExpr) resultType() catalog.ColumnType { return plainType(oidBool) }

// distinctExpr is IS [NOT] DISTINCT FROM: a comparison where NULL is a value.
type distinctExpr struct {
	cmp *compareExpr
	not bool
}

func (e *distinctExpr) eval(ec *evalContext, row []any) (any, error) {
	l, err := e.cmp.left.eval(ec, row)
	if err != nil {
		return nil, err
	}
	r, err := e.cmp.right.eval(ec, row)
	if err != nil {
		return nil, err
	}
	var distinct bool
	switch {
	case l == nil && r == nil:
		distinct = false
	case l == nil || r == nil:
		distinct = true
	default:
		distinct = compareTyped(l, r, e.cmp.typ) != 0
	}
	return distinct != e.not, nil
}

func (e *distinctExpr) resultType() catalog.ColumnType { return plainType(oidBool) }

type nullIfExpr struct{ cmp *compareExpr }

func (e *nullIfExpr) eval(ec *evalContext, row []any) (any, error) {
	l, err := e.cmp.left.eval(ec, row)
	if err != nil {
		return nil, err
	}
	// PostgreSQL evaluates both arguments, even when the first is NULL.
	r, err := e.cmp.right.eval(ec, row)
	if err != nil || l == nil {
		return nil, err
	}
	if r != nil && compareTyped(l, r, e.cmp.typ) == 0 {
		return nil, nil
	}
	return l, nil
}

func (e *nullIfExpr) resultType() catalog.ColumnType { return e.cmp.left.resultType() }

type inExpr struct {
	left  expr
	items []expr
	not   bool
	// typ is the common type OID of left and the items.
	typ uint32
}

// eval follows SQL's rules: no match and a NULL item give NULL.
func (e *inExpr) eval(ec *evalContext, row []any) (any, error) {
	l, err := e.left.eval(ec, row)
	if err != nil || l == nil {
		return nil, err
	}
	sawNull := false
	for _, it := range e.items {
		v, err := it.eval(ec, row)
		if err != nil {
			return nil, err
		}
		if v == nil {
			sawNull = true
			continue
		}
		if compareTyped(l, v, e.typ) == 0 {
			return !e.not, nil
		}
	}
	if sawNull {
		return nil, nil
	}
	return e.not, nil
}

func (e *inExpr) resultType() catalog.ColumnType { return plainType(oidBool) }

type likeExpr struct {
	left, right, escape  expr
	not, caseInsensitive bool
	// cached holds the compiled pattern of a constant right side.
	cachedPattern string
	cached        *regexp.Regexp
}

func (e *likeExpr) eval(ec *evalContext, row []any) (any, error) {
	l, r, err := evalOperands(ec, row, e.left, e.right)
	if err != nil || l == nil {
		return nil, err
	}
	escape := `\`
	if e.escape != nil {
		ev, err := e.escape.eval(ec, row)
		if err != nil || ev == nil {
			return nil, err
		}
		escape = ev.(string)
	}
	pattern := r.(string)
	re := e.cached
	if re == nil || e.cachedPattern != pattern+"\x00"+escape {
		re, err = likeToRegexp(pattern, escape, e.caseInsensitive)
		if err != nil {
			return nil, err
		}
		e.cached, e.cachedPattern = re, pattern+"\x00"+escape
	}
	return re.MatchString(l.(string)) != e.not, nil
}

func (e *likeExpr) resultType() catalog.ColumnType { return plainType(oidBool) }

// likeToRegexp translates a LIKE pattern (% any string, _ one character,
// escape character quoting the next one) into an anchored regexp.
func likeToRegexp(pattern, escape string, caseInsensitive bool) (*regexp.Regexp, error) {
	if len([]rune(escape)) > 1 {
		return nil, pgerror.Newf(pgcode.InvalidEscapeSequence, "invalid escape string").WithHint("Escape string must be empty or one character.")
	}
	esc := rune(-1)
	if escape != "" {
		esc = []rune(escape)[0]
	}
	var b strings.Builder
	b.WriteString("(?s)")
	if caseInsensitive {
		b.WriteString("(?i)")
	}
	b.WriteByte('^')
	runes := []rune(pattern)
	for i := 0; i < len(runes); i++ {
		c := runes[i]
		switch {
		case c == esc:
			if i+1 >= len(runes) {
				return nil, pgerror.Newf(pgcode.InvalidEscapeSequence, "LIKE pattern must not end with escape character")
			}
			i++
			b.WriteString(regexp.QuoteMeta(string(runes[i])))
		case c == '%':
			b.WriteString(".*")
		case c == '_':
			b.WriteByte('.')
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteByte('$')
	return regexp.Compile(b.String())
}

type negExpr struct{ arg expr }

func (e *negExpr) eval(ec *evalContext, row []any) (any, error) {
	v, err := e.arg.eval(ec, row)
	if err != nil || v == nil {
		return nil, err
	}
	switch x := v.(type) {
	case int64:
		if x == math.MinInt64 {
			return nil, outOfRange(e.arg.resultType().OID)
		}
		return -x, checkIntRange(-x, e.arg.resultType().OID)
	case float64:
		return -x, nil
	case *apd.Decimal:
		return new(apd.Decimal).Neg(x), nil
	case pgtype.Interval:
		return negateInterval(x)
	}
	return nil, pgerror.Internal("negation of %T", v)
}

func (e *negExpr) resultType() catalog.ColumnType { return e.arg.resultType() }

type arithExpr struct {
	op          string
	left, right expr
	typ         catalog.ColumnType
}

func (e *arithExpr) resultType() catalog.ColumnType { return e.typ }

func (e *arithExpr) eval(ec *evalContext, row []any) (any, error) {
	l, r, err := evalOperands(ec, row, e.left, e.right)
	if err != nil || l == nil {
		return nil, err
	}
	switch x := l.(type) {
	case int64:
		return intArith(e.op, x, r.(int64), e.typ.OID)
	case float64:
		return floatArith(e.op, x, r.(float64), e.typ.OID)
	case *apd.Decimal:
		return decimalArith(e.op, x, r.(*apd.Decimal))
	}
	return nil, pgerror.Internal("arithmetic on %T", l)
}

func intArith(op string, a, b int64, oid uint32) (any, error) {
	var r int64
	switch op {
	case "+":
		r = a + b
		if (r > a) != (b > 0) {
			return nil, outOfRange(oid)
		}
	case "-":
		r = a - b
		if (r < a) != (b > 0) {
			return nil, outOfRange(oid)
		}
	case "*":
		if a != 0 && b != 0 {
			r = a * b
			if r/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
				return nil, outOfRange(oid)
			}
		}
	case "/":
		if b == 0 {
			return nil, pgerror.New(pgcode.DivisionByZero, "division by zero")
		}
		if a == math.MinInt64 && b == -1 {
			return nil, outOfRange(oid)
		}
		r = a / b
	case "%":
		if b == 0 {
			return nil, pgerror.New(pgcode.DivisionByZero, "division by zero")
		}
		if b == -1 {
			return int64(0), nil
		}
		r = a % b
	}
	if err := checkIntRange(r, oid); err != nil {
		return nil, err
	}
	return r, nil
}

func floatArith(op string, a, b float64, oid uint32) (any, error) {
	var r float64
	switch op {
	case "+":
		r = a + b
	case "-":
		r = a - b
	case "*":
		r = a * b
	case "/":
		if b == 0 {
			return nil, pgerror.New(pgcode.DivisionByZero, "division by zero")
		}
		r = a / b
	case "%":
		return nil, undefinedOperator("%", typeName(oid), oid, -1)
	case "^":
		return powerFloat8(a, b)
	}
	if oid == oidFloat4 {
		r = float64(float32(r))
	}
	if math.IsInf(r, 0) && !math.IsInf(a, 0) && !math.IsInf(b, 0) {
		return nil, pgerror.Newf(pgcode.NumericValueOutOfRange, "value out of range: overflow")
	}
	return r, nil
}

// divisionMinSigDigits is the number of significant digits PostgreSQL
// aims for in a numeric quotient (NUMERIC_MIN_SIG_DIGITS in numeric.c).
const divisionMinSigDigits = 16

// divisionScale returns the number of fraction digits of a / b following
// PostgreSQL's select_div_scale: enough for about 16 significant digits,
// judged by the base-10000 weights and leading digits of the operands, but
// no fewer than either operand's scale.
func divisionScale(a, b *apd.Decimal) int32 {
	wa, fa := numericWeight(a)
	wb, fb := numericWeight(b)
	qweight := wa - wb
	if fa <= fb {
		qweight--
	}
	scale := divisionMinSigDigits - qweight*4
	scale = max(scale, -a.Exponent, -b.Exponent, 0)
	return min(scale, 1000)
}

// numericWeight returns the weight of d's leading base-10000 digit and
// that digit, as PostgreSQL stores numerics. Zero has weight 0 and digit 0.
func numericWeight(d *apd.Decimal) (weight int32, first int64) {
	if d.IsZero() {
		return 0, 0
	}
	digits := d.Coeff.String()
	e10 := int32(len(digits)) + d.Exponent - 1
	weight = floorDiv(e10, 4)
	lead := int(e10-weight*4) + 1
	for i := 0; i < lead; i++ {
		first *= 10
		if i < len(digits) {
			first += int64(digits[i] - '0')
		}
	}
	return weight, first
}

func floorDiv(a, b int32) int32 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func decimalArith(op string, a, b *apd.Decimal) (any, error) {
	r := new(apd.Decimal)
	var err error
	switch op {
	case "+":
		_, err = decimalCtx.Add(r, a, b)
	case "-":
		_, err = decimalCtx.Sub(r, a, b)
	case "*":
		_, err = decimalCtx.Mul(r, a, b)
	case "/", "%":
		if b.IsZero() {
			return nil, pgerror.New(pgcode.DivisionByZero, "division by zero")
		}
		if op == "%" {
			_, err = decimalCtx.Rem(r, a, b)
			break
		}
		// Divide with extra digits, then round half away from zero to
		// PostgreSQL's result scale.
		ctx := decimalCtx
		ctx.Rounding = apd.RoundHalfUp
		if _, err = ctx.Quo(r, a, b); err == nil {
			_, err = ctx.Quantize(r, r, -divisionScale(a, b))
		}
	}
	if err != nil {
		return nil, pgerror.Newf(pgcode.NumericValueOutOfRange, "value overflows numeric format")
	}
	return r, nil
}

type concatExpr struct {
	left, right expr
	bytea       bool
}

func (e *concatExpr) eval(ec *evalContext, row []any) (any, error) {
	l, r, err := evalOperands(ec, row, e.left, e.right)
	if err != nil || l == nil {
		return nil, err
	}
	if e.bytea {
		return append(append([]byte{}, l.([]byte)...), r.([]byte)...), nil
	}
	// timestamptz prints in the session time zone.
	if t, ok := l.(time.Time); ok && e.left.resultType().OID == oidTimestamptz {
		l = t.In(ec.sess.location())
	}
	if t, ok := r.(time.Time); ok && e.right.resultType().OID == oidTimestamptz {
		r = t.In(ec.sess.location())
	}
	return textOf(l, e.left.resultType().OID) + textOf(r, e.right.resultType().OID), nil
}

func (e *concatExpr) resultType() catalog.ColumnType {
	if e.bytea {
		return plainType(oidBytea)
	}
	return plainType(oidText)
}

// textOf renders a datum as text the way a cast to text does.
func textOf(v any, oid uint32) string {
	if b, ok := v.(bool); ok {
		return boolText(b)
	}
	s := formatDatum(v, oid)
	if oid == oidBpchar {
		s = strings.TrimRight(s, " ")
	}
	return s
}

type caseExpr struct {
	conds   []expr
	results []expr
	def     expr
	typ     catalog.ColumnType
}

func (e *caseExpr) eval(ec *evalContext, row []any) (any, error) {
	for i, c := range e.conds {
		v, err := c.eval(ec, row)
		if err != nil {
			return nil, err
		}
		if v == true {
			return e.results[i].eval(ec, row)
		}
	}
	if e.def != nil {
		return e.def.eval(ec, row)
	}
	return nil, nil
}

func (e *caseExpr) resultType() catalog.ColumnType { return e.typ }

type coalesceExpr struct {
	args []expr
	typ  catalog.ColumnType
}

func (e *coalesceExpr) eval(ec *evalContext, row []any) (any, error) {
	for _, a := range e.args {
		v, err := a.eval(ec, row)
		if err != nil || v != nil {
			return v, err
		}
	}
	return nil, nil
}

func (e *coalesceExpr) resultType() catalog.ColumnType { return e.typ }

type minMaxExpr struct {
	args  []expr
	typ   catalog.ColumnType
	least bool
}

// eval ignores NULL arguments, as PostgreSQL's GREATEST and LEAST do.
func (e *minMaxExpr) eval(ec *evalContext, row []any) (any, error) {
	var best any
	for _, a := range e.args {
		v, err := a.eval(ec, row)
		if err != nil {
			return nil, err
		}
		if v == nil {
			continue
		}
		if best == nil {
			best = v
			continue
		}
		c := compareTyped(v, best, e.typ.OID)
		if (e.least && c < 0) || (!e.least && c > 0) {
			best = v
		}
	}
	return best, nil
}

func (e *minMaxExpr) resultType() catalog.ColumnType { return e.typ }

type sessionValueExpr struct {
	kind string
	typ  catalog.ColumnType
}

func (e *sessionValueExpr) eval(ec *evalContext, _ []any) (any, error) {
	switch e.kind {
	case "user":
		return ec.actor().Name, nil
	case "session_user":
		return ec.sess.user.Name, nil
	case "database":
		return ec.sess.database, nil
	case "schema":
		return ec.sess.currentSchema(), nil
	case "now":
		if e.typ.OID == oidTimestamp {
			return castTime(ec.txnTime, oidTimestamptz, oidTimestamp, ec.sess.location()), nil
		}
		return ec.txnTime, nil
	case "today":
		return castTime(ec.txnTime, oidTimestamptz, oidDate, ec.sess.location()), nil
	case "localtime":
		return castToTime(ec.txnTime, oidTimestamptz, e.typ.TypMod, ec.sess.location())
	}
	return nil, pgerror.Internal("unknown session value %s", e.kind)
}

func (e *sessionValueExpr) resultType() catalog.ColumnType { return e.typ }

// aggRefExpr reads the value of the i-th aggregate of the current group.
type aggRefExpr struct {
	idx int
	typ catalog.ColumnType
}

func (e *aggRefExpr) eval(ec *evalContext, _ []any) (any, error) { return ec.aggValues[e.idx], nil }
func (e *aggRefExpr) resultType() catalog.ColumnType             { return e.typ }

// powerFloat8 is x ^ y for double precision with PostgreSQL's errors.
func powerFloat8(x, y float64) (any, error) {
	switch {
	case x == 0 && y < 0:
		return nil, pgerror.New(pgcode.InvalidArgumentForPowerFunction, "zero raised to a negative power is undefined")
	case x < 0 && y != math.Trunc(y):
		return nil, pgerror.New(pgcode.InvalidArgumentForPowerFunction, "a negative number raised to a non-integer power yields a complex result")
	}
	r := math.Pow(x, y)
	if math.IsInf(r, 0) && !math.IsInf(x, 0) && !math.IsInf(y, 0) {
		return nil, pgerror.New(pgcode.NumericValueOutOfRange, "value out of range: overflow")
	}
	return r, nil
}

// regexExpr is the regular expression match operator ~ and its
// case-insensitive and negated forms.
// NOTE: patterns run on Go's RE2 engine, which lacks back-references and
// some of PostgreSQL's ARE syntax; such patterns fail with 2201B.
type regexExpr struct {
	left, right          expr
	not, caseInsensitive bool
	cachedPattern        string
	cached               *regexp.Regexp
}

func (e *regexExpr) eval(ec *evalContext, row []any) (any, error) {
	l, r, err := evalOperands(ec, row, e.left, e.right)
	if err != nil || l == nil {
		return nil, err
	}
	pattern := r.(string)
	if e.cached == nil || e.cachedPattern != pattern {
		source := pattern
		if e.caseInsensitive {
			source = "(?i)" + source
		}
		re, err := regexp.Compile(source)
		if err != nil {
			return nil, pgerror.Newf(pgcode.InvalidRegularExpression, "invalid regular expression: %v", err)
		}
		e.cached, e.cachedPattern = re, pattern
	}
	return e.cached.MatchString(textOf(l, e.left.resultType().OID)) != e.not, nil
}

func (e *regexExpr) resultType() catalog.ColumnType { return plainType(oidBool) }

// evalOperands evaluates the two operands of a strict binary operator. It
// returns nil for both when either is NULL. Like PostgreSQL, it evaluates
// the right operand after a NULL left one too, so an error there (1/0) is
// raised.
func evalOperands(ec *evalContext, row []any, left, right expr) (l, r any, err error) {
	if l, err = left.eval(ec, row); err != nil {
		return nil, nil, err
	}
	if r, err = right.eval(ec, row); err != nil || l == nil || r == nil {
		return nil, nil, err
	}
	return l, r, nil
}
