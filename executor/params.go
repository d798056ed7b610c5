package executor

import (
	"encoding/json"
	"math/big"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// normalizeParam converts a parameter value as pgtype decoded it into the
// executor's datum form for the parameter type oid.
func normalizeParam(v any, oid uint32, loc *time.Location) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		if oid == oidText || oid == oidUnknown || oid == oidVarchar || oid == oidBpchar || oid == oidName {
			return x, nil
		}
		return parseDatum(x, plainType(oid), loc)
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int64:
		return x, nil
	case uint32:
		return int64(x), nil
	case float32:
		return float64(x), nil
	case float64:
		return x, nil
	case bool:
		return x, nil
	case pgtype.Numeric:
		if !x.Valid {
			return nil, nil
		}
		return numericFromPgtype(x), nil
	case *big.Int:
		return numericFromPgtype(pgtype.Numeric{Int: x, Valid: true}), nil
	case time.Time:
		return x.UTC().Truncate(time.Microsecond), nil
	case pgtype.Interval:
		if !x.Valid {
			return nil, nil
		}
		return x, nil
	case pgtype.Time:
		if !x.Valid {
			return nil, nil
		}
		return checkTimeParam(x)
	case [16]byte:
		return x, nil
	case []byte:
		if oid == oidJSON || oid == oidJSONB {
			return parseDatum(string(x), plainType(oid), loc)
		}
		return append([]byte(nil), x...), nil
	case pgtype.Array[any]:
		return normalizeArrayParam(x.Elements, x.Dims, oid, loc)
	case []any:
		if isArrayType(oid) {
			return normalizeArrayParam(x, nil, oid, loc)
		}
		b, err := json.Marshal(x)
		if err != nil {
			return nil, pgerror.Newf(pgcode.InvalidParameterValue, "invalid JSON parameter")
		}
		return parseDatum(string(b), plainType(oid), loc)
	case map[string]any:
		b, err := json.Marshal(x)
		if err != nil {
			return nil, pgerror.Newf(pgcode.InvalidParameterValue, "invalid JSON parameter")
		}
		return parseDatum(string(b), plainType(oid), loc)
	case pgtype.InfinityModifier:
		return nil, pgerror.NotSupported("infinite dates and timestamps")
	}
	return nil, pgerror.Newf(pgcode.InvalidParameterValue, "unsupported parameter value of type %s for type %s", typeString(v), typeName(oid))
}

// normalizeArrayParam converts the elements of a decoded array parameter
// of type oid to datums and arranges them in the given dimensions (one
// dimension when dims is nil).
func normalizeArrayParam(elems []any, dims []pgtype.ArrayDimension, oid uint32, loc *time.Location) (any, error) {
	if !isArrayType(oid) {
		return nil, pgerror.Newf(pgcode.DatatypeMismatch, "array parameter given for type %s", typeName(oid))
	}
	elem := arrayElem(oid)
	flat := make([]any, len(elems))
	for i, e := range elems {
		v, err := normalizeParam(e, elem, loc)
		if err != nil {
			return nil, err
		}
		flat[i] = v
	}
	return reshapeByDims(flat, dims), nil
}
