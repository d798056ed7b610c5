package executor

import (
	"math"

	"github.com/cockroachdb/apd/v3"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// The variance aggregates: variance and var_samp, var_pop, stddev and
// stddev_samp, and stddev_pop. Integer and numeric input gives numeric
// results computed exactly from the count, sum and sum of squares, with
// PostgreSQL's result scale. float4 and float8 input gives float8 results
// computed with the Youngs-Cramer update that PostgreSQL 15 uses, so that
// the rounding matches.

// varianceAggregates maps each name to whether it is a sample statistic
// and whether it takes the square root.
var varianceAggregates = map[string]struct{ sample, root bool }{
	"variance": {sample: true}, "var_samp": {sample: true}, "var_pop": {},
	"stddev": {sample: true, root: true}, "stddev_samp": {sample: true, root: true}, "stddev_pop": {root: true},
}

// varianceState accumulates one variance aggregate.
type varianceState struct {
	// sum and sumSquares are the exact sums for integer and numeric input.
	sum, sumSquares *apd.Decimal
	// n, sx and sxx are the Youngs-Cramer state for float input: the count,
	// the sum and the sum of squared differences from the mean.
	n, sx, sxx float64
}

func addVarianceValue(st *aggState, v any) error {
	vs := &st.variance
	switch x := v.(type) {
	case float64:
		previous := vs.n
		vs.n++
		vs.sx += x
		if previous > 0 {
			tmp := x*vs.n - vs.sx
			vs.sxx += tmp * tmp / (vs.n * previous)
			if math.IsInf(vs.sx, 0) || math.IsInf(vs.sxx, 0) {
				if !math.IsInf(vs.sx-x, 0) && !math.IsInf(x, 0) {
					return pgerror.New(pgcode.NumericValueOutOfRange, "value out of range: overflow")
				}
				vs.sxx = math.NaN()
			}
		} else if math.IsNaN(x) || math.IsInf(x, 0) {
			vs.sxx = math.NaN()
		}
		return nil
	case int64:
		return addNumericSquares(vs, apd.New(x, 0))
	case *apd.Decimal:
		return addNumericSquares(vs, x)
	}
	return pgerror.Internal("variance of %T", v)
}

func addNumericSquares(vs *varianceState, x *apd.Decimal) error {
	if vs.sum == nil {
		vs.sum, vs.sumSquares = new(apd.Decimal), new(apd.Decimal)
	}
	square := new(apd.Decimal)
	if _, err := decimalCtx.Mul(square, x, x); err != nil {
		return overflowError()
	}
	if _, err := decimalCtx.Add(vs.sum, vs.sum, x); err != nil {
		return overflowError()
	}
	if _, err := decimalCtx.Add(vs.sumSquares, vs.sumSquares, square); err != nil {
		return overflowError()
	}
	return nil
}

// finalVariance returns a variance aggregate's result: NULL without input,
// and for a sample statistic also with one input.
func finalVariance(spec *aggSpec, st *aggState) (any, error) {
	kind := varianceAggregates[spec.name]
	vs := &st.variance
	if st.count == 0 || kind.sample && st.count == 1 {
		return nil, nil
	}
	if isFloatType(spec.arg.resultType().OID) {
		denominator := vs.n
		if kind.sample {
			denominator--
		}
		result := vs.sxx / denominator
		if kind.root {
			result = math.Sqrt(result)
		}
		return result, nil
	}

	// (n * sumSquares - sum * sum) / (n * (n - 1)) for a sample, or over
	// n * n for a population, divided with PostgreSQL's division scale.
	n := apd.New(st.count, 0)
	numerator, product := new(apd.Decimal), new(apd.Decimal)
	if _, err := decimalCtx.Mul(numerator, n, vs.sumSquares); err != nil {
		return nil, overflowError()
	}
	if _, err := decimalCtx.Mul(product, vs.sum, vs.sum); err != nil {
		return nil, overflowError()
	}
	if _, err := decimalCtx.Sub(numerator, numerator, product); err != nil {
		return nil, overflowError()
	}
	if numerator.Sign() <= 0 {
		return apd.New(0, 0), nil
	}
	denominator := apd.New(st.count*st.count, 0)
	if kind.sample {
		denominator = apd.New(st.count*(st.count-1), 0)
	}
	quotient, err := decimalArith("/", numerator, denominator)
	if err != nil {
		return nil, err
	}
	variance := quotient.(*apd.Decimal)
	if !kind.root {
		return variance, nil
	}
	scale := dscale(variance)
	root := new(apd.Decimal)
	if _, err := numericContext(leadingDigitPosition(variance)/2+2, scale+2).Sqrt(root, variance); err != nil {
		return nil, overflowError()
	}
	return roundTo(root, scale, apd.RoundHalfUp)
}
