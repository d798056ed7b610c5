package protocol

import (
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgkeep/pgkeep/protocol/pgtext"
)

// newTypeMap returns a pgtype.Map whose text encodings of float4, float8,
// timestamptz, time and interval print what PostgreSQL prints. pgtype's own
// text forms differ (for example "1000000" for 1e+06, "Z" for "+00",
// "04:05:06.000000" for "04:05:06" and "1 mon 00:00:00" for "1 mon");
// binary encoding is pgtype's.
func newTypeMap() *pgtype.Map {
	m := pgtype.NewMap()
	for _, o := range []struct {
		name   string
		oid    uint32
		format textFormatter
	}{
		{"float4", pgtype.Float4OID, formatFloat(32)},
		{"float8", pgtype.Float8OID, formatFloat(64)},
		{"timestamptz", pgtype.TimestamptzOID, formatTimestamptz},
		{"time", pgtype.TimeOID, formatTime},
		{"interval", pgtype.IntervalOID, formatInterval},
	} {
		base, _ := m.TypeForOID(o.oid)
		m.RegisterType(&pgtype.Type{Name: o.name, OID: o.oid, Codec: &textOverrideCodec{Codec: base.Codec, format: o.format}})
	}
	m.RegisterType(&pgtype.Type{Name: "record", OID: pgtype.RecordOID, Codec: recordCodec{}})
	return m
}

// recordFielder is a record value from the executor. Its text output comes
// from its TextValue method.
type recordFielder interface {
	RecordFields() (oids []uint32, values []any)
}

// recordCodec is pgtype's RecordCodec, which only decodes, with the binary
// output of PostgreSQL's record_send added: the field count, then each
// field's type OID, length (-1 for NULL) and binary value.
type recordCodec struct{ pgtype.RecordCodec }

func (recordCodec) PlanEncode(m *pgtype.Map, _ uint32, format int16, value any) pgtype.EncodePlan {
	if _, ok := value.(recordFielder); ok && format == pgtype.BinaryFormatCode {
		return recordBinaryPlan{m: m}
	}
	return nil
}

type recordBinaryPlan struct{ m *pgtype.Map }

func (p recordBinaryPlan) Encode(value any, buf []byte) ([]byte, error) {
	oids, values := value.(recordFielder).RecordFields()
	b := pgtype.NewCompositeBinaryBuilder(p.m, buf)
	for i, v := range values {
		b.AppendValue(oids[i], v)
	}
	return b.Finish()
}

// textFormatter appends the PostgreSQL text form of v, or reports false
// for Go types it does not handle.
type textFormatter func(buf []byte, v any) ([]byte, bool)

func formatFloat(bits int) textFormatter {
	return func(buf []byte, v any) ([]byte, bool) {
		switch f := v.(type) {
		case float64:
			return pgtext.AppendFloat(buf, f, bits), true
		case float32:
			return pgtext.AppendFloat(buf, float64(f), bits), true
		}
		return buf, false
	}
}

func formatTimestamptz(buf []byte, v any) ([]byte, bool) {
	t, ok := v.(time.Time)
	if !ok {
		return buf, false
	}
	return pgtext.AppendTimestamptz(buf, t), true
}

func formatTime(buf []byte, v any) ([]byte, bool) {
	t, ok := v.(pgtype.Time)
	if !ok || !t.Valid {
		return buf, false
	}
	return pgtext.AppendTime(buf, t.Microseconds), true
}

func formatInterval(buf []byte, v any) ([]byte, bool) {
	i, ok := v.(pgtype.Interval)
	if !ok || !i.Valid {
		return buf, false
	}
	return pgtext.AppendInterval(buf, i.Months, i.Days, i.Microseconds), true
}

// textOverrideCodec wraps a pgtype codec and replaces its text encoding of
// the Go types format handles.
type textOverrideCodec struct {
	pgtype.Codec
	format textFormatter
}

func (c *textOverrideCodec) PlanEncode(m *pgtype.Map, oid uint32, format int16, value any) pgtype.EncodePlan {
	if format == pgtype.TextFormatCode {
		if _, ok := c.format(nil, value); ok {
			return textOverridePlan{format: c.format}
		}
	}
	return c.Codec.PlanEncode(m, oid, format, value)
}

type textOverridePlan struct{ format textFormatter }

func (p textOverridePlan) Encode(value any, buf []byte) ([]byte, error) {
	out, _ := p.format(buf, value)
	return out, nil
}
