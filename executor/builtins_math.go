package executor

import (
	"math"
	"math/big"
	"math/rand/v2"

	"github.com/cockroachdb/apd/v3"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// mathBuiltins are the mathematical functions. Where PostgreSQL has both a
// double precision and a numeric overload, the double precision one is
// listed first: integer and unknown arguments resolve to it, as they do in
// PostgreSQL, where float8 is the preferred numeric type.
var mathBuiltins = map[string][]builtin{
	"round": {
		floatFunc1(math.RoundToEven),
		numericFunc1(func(d *apd.Decimal) (*apd.Decimal, error) { return roundNumeric(d, 0, apd.RoundHalfUp) }),
		numericScaleFunc(apd.RoundHalfUp),
	},
	"trunc": {
		floatFunc1(math.Trunc),
		numericFunc1(func(d *apd.Decimal) (*apd.Decimal, error) { return roundNumeric(d, 0, apd.RoundDown) }),
		numericScaleFunc(apd.RoundDown),
	},
	"ceil":    {floatFunc1(math.Ceil), numericFunc1(numericCeil)},
	"ceiling": {floatFunc1(math.Ceil), numericFunc1(numericCeil)},
	"floor":   {floatFunc1(math.Floor), numericFunc1(numericFloor)},
	"sign": {
		floatFunc1(func(f float64) float64 {
			switch {
			case f > 0:
				return 1
			case f < 0:
				return -1
			}
			return 0
		}),
		numericFunc1(func(d *apd.Decimal) (*apd.Decimal, error) {
			switch {
			case d.Form == apd.NaN:
				return d, nil
			case d.IsZero():
				return apd.New(0, 0), nil
			case d.Negative:
				return apd.New(-1, 0), nil
			}
			return apd.New(1, 0), nil
		}),
	},
	"sqrt": {floatFuncErr1(floatSqrt), numericFunc1(numericSqrt)},
	"cbrt": {floatFunc1(math.Cbrt)},
	"exp":  {floatFuncErr1(floatExp), numericFunc1(numericExp)},
	"ln":   {floatFuncErr1(floatLog(math.Log)), numericFunc1(numericLn)},
	"log": {
		floatFuncErr1(floatLog(math.Log10)),
		numericFunc1(numericLog10),
		numericFunc2(numericLog),
	},
	"log10": {floatFuncErr1(floatLog(math.Log10)), numericFunc1(numericLog10)},
	"power": powerOverloads(),
	"pow":   powerOverloads(),
	"mod": {
		intFunc2(oidInt2, intMod), intFunc2(oidInt4, intMod), intFunc2(oidInt8, intMod),
		numericFunc2(numericMod),
	},
	"div": {numericFunc2(numericDiv)},
	"gcd": {
		intFunc2(oidInt4, intGCD), intFunc2(oidInt8, intGCD),
		numericFunc2(func(a, b *apd.Decimal) (*apd.Decimal, error) { return numericGCD(a, b, false) }),
	},
	"lcm": {
		intFunc2(oidInt4, intLCM), intFunc2(oidInt8, intLCM),
		numericFunc2(func(a, b *apd.Decimal) (*apd.Decimal, error) { return numericGCD(a, b, true) }),
	},
	"pi": {{result: fixed(oidFloat8), fn: func(*evalContext, []any) (any, error) { return math.Pi, nil }}},
	"degrees": {floatFuncErr1(func(f float64) (float64, error) {
		return checkFloatResult(f/radiansPerDegree, f, f)
	})},
	"radians": {floatFuncErr1(func(f float64) (float64, error) {
		return checkFloatResult(f*radiansPerDegree, f, f)
	})},
	// NOTE: Go's math package can differ from glibc's libm, which
	// PostgreSQL uses, in the last digit: on PostgreSQL 15 with glibc,
	// cbrt(2) is 1.2599210498948734 and tan(1) is 1.5574077246549023, where
	// these builtins return 1.2599210498948732 and 1.557407724654902.
	"sin":  {floatFuncErr1(periodicFunc(math.Sin))},
	"cos":  {floatFuncErr1(periodicFunc(math.Cos))},
	"tan":  {floatFuncErr1(periodicFunc(math.Tan))},
	"asin": {floatFuncErr1(unitDomainFunc(math.Asin))},
	"acos": {floatFuncErr1(unitDomainFunc(math.Acos))},
	"atan": {floatFunc1(math.Atan)},
	"atan2": {{argTypes: []uint32{oidFloat8, oidFloat8}, result: fixed(oidFloat8), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
		return math.Atan2(a[0].(float64), a[1].(float64)), nil
	}}},
	"width_bucket": {
		{argTypes: []uint32{oidFloat8, oidFloat8, oidFloat8, oidInt4}, result: fixed(oidInt4), strict: true, fn: floatWidthBucket},
		{argTypes: []uint32{oidNumeric, oidNumeric, oidNumeric, oidInt4}, result: fixed(oidInt4), strict: true, fn: numericWidthBucket},
	},
	"random": {{result: fixed(oidFloat8), volatile: true, fn: func(*evalContext, []any) (any, error) {
		return rand.Float64(), nil
	}}},
}

// radiansPerDegree is the constant PostgreSQL's degrees and radians use.
const radiansPerDegree = 0.0174532925199432957692

// Limits of PostgreSQL's numeric type: NUMERIC_MIN_SIG_DIGITS,
// NUMERIC_MAX_DISPLAY_SCALE and NUMERIC_DSCALE_MAX.
const (
	numericMinSigDigits   = 16
	numericMaxDisplayDigs = 1000
	numericMaxDscale      = 16383
)

func floatFunc1(f func(float64) float64) builtin {
	return builtin{argTypes: []uint32{oidFloat8}, result: fixed(oidFloat8), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
		return f(a[0].(float64)), nil
	}}
}

func floatFuncErr1(f func(float64) (float64, error)) builtin {
	return builtin{argTypes: []uint32{oidFloat8}, result: fixed(oidFloat8), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
		return f(a[0].(float64))
	}}
}

func numericFunc1(f func(*apd.Decimal) (*apd.Decimal, error)) builtin {
	return builtin{argTypes: []uint32{oidNumeric}, result: fixed(oidNumeric), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
		d, err := f(a[0].(*apd.Decimal))
		if err != nil {
			return nil, err
		}
		return normalizeZero(d), nil
	}}
}

func numericFunc2(f func(a, b *apd.Decimal) (*apd.Decimal, error)) builtin {
	return builtin{argTypes: []uint32{oidNumeric, oidNumeric}, result: fixed(oidNumeric), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
		d, err := f(a[0].(*apd.Decimal), a[1].(*apd.Decimal))
		if err != nil {
			return nil, err
		}
		return normalizeZero(d), nil
	}}
}

func intFunc2(oid uint32, f func(a, b int64, oid uint32) (int64, error)) builtin {
	return builtin{argTypes: []uint32{oid, oid}, result: fixed(oid), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
		return f(a[0].(int64), a[1].(int64), oid)
	}}
}

// normalizeZero clears the sign of a zero, which PostgreSQL's numeric
// cannot represent.
func normalizeZero(d *apd.Decimal) *apd.Decimal {
	if d.Form == apd.Finite && d.IsZero() && d.Negative {
		d = new(apd.Decimal).Set(d)
		d.Negative = false
	}
	return d
}

func overflowError() error {
	return pgerror.New(pgcode.NumericValueOutOfRange, "value overflows numeric format")
}

// checkFloatResult fails like PostgreSQL when a finite input gives an
// infinite result.
func checkFloatResult(r, x, y float64) (float64, error) {
	if math.IsInf(r, 0) && !math.IsInf(x, 0) && !math.IsInf(y, 0) {
		return 0, pgerror.New(pgcode.NumericValueOutOfRange, "value out of range: overflow")
	}
	return r, nil
}

func floatSqrt(f float64) (float64, error) {
	if f < 0 {
		return 0, pgerror.New(pgcode.InvalidArgumentForPowerFunction, "cannot take square root of a negative number")
	}
	return math.Sqrt(f), nil
}

func floatExp(f float64) (float64, error) {
	r := math.Exp(f)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return r, nil
	}
	if math.IsInf(r, 0) {
		return 0, pgerror.New(pgcode.NumericValueOutOfRange, "value out of range: overflow")
	}
	if r == 0 {
		return 0, pgerror.New(pgcode.NumericValueOutOfRange, "value out of range: underflow")
	}
	return r, nil
}

func floatLog(log func(float64) float64) func(float64) (float64, error) {
	return func(f float64) (float64, error) {
		if f == 0 {
			return 0, pgerror.New(pgcode.InvalidArgumentForLog, "cannot take logarithm of zero")
		}
		if f < 0 {
			return 0, pgerror.New(pgcode.InvalidArgumentForLog, "cannot take logarithm of a negative number")
		}
		return log(f), nil
	}
}

// periodicFunc wraps sin, cos or tan, which PostgreSQL rejects for an
// infinite input.
func periodicFunc(f func(float64) float64) func(float64) (float64, error) {
	return func(x float64) (float64, error) {
		if math.IsInf(x, 0) {
			return 0, pgerror.New(pgcode.NumericValueOutOfRange, "input is out of range")
		}
		return f(x), nil
	}
}

// unitDomainFunc wraps asin or acos, defined on [-1, 1].
func unitDomainFunc(f func(float64) float64) func(float64) (float64, error) {
	return func(x float64) (float64, error) {
		if x < -1 || x > 1 {
			return 0, pgerror.New(pgcode.NumericValueOutOfRange, "input is out of range")
		}
		return f(x), nil
	}
}

// powerOverloads lists power(numeric, integer) and power(integer, numeric)
// explicitly so that they resolve to numeric as in PostgreSQL, which
// prefers the overload with more exact argument matches, while
// power(integer, integer) still resolves to double precision.
// numericPowerBuiltin is power(numeric, numeric), which the numeric ^
// operator calls.
var numericPowerBuiltin = numericFunc2(numericPower)

func powerOverloads() []builtin {
	overloads := []builtin{numericFunc2(numericPower)}
	for _, intType := range []uint32{oidInt2, oidInt4, oidInt8} {
		for _, types := range [][]uint32{{oidNumeric, intType}, {intType, oidNumeric}} {
			overload := numericFunc2(numericPower)
			numericFn := overload.fn
			overload.argTypes = types
			overload.fn = func(ec *evalContext, a []any) (any, error) {
				converted := make([]any, len(a))
				for i, v := range a {
					if n, ok := v.(int64); ok {
						converted[i] = apd.New(n, 0)
					} else {
						converted[i] = v
					}
				}
				return numericFn(ec, converted)
			}
			overloads = append(overloads, overload)
		}
	}
	float := builtin{argTypes: []uint32{oidFloat8, oidFloat8}, result: fixed(oidFloat8), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
		return floatPower(a[0].(float64), a[1].(float64))
	}}
	// Resolution with implicit casts takes the first match, so float8 goes
	// first.
	return append([]builtin{float}, overloads...)
}

func floatPower(x, y float64) (float64, error) {
	if math.IsNaN(x) {
		if y == 0 {
			return 1, nil
		}
		return math.NaN(), nil
	}
	if math.IsNaN(y) {
		if x == 1 {
			return 1, nil
		}
		return math.NaN(), nil
	}
	if x == 0 && y < 0 {
		return 0, pgerror.New(pgcode.InvalidArgumentForPowerFunction, "zero raised to a negative power is undefined")
	}
	if x < 0 && !math.IsInf(y, 0) && math.Floor(y) != y {
		return 0, pgerror.New(pgcode.InvalidArgumentForPowerFunction, "a negative number raised to a non-integer power yields a complex result")
	}
	r := math.Pow(x, y)
	finite := !math.IsInf(x, 0) && !math.IsInf(y, 0)
	if finite && math.IsInf(r, 0) {
		return 0, pgerror.New(pgcode.NumericValueOutOfRange, "value out of range: overflow")
	}
	if finite && r == 0 && x != 0 {
		return 0, pgerror.New(pgcode.NumericValueOutOfRange, "value out of range: underflow")
	}
	return r, nil
}

func intMod(a, b int64, oid uint32) (int64, error) {
	r, err := intArith("%", a, b, oid)
	if err != nil {
		return 0, err
	}
	return r.(int64), nil
}

func intGCD(a, b int64, oid uint32) (int64, error) {
	for b != 0 {
		a, b = b, a%b
	}
	if a < 0 {
		a = -a
	}
	// -a overflows only for the type's minimum, which has no positive
	// counterpart.
	if a < 0 || checkIntRange(a, oid) != nil {
		return 0, outOfRange(oid)
	}
	return a, nil
}

func intLCM(a, b int64, oid uint32) (int64, error) {
	if a == 0 || b == 0 {
		return 0, nil
	}
	g, err := intGCD(a, b, oid)
	if err != nil {
		return 0, err
	}
	r, err := intArith("*", a/g, b, oid)
	if err != nil {
		return 0, err
	}
	v := r.(int64)
	if v < 0 {
		v = -v
	}
	if v < 0 || checkIntRange(v, oid) != nil {
		return 0, outOfRange(oid)
	}
	return v, nil
}

// dscale is the display scale of a numeric: its digits after the point.
func dscale(d *apd.Decimal) int32 { return max(0, -d.Exponent) }

// clampScale applies PostgreSQL's bounds on a computed result scale.
func clampScale(s int32) int32 { return max(0, min(s, numericMaxDisplayDigs)) }

// leadingDigitPosition is floor(log10(|d|)) for a non-zero finite d.
func leadingDigitPosition(d *apd.Decimal) int64 { return d.NumDigits() + int64(d.Exponent) - 1 }

// numericContext returns a context exact enough to hold intDigits digits
// before the point and scale digits after it, plus guard digits.
func numericContext(intDigits int64, scale int32) *apd.Context {
	precision := max(intDigits, 1) + int64(max(scale, 0)) + 10
	return apd.BaseContext.WithPrecision(uint32(min(precision, math.MaxInt32)))
}

// roundTo rounds d to scale digits after the point with rounding mode.
func roundTo(d *apd.Decimal, scale int32, rounding apd.Rounder) (*apd.Decimal, error) {
	intDigits := int64(1)
	if !d.IsZero() {
		intDigits = leadingDigitPosition(d) + 1
	}
	ctx := numericContext(intDigits, scale)
	ctx.Rounding = rounding
	out := new(apd.Decimal)
	if _, err := ctx.Quantize(out, d, -scale); err != nil {
		return nil, overflowError()
	}
	return out, nil
}

// roundNumeric is round or trunc of numeric to scale digits. A negative
// scale rounds to a power of ten and shows no fraction digits.
func roundNumeric(d *apd.Decimal, scale int64, rounding apd.Rounder) (*apd.Decimal, error) {
	if d.Form != apd.Finite {
		return d, nil
	}
	s := int32(max(min(scale, numericMaxDscale), -numericMaxDscale))
	if s < 0 && !d.IsZero() && leadingDigitPosition(d)+1 < int64(-s)-1 {
		return apd.New(0, 0), nil
	}
	out, err := roundTo(d, s, rounding)
	if err != nil || s >= 0 {
		return out, err
	}
	// Show 1200, not 12E+2, by rescaling to exponent 0.
	return roundTo(out, 0, rounding)
}

func numericScaleFunc(rounding apd.Rounder) builtin {
	return builtin{argTypes: []uint32{oidNumeric, oidInt4}, result: fixed(oidNumeric), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
		d, err := roundNumeric(a[0].(*apd.Decimal), a[1].(int64), rounding)
		if err != nil {
			return nil, err
		}
		return normalizeZero(d), nil
	}}
}

// numericCeil and numericFloor use apd's Ceil and Floor, because its
// Quantize with RoundCeiling or RoundFloor (apd v3.2.3) drops a fraction
// that starts after the first digit after the point: floor(-0.04) gave 0.
func numericCeil(d *apd.Decimal) (*apd.Decimal, error) {
	return integralNumeric(d, (*apd.Context).Ceil)
}

func numericFloor(d *apd.Decimal) (*apd.Decimal, error) {
	return integralNumeric(d, (*apd.Context).Floor)
}

func integralNumeric(d *apd.Decimal, f func(*apd.Context, *apd.Decimal, *apd.Decimal) (apd.Condition, error)) (*apd.Decimal, error) {
	if d.Form != apd.Finite {
		return d, nil
	}
	intDigits := int64(1)
	if !d.IsZero() {
		// One more digit, for a carry such as ceil(9.5) = 10.
		intDigits = leadingDigitPosition(d) + 2
	}
	out := new(apd.Decimal)
	if _, err := f(numericContext(intDigits, 0), out, d); err != nil {
		return nil, overflowError()
	}
	return out, nil
}

// numericSqrt follows PostgreSQL's numeric_sqrt: at least 16 significant
// digits, and no fewer fraction digits than the input.
func numericSqrt(d *apd.Decimal) (*apd.Decimal, error) {
	if d.Form == apd.NaN || d.Form == apd.Infinite && !d.Negative {
		return d, nil
	}
	if d.Negative && !d.IsZero() {
		return nil, pgerror.New(pgcode.InvalidArgumentForPowerFunction, "cannot take square root of a negative number")
	}
	weight := nbaseWeight(d)
	resultWeight := (weight+1)*2 - 1
	scale := clampScale(max(numericMinSigDigits-int32(resultWeight), dscale(d)))
	out := new(apd.Decimal)
	if _, err := numericContext(int64(resultWeight)+1, scale).Sqrt(out, d); err != nil {
		return nil, overflowError()
	}
	return roundTo(out, scale, apd.RoundHalfUp)
}

// nbaseWeight is the weight of d's first digit in PostgreSQL's base-10000
// representation, 0 for zero.
func nbaseWeight(d *apd.Decimal) int64 {
	if d.IsZero() {
		return 0
	}
	p := leadingDigitPosition(d)
	if p < 0 {
		return (p - 3) / 4
	}
	return p / 4
}

// estimateLnWeight mirrors PostgreSQL's estimate_ln_dweight: an estimate of
// the decimal weight of ln(d), from which the result scales of ln and log
// follow.
func estimateLnWeight(d *apd.Decimal) int64 {
	if d.Negative || d.IsZero() {
		return 0
	}
	if d.Cmp(apd.New(9, -1)) >= 0 && d.Cmp(apd.New(11, -1)) <= 0 {
		x := new(apd.Decimal)
		_, _ = decimalCtx.Sub(x, d, apd.New(1, 0))
		if x.IsZero() {
			return 0
		}
		return leadingDigitPosition(x)
	}
	// Take the first two base-10000 digits of d and the decimal weight they
	// start at, or a single digit when nothing follows it, as PostgreSQL does.
	weight := nbaseWeight(d)
	digitsWeight := 4*weight - 4
	scaled := new(apd.Decimal).Set(d)
	scaled.Negative = false
	scaled.Exponent -= int32(digitsWeight)
	head := new(apd.Decimal)
	_, _ = decimalCtx.Floor(head, scaled)
	rest := new(apd.Decimal)
	_, _ = decimalCtx.Sub(rest, scaled, head)
	top, _ := head.Int64()
	if top%10000 == 0 && rest.IsZero() {
		top /= 10000
		digitsWeight += 4
	}
	lnEstimate := math.Log(float64(top)) + float64(digitsWeight)*2.302585092994046
	return int64(math.Log10(math.Abs(lnEstimate)))
}

func checkLogArgument(d *apd.Decimal) error {
	if d.IsZero() {
		return pgerror.New(pgcode.InvalidArgumentForLog, "cannot take logarithm of zero")
	}
	if d.Negative {
		return pgerror.New(pgcode.InvalidArgumentForLog, "cannot take logarithm of a negative number")
	}
	return nil
}

// numericLn follows PostgreSQL's numeric_ln for the result scale.
func numericLn(d *apd.Decimal) (*apd.Decimal, error) {
	if d.Form == apd.NaN || d.Form == apd.Infinite && !d.Negative {
		return d, nil
	}
	if err := checkLogArgument(d); err != nil {
		return nil, err
	}
	lnWeight := estimateLnWeight(d)
	scale := clampScale(max(numericMinSigDigits-int32(lnWeight), dscale(d)))
	out := new(apd.Decimal)
	if _, err := numericContext(lnWeight+2, scale).Ln(out, d); err != nil {
		return nil, overflowError()
	}
	return roundTo(out, scale, apd.RoundHalfUp)
}

// numericLog is log(base, x) of numeric, scaled as PostgreSQL's
// numeric_log.
func numericLog(base, x *apd.Decimal) (*apd.Decimal, error) {
	if base.Form == apd.NaN {
		return base, nil
	}
	if x.Form == apd.NaN {
		return x, nil
	}
	if base.Form != apd.Finite || x.Form != apd.Finite {
		return nil, pgerror.NotSupported("log of infinite numeric values")
	}
	if err := checkLogArgument(base); err != nil {
		return nil, err
	}
	if err := checkLogArgument(x); err != nil {
		return nil, err
	}
	resultWeight := estimateLnWeight(x) - estimateLnWeight(base)
	scale := clampScale(max(numericMinSigDigits-int32(resultWeight), dscale(base), dscale(x)))
	ctx := numericContext(max(resultWeight, 0)+2, scale+int32(max(-resultWeight, 0))+10)
	lnBase, lnX := new(apd.Decimal), new(apd.Decimal)
	if _, err := ctx.Ln(lnBase, base); err != nil {
		return nil, overflowError()
	}
	if _, err := ctx.Ln(lnX, x); err != nil {
		return nil, overflowError()
	}
	if lnBase.IsZero() {
		return nil, pgerror.New(pgcode.DivisionByZero, "division by zero")
	}
	out := new(apd.Decimal)
	if _, err := ctx.Quo(out, lnX, lnBase); err != nil {
		return nil, overflowError()
	}
	return roundTo(out, scale, apd.RoundHalfUp)
}

func numericLog10(x *apd.Decimal) (*apd.Decimal, error) { return numericLog(apd.New(10, 0), x) }

// expLimit bounds |x| for exp and the exponent estimate of power, as
// PostgreSQL's NUMERIC_MAX_RESULT_SCALE * 3 does.
const expLimit = 6000

// numericExp follows PostgreSQL's numeric_exp: the scale comes from a
// float estimate of the result's decimal weight.
func numericExp(d *apd.Decimal) (*apd.Decimal, error) {
	switch {
	case d.Form == apd.NaN:
		return d, nil
	case d.Form == apd.Infinite && d.Negative:
		return apd.New(0, 0), nil
	case d.Form == apd.Infinite:
		return d, nil
	}
	f, _ := d.Float64()
	weight := max(min(f*math.Log10E, 2000), -2000)
	scale := clampScale(max(numericMinSigDigits-int32(weight), dscale(d)))
	if math.Abs(f) >= expLimit {
		if f > 0 {
			return nil, overflowError()
		}
		return roundTo(apd.New(0, 0), scale, apd.RoundHalfUp)
	}
	if weight < -float64(scale)-2 {
		return roundTo(apd.New(0, 0), scale, apd.RoundHalfUp)
	}
	out := new(apd.Decimal)
	if _, err := numericContext(int64(weight)+2, scale+int32(max(-weight, 0))).Exp(out, d); err != nil {
		return nil, overflowError()
	}
	return roundTo(out, scale, apd.RoundHalfUp)
}

// numericPower follows PostgreSQL 15's power_var: an integer exponent gives
// at least 16 fraction digits (more when the base has more), any other
// exponent about 16 significant digits.
// NOTE: results with more than 99000 digits before the point fail as an
// overflow here because of apd's exponent limit, while PostgreSQL allows
// up to 131072 digits.
func numericPower(base, exp *apd.Decimal) (*apd.Decimal, error) {
	if base.Form != apd.Finite || exp.Form != apd.Finite {
		if base.Form == apd.NaN || exp.Form == apd.NaN {
			return &apd.Decimal{Form: apd.NaN}, nil
		}
		return nil, pgerror.NotSupported("power of infinite numeric values")
	}
	if base.IsZero() && exp.Sign() < 0 {
		return nil, pgerror.New(pgcode.InvalidArgumentForPowerFunction, "zero raised to a negative power is undefined")
	}
	integral := isIntegral(exp)
	if base.Sign() < 0 && !integral {
		return nil, pgerror.New(pgcode.InvalidArgumentForPowerFunction, "a negative number raised to a non-integer power yields a complex result")
	}
	n, err := exp.Int64()
	if integral && err == nil && n >= math.MinInt32 && n <= math.MaxInt32 {
		return integerPower(base, n)
	}
	if base.IsZero() {
		return roundTo(apd.New(0, 0), numericMinSigDigits, apd.RoundHalfUp)
	}
	expFloat, _ := exp.Float64()
	lnResult := expFloat * log10Abs(base) / math.Log10E
	if math.Abs(lnResult) >= expLimit {
		if lnResult > 0 {
			return nil, overflowError()
		}
		return roundTo(apd.New(0, 0), numericMaxDisplayDigs, apd.RoundHalfUp)
	}
	weight := lnResult * math.Log10E
	scale := clampScale(max(numericMinSigDigits-int32(weight), dscale(base), dscale(exp)))
	if weight < -float64(scale)-2 {
		return roundTo(apd.New(0, 0), scale, apd.RoundHalfUp)
	}
	out := new(apd.Decimal)
	if _, err := numericContext(int64(weight)+2, scale+int32(max(-weight, 0))).Pow(out, base, exp); err != nil {
		return nil, overflowError()
	}
	return roundTo(out, scale, apd.RoundHalfUp)
}

// integerPower is base**n for an integer n that fits in int32.
func integerPower(base *apd.Decimal, n int64) (*apd.Decimal, error) {
	scale := clampScale(max(numericMinSigDigits, dscale(base)))
	if n == 0 {
		return roundTo(apd.New(1, 0), scale, apd.RoundHalfUp)
	}
	if base.IsZero() {
		return roundTo(apd.New(0, 0), scale, apd.RoundHalfUp)
	}
	weight := float64(n) * log10Abs(base)
	if weight > 99000 {
		return nil, overflowError()
	}
	if weight < -float64(scale)-2 {
		return roundTo(apd.New(0, 0), scale, apd.RoundHalfUp)
	}
	// A short positive power gets enough digits to be exact. Others get 30
	// guard digits beyond the result scale.
	intDigits := int64(max(weight, 0)) + 1
	precision := intDigits + int64(scale) + 30
	if n > 0 {
		precision = min(n*base.NumDigits()+1, precision)
	}
	ctx := apd.BaseContext.WithPrecision(uint32(precision))
	out := new(apd.Decimal)
	if _, err := ctx.Pow(out, base, apd.New(n, 0)); err != nil {
		return nil, overflowError()
	}
	return roundTo(out, scale, apd.RoundHalfUp)
}

func abs64(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

func isIntegral(d *apd.Decimal) bool {
	reduced := new(apd.Decimal)
	reduced.Reduce(d)
	return reduced.Exponent >= 0
}

// log10Abs is log10(|d|) in float64 for a non-zero finite d, also for
// values beyond float64's range.
func log10Abs(d *apd.Decimal) float64 {
	digits := d.Coeff.String()
	lead := digits[:min(len(digits), 17)]
	mantissa := new(apd.Decimal)
	mantissa.Coeff.SetString(lead, 10)
	mantissa.Exponent = -int32(len(lead))
	m, _ := mantissa.Float64()
	return float64(d.NumDigits()+int64(d.Exponent)) + math.Log10(m)
}

func numericMod(a, b *apd.Decimal) (*apd.Decimal, error) {
	switch {
	case a.Form == apd.NaN || b.Form == apd.NaN:
		return &apd.Decimal{Form: apd.NaN}, nil
	case b.Form == apd.Finite && b.IsZero():
		return nil, pgerror.New(pgcode.DivisionByZero, "division by zero")
	case a.Form == apd.Infinite:
		return &apd.Decimal{Form: apd.NaN}, nil
	case b.Form == apd.Infinite:
		return a, nil
	}
	ctx := apd.BaseContext.WithPrecision(uint32(a.NumDigits() + abs64(int64(a.Exponent)-int64(b.Exponent)) + 10))
	out := new(apd.Decimal)
	if _, err := ctx.Rem(out, a, b); err != nil {
		return nil, overflowError()
	}
	return out, nil
}

// numericDiv is div: the quotient truncated towards zero.
func numericDiv(a, b *apd.Decimal) (*apd.Decimal, error) {
	switch {
	case a.Form == apd.NaN || b.Form == apd.NaN:
		return &apd.Decimal{Form: apd.NaN}, nil
	case b.Form == apd.Finite && b.IsZero():
		return nil, pgerror.New(pgcode.DivisionByZero, "division by zero")
	case a.Form != apd.Finite || b.Form != apd.Finite:
		return nil, pgerror.NotSupported("div of infinite numeric values")
	case a.IsZero():
		return apd.New(0, 0), nil
	}
	quotientDigits := leadingDigitPosition(a) - leadingDigitPosition(b) + 2
	out := new(apd.Decimal)
	if _, err := numericContext(quotientDigits, 0).QuoInteger(out, a, b); err != nil {
		return nil, overflowError()
	}
	return roundTo(out, 0, apd.RoundDown)
}

// numericGCD is gcd, or lcm when lcm is set, of two numerics, with the
// larger of their scales.
func numericGCD(a, b *apd.Decimal, lcm bool) (*apd.Decimal, error) {
	if a.Form == apd.NaN || b.Form == apd.NaN {
		return &apd.Decimal{Form: apd.NaN}, nil
	}
	if a.Form != apd.Finite || b.Form != apd.Finite {
		return nil, pgerror.NotSupported("gcd and lcm of infinite numeric values")
	}
	scale := max(dscale(a), dscale(b))
	x, y := scaledInt(a, scale), scaledInt(b, scale)
	r := new(big.Int)
	switch {
	case !lcm:
		r.GCD(nil, nil, x, y)
	case x.Sign() != 0 && y.Sign() != 0:
		g := new(big.Int).GCD(nil, nil, x, y)
		r.Mul(new(big.Int).Quo(x, g), y)
	}
	out := new(apd.Decimal)
	out.Coeff.SetMathBigInt(r)
	out.Exponent = -scale
	return out, nil
}

// scaledInt returns |d| * 10^scale as an integer. The scale must be at
// least d's display scale.
func scaledInt(d *apd.Decimal, scale int32) *big.Int {
	i := d.Coeff.MathBigInt()
	shift := int64(d.Exponent) + int64(scale)
	return i.Mul(i, new(big.Int).Exp(big.NewInt(10), big.NewInt(shift), nil))
}

func widthBucketArgError(message string) error {
	return pgerror.New(pgcode.InvalidArgumentForWidthBucketFunction, message)
}

// floatWidthBucket is width_bucket(operand, low, high, count): the bucket
// of operand among count equal-width buckets, 0 below and count+1 above.
func floatWidthBucket(_ *evalContext, a []any) (any, error) {
	operand, low, high, count := a[0].(float64), a[1].(float64), a[2].(float64), a[3].(int64)
	switch {
	case count <= 0:
		return nil, widthBucketArgError("count must be greater than zero")
	case math.IsNaN(operand) || math.IsNaN(low) || math.IsNaN(high):
		return nil, widthBucketArgError("operand, lower bound, and upper bound cannot be NaN")
	case math.IsInf(low, 0) || math.IsInf(high, 0):
		return nil, widthBucketArgError("lower and upper bounds must be finite")
	case low == high:
		return nil, widthBucketArgError("lower bound cannot equal upper bound")
	}
	var fraction float64
	switch {
	case low < high && operand < low, low > high && operand > low:
		return int64(0), nil
	case low < high && operand >= high, low > high && operand <= high:
		return bucketAfterLast(count)
	case low < high:
		fraction = (operand - low) / (high - low)
	default:
		fraction = (low - operand) / (low - high)
	}
	return min(int64(float64(count)*fraction), count-1) + 1, nil
}

func bucketAfterLast(count int64) (any, error) {
	if count == math.MaxInt32 {
		return nil, outOfRange(oidInt4)
	}
	return count + 1, nil
}

func numericWidthBucket(_ *evalContext, a []any) (any, error) {
	operand, low, high, count := a[0].(*apd.Decimal), a[1].(*apd.Decimal), a[2].(*apd.Decimal), a[3].(int64)
	switch {
	case count <= 0:
		return nil, widthBucketArgError("count must be greater than zero")
	case operand.Form == apd.NaN || low.Form == apd.NaN || high.Form == apd.NaN:
		return nil, widthBucketArgError("operand, lower bound, and upper bound cannot be NaN")
	case low.Form != apd.Finite || high.Form != apd.Finite:
		return nil, widthBucketArgError("lower and upper bounds must be finite")
	case low.Cmp(high) == 0:
		return nil, widthBucketArgError("lower bound cannot equal upper bound")
	}
	ascending := low.Cmp(high) < 0
	switch {
	case ascending && operand.Cmp(low) < 0, !ascending && operand.Cmp(low) > 0:
		return int64(0), nil
	case ascending && operand.Cmp(high) >= 0, !ascending && operand.Cmp(high) <= 0:
		return bucketAfterLast(count)
	}
	offset, width := new(apd.Decimal), new(apd.Decimal)
	_, _ = decimalCtx.Sub(offset, operand, low)
	_, _ = decimalCtx.Sub(width, high, low)
	scaled, bucket := new(apd.Decimal), new(apd.Decimal)
	_, _ = decimalCtx.Mul(scaled, offset, apd.New(count, 0))
	if _, err := decimalCtx.QuoInteger(bucket, scaled, width); err != nil {
		return nil, overflowError()
	}
	n, _ := bucket.Int64()
	return min(n, count-1) + 1, nil
}
