package protocol

import (
	"slices"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// expandFormats turns the format codes of a Bind message into one code per
// value, following the protocol: no codes means text for all, one code
// applies to all, otherwise there is one code per value. countMismatch
// builds the error for any other number of codes. A nil result means text
// for all.
func expandFormats(codes []int16, n int, countMismatch func() error) ([]int16, error) {
	for _, code := range codes {
		if code != pgproto3.TextFormat && code != pgproto3.BinaryFormat {
			return nil, pgerror.Newf(pgcode.InvalidParameterValue, "unsupported format code: %d", code)
		}
	}

	switch {
	case len(codes) == 0:
		return nil, nil
	case len(codes) == 1:
		if codes[0] == pgproto3.TextFormat {
			return nil, nil
		}
		formats := make([]int16, n)
		for i := range formats {
			formats[i] = codes[0]
		}
		return formats, nil
	case len(codes) == n:
		return slices.Clone(codes), nil
	default:
		return nil, countMismatch()
	}
}

// decodeParams decodes the parameter values of a Bind message by the
// statement's parameter type OIDs. formats comes from expandFormats.
func (c *Conn) decodeParams(oids []uint32, formats []int16, raw [][]byte) ([]any, error) {
	params := make([]any, len(raw))
	for i, src := range raw {
		if src == nil {
			continue // SQL NULL
		}
		format := int16(pgproto3.TextFormat)
		if formats != nil {
			format = formats[i]
		}
		v, err := c.decodeParam(i, oids[i], format, src)
		if err != nil {
			return nil, err
		}
		params[i] = v
	}
	return params, nil
}

// decodeParam decodes parameter i (0-based) of type oid. src is only valid
// until the next message, so every returned value must own its memory. The
// pgtype codecs of v5.13.0 return new strings and copied byte slices, and
// the fallbacks below copy.
func (c *Conn) decodeParam(i int, oid uint32, format int16, src []byte) (any, error) {
	if format == pgproto3.TextFormat {
		if err := validateText(string(src)); err != nil {
			return nil, err
		}
		// Text parameters go to the session as strings: the session parses
		// them with PostgreSQL's input rules (" 42", "yes" for boolean),
		// which pgtype's text decoders do not follow.
		return string(src), nil
	}

	// json and jsonb keep their text: decoding them into Go maps would
	// lose key order and number formatting. Binary jsonb starts with a
	// version byte (1).
	switch oid {
	case pgtype.JSONOID:
		return string(src), nil
	case pgtype.JSONBOID:
		if len(src) == 0 || src[0] != 1 {
			return nil, pgerror.Newf(pgcode.InvalidBinaryRepresentation,
				"incorrect binary data format in bind parameter %d", i+1).WithDetail("Unsupported jsonb version number.")
		}
		return string(src[1:]), nil
	case pgtype.IntervalOID:
		// pgtype reads only part of PostgreSQL's interval syntax ("2 hours"
		// fails), so the session parses interval text itself.
		if format == pgproto3.TextFormat {
			return string(src), nil
		}
	}

	if elemOID, ok := c.arrayElementOID(oid); ok {
		return c.decodeBinaryArray(i, elemOID, src)
	}

	typ, known := c.typeMap.TypeForOID(oid)
	if !known {
		// OID 0 (the client left the type to the server) and types pgtype
		// does not know reach the session as text or raw bytes.
		if format == pgproto3.TextFormat {
			return string(src), nil
		}
		return slices.Clone(src), nil
	}

	v, err := typ.Codec.DecodeValue(c.typeMap, oid, format, src)
	if err != nil {
		if format == pgproto3.BinaryFormat {
			return nil, pgerror.Newf(pgcode.InvalidBinaryRepresentation,
				"incorrect binary data format in bind parameter %d", i+1)
		}
		return nil, pgerror.Newf(pgcode.InvalidTextRepresentation,
			"invalid input syntax for type %s: \"%s\"", sqlTypeName(typ.Name), src)
	}
	return v, nil
}

// sqlTypeName returns the name PostgreSQL's format_type prints for a pgtype
// type name, such as "integer" for "int4".
func sqlTypeName(name string) string {
	switch name {
	case "int2":
		return "smallint"
	case "int4":
		return "integer"
	case "int8":
		return "bigint"
	case "float4":
		return "real"
	case "float8":
		return "double precision"
	case "bool":
		return "boolean"
	case "varchar":
		return "character varying"
	case "bpchar":
		return "character"
	case "timestamp":
		return "timestamp without time zone"
	case "timestamptz":
		return "timestamp with time zone"
	case "time":
		return "time without time zone"
	case "timetz":
		return "time with time zone"
	case "varbit":
		return "bit varying"
	default:
		return name
	}
}
