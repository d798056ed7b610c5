package executor

import (
	"strings"

	"github.com/jackc/pgx/v5/pgtype"
	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// Type OIDs the executor works with, as PostgreSQL numbers them.
const (
	oidUnknown     = pgtype.UnknownOID
	oidBool        = pgtype.BoolOID
	oidInt2        = pgtype.Int2OID
	oidInt4        = pgtype.Int4OID
	oidInt8        = pgtype.Int8OID
	oidFloat4      = pgtype.Float4OID
	oidFloat8      = pgtype.Float8OID
	oidNumeric     = pgtype.NumericOID
	oidText        = pgtype.TextOID
	oidVarchar     = pgtype.VarcharOID
	oidBpchar      = pgtype.BPCharOID
	oidName        = pgtype.NameOID
	oidBytea       = pgtype.ByteaOID
	oidDate        = pgtype.DateOID
	oidTimestamp   = pgtype.TimestampOID
	oidTimestamptz = pgtype.TimestamptzOID
	oidTime        = pgtype.TimeOID
	oidInterval    = pgtype.IntervalOID
	oidUUID        = pgtype.UUIDOID
	oidJSON        = pgtype.JSONOID
	oidJSONB       = pgtype.JSONBOID
	oidOID         = pgtype.OIDOID
	// oidVoid is the result type of functions that return nothing.
	oidVoid = 2278
)

// typeNames maps a type OID to the name PostgreSQL uses in messages.
var typeNames = map[uint32]string{
	oidUnknown:     "unknown",
	oidBool:        "boolean",
	oidInt2:        "smallint",
	oidInt4:        "integer",
	oidInt8:        "bigint",
	oidFloat4:      "real",
	oidFloat8:      "double precision",
	oidNumeric:     "numeric",
	oidText:        "text",
	oidVarchar:     "character varying",
	oidBpchar:      "character",
	oidName:        "name",
	oidBytea:       "bytea",
	oidDate:        "date",
	oidTimestamp:   "timestamp without time zone",
	oidTimestamptz: "timestamp with time zone",
	oidTime:        "time without time zone",
	oidInterval:    "interval",
	oidUUID:        "uuid",
	oidJSON:        "json",
	oidJSONB:       "jsonb",
	oidOID:         "oid",
	oidVoid:        "void",
}

// typeSizes is pg_type.typlen of each type, -1 for variable length.
var typeSizes = map[uint32]int16{
	oidBool: 1, oidInt2: 2, oidInt4: 4, oidInt8: 8, oidFloat4: 4, oidFloat8: 8,
	oidDate: 4, oidTimestamp: 8, oidTimestamptz: 8, oidTime: 8, oidInterval: 16, oidUUID: 16, oidName: 64, oidOID: 4,
}

func typeName(oid uint32) string {
	if n, ok := typeNames[oid]; ok {
		return n
	}
	return "unknown"
}

func typeSize(oid uint32) int16 {
	if n, ok := typeSizes[oid]; ok {
		return n
	}
	return -1
}

// typeAliases maps the names that may appear in a TypeName, as the grammar
// delivers them (lower case, pg_catalog names), to OIDs.
var typeAliases = map[string]uint32{
	"bool": oidBool, "boolean": oidBool,
	"int2": oidInt2, "smallint": oidInt2,
	"int4": oidInt4, "int": oidInt4, "integer": oidInt4,
	"int8": oidInt8, "bigint": oidInt8,
	"float4": oidFloat4, "real": oidFloat4,
	"float8": oidFloat8, "double precision": oidFloat8, "float": oidFloat8,
	"numeric": oidNumeric, "decimal": oidNumeric,
	"text":    oidText,
	"varchar": oidVarchar, "character varying": oidVarchar,
	"bpchar": oidBpchar, "char": oidBpchar, "character": oidBpchar,
	"name":      oidName,
	"bytea":     oidBytea,
	"date":      oidDate,
	"timestamp": oidTimestamp, "timestamptz": oidTimestamptz, "interval": oidInterval,
	"time": oidTime,
	"uuid": oidUUID, "json": oidJSON, "jsonb": oidJSONB,
	"oid": oidOID,
	// serial types map to their integer type; the caller adds the sequence.
	"serial": oidInt4, "serial4": oidInt4, "bigserial": oidInt8, "serial8": oidInt8,
	"smallserial": oidInt2, "serial2": oidInt2,
}

// resolveTypeName turns a grammar TypeName into a column type. serial
// reports whether the name was one of the serial pseudo-types.
func resolveTypeName(tn *pg_query.TypeName) (typ catalog.ColumnType, serial bool, err error) {
	var parts []string
	for _, n := range tn.Names {
		parts = append(parts, n.GetString_().GetSval())
	}
	if len(parts) == 2 && parts[0] == "pg_catalog" {
		parts = parts[1:]
	}
	name := strings.Join(parts, ".")
	if len(tn.ArrayBounds) > 0 {
		return resolveArrayTypeName(tn, name)
	}
	oid, ok := typeAliases[name]
	if name == "timetz" {
		return typ, false, pgerror.NotSupported("type time with time zone").WithPosition(tn.Location + 1)
	}
	if !ok {
		return typ, false, pgerror.Newf(pgcode.UndefinedObject, "type %q does not exist", name).WithPosition(tn.Location + 1)
	}
	serial = strings.Contains(name, "serial")
	typ = catalog.ColumnType{OID: oid, TypMod: -1}

	var mods []int32
	for _, m := range tn.Typmods {
		c := m.GetAConst()
		if c == nil || c.GetIval() == nil {
			return typ, false, pgerror.Newf(pgcode.SyntaxError, "type modifiers must be simple constants or identifiers").WithPosition(tn.Location + 1)
		}
		mods = append(mods, c.GetIval().Ival)
	}
	switch oid {
	case oidVarchar, oidBpchar:
		if len(mods) > 1 {
			return typ, false, pgerror.Newf(pgcode.InvalidParameterValue, "invalid type modifier")
		}
		if len(mods) == 1 {
			if mods[0] < 1 {
				return typ, false, pgerror.Newf(pgcode.InvalidParameterValue, "length for type %s must be at least 1", shortTypeName(oid))
			}
			typ.TypMod = mods[0] + 4
		} else if oid == oidBpchar && name != "bpchar" {
			// char without a length is char(1).
			typ.TypMod = 1 + 4
		}
	case oidNumeric:
		if len(mods) > 2 {
			return typ, false, pgerror.Newf(pgcode.InvalidParameterValue, "invalid NUMERIC type modifier")
		}
		if len(mods) >= 1 {
			precision, scale := mods[0], int32(0)
			if len(mods) == 2 {
				scale = mods[1]
			}
			if precision < 1 || precision > 1000 {
				return typ, false, pgerror.Newf(pgcode.InvalidParameterValue, "NUMERIC precision %d must be between 1 and 1000", precision)
			}
			if scale < 0 || scale > precision {
				return typ, false, pgerror.Newf(pgcode.InvalidParameterValue, "NUMERIC scale %d must be between 0 and precision %d", scale, precision)
			}
			typ.TypMod = (precision<<16 | scale) + 4
		}
	case oidTimestamp, oidTimestamptz:
		if len(mods) == 1 {
			typ.TypMod = mods[0]
		}
	case oidTime:
		if len(mods) > 1 {
			return typ, false, pgerror.Newf(pgcode.InvalidParameterValue, "invalid type modifier")
		}
		if len(mods) == 1 {
			if mods[0] < 0 {
				return typ, false, pgerror.Newf(pgcode.InvalidParameterValue, "TIME(%d) precision must not be negative", mods[0])
			}
			// NOTE: PostgreSQL also sends the warning "TIME(7) precision
			// reduced to maximum allowed, 6", which is not sent here.
			typ.TypMod = min(mods[0], maxTimePrecision)
		}
	case oidInterval:
		// INTERVAL '1' DAY and interval(3) arrive as type modifiers.
		if len(tn.Typmods) > 0 {
			return typ, false, pgerror.NotSupported("interval field restrictions and precision").WithPosition(tn.Location + 1)
		}
	case oidFloat8:
		// float(p) picks real for p <= 24, as PostgreSQL does.
		if len(mods) == 1 && mods[0] <= 24 {
			typ.OID = oidFloat4
		}
	default:
		if len(mods) > 0 {
			return typ, false, pgerror.Newf(pgcode.SyntaxError, "type modifier is not allowed for type %q", name)
		}
	}
	return typ, serial, nil
}

// resolveArrayTypeName resolves name[] and name ARRAY. Like PostgreSQL,
// it ignores the declared sizes and number of dimensions: int[3][3] is
// int[]. The element type's modifiers, as in varchar(10)[], apply to each
// element.
func resolveArrayTypeName(tn *pg_query.TypeName, name string) (catalog.ColumnType, bool, error) {
	elem := &pg_query.TypeName{Names: tn.Names, Typmods: tn.Typmods, Location: tn.Location}
	typ, serial, err := resolveTypeName(elem)
	if err != nil {
		return typ, false, err
	}
	if serial {
		return typ, false, pgerror.Newf(pgcode.FeatureNotSupported, "array of serial is not implemented").WithPosition(tn.Location + 1)
	}
	oid := arrayOf(typ.OID)
	if oid == 0 || isArrayType(typ.OID) {
		return typ, false, pgerror.Newf(pgcode.UndefinedObject, "type %s[] does not exist", name).WithPosition(tn.Location + 1)
	}
	typ.OID = oid
	return typ, false, nil
}

func shortTypeName(oid uint32) string {
	switch oid {
	case oidVarchar:
		return "varchar"
	case oidBpchar:
		return "char"
	}
	return typeName(oid)
}

// formatType renders a column type as PostgreSQL's format_type does.
func formatType(t catalog.ColumnType) string {
	if isArrayType(t.OID) && t.TypMod >= 0 {
		return formatType(elemType(t)) + "[]"
	}
	base := typeName(t.OID)
	switch t.OID {
	case oidVarchar, oidBpchar:
		if t.TypMod >= 4 {
			return base + "(" + itoa(int64(t.TypMod-4)) + ")"
		}
	case oidNumeric:
		if t.TypMod >= 4 {
			m := t.TypMod - 4
			return "numeric(" + itoa(int64(m>>16)) + "," + itoa(int64(m&0xffff)) + ")"
		}
	case oidTime:
		if t.TypMod >= 0 {
			return "time(" + itoa(int64(t.TypMod)) + ") without time zone"
		}
	}
	return base
}

func isIntType(oid uint32) bool {
	return oid == oidInt2 || oid == oidInt4 || oid == oidInt8 || oid == oidOID || isRegType(oid)
}

func isFloatType(oid uint32) bool { return oid == oidFloat4 || oid == oidFloat8 }

func isNumericType(oid uint32) bool {
	return isIntType(oid) || isFloatType(oid) || oid == oidNumeric
}

func isStringType(oid uint32) bool {
	return oid == oidText || oid == oidVarchar || oid == oidBpchar || oid == oidName || oid == oidChar
}

func isTimeType(oid uint32) bool {
	return oid == oidDate || oid == oidTimestamp || oid == oidTimestamptz
}

// numericRank orders the numeric types for implicit promotion.
func numericRank(oid uint32) int {
	switch oid {
	case oidInt2:
		return 1
	case oidInt4, oidOID, oidRegclass, oidRegtype, oidRegnamespace, oidRegproc:
		return 2
	case oidInt8:
		return 3
	case oidNumeric:
		return 4
	case oidFloat4:
		return 5
	case oidFloat8:
		return 6
	}
	return 0
}

// typeCategory groups types the way pg_type.typcategory does, for
// deciding which comparisons are allowed without a cast.
func typeCategory(oid uint32) byte {
	switch {
	case oid == oidBool:
		return 'B'
	case isNumericType(oid):
		return 'N'
	case isStringType(oid):
		return 'S'
	case isTimeType(oid):
		return 'D'
	case oid == oidInterval:
		return 'T'
	case oid == oidUnknown:
		return 'X'
	}
	return 'U'
}
