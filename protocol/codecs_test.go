package protocol

import (
	"bytes"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgkeep/pgkeep/protocol/pgtext"
)

func TestIntervalTextEncodingMatchesPostgres(t *testing.T) {
	m := newTypeMap()
	cases := []struct {
		value pgtype.Interval
		want  string
	}{
		{pgtype.Interval{Months: 1, Valid: true}, "1 mon"},
		{pgtype.Interval{Days: -1, Microseconds: 7200e6, Valid: true}, "-1 days +02:00:00"},
		{pgtype.Interval{Valid: true}, "00:00:00"},
	}
	for _, c := range cases {
		out, err := m.Encode(pgtype.IntervalOID, pgtype.TextFormatCode, c.value, nil)
		if err != nil {
			t.Fatalf("encode %+v: %v", c.value, err)
		}
		if string(out) != c.want {
			t.Errorf("text of %+v = %q, want %q", c.value, out, c.want)
		}
	}
}

func TestIntervalBinaryEncodingIsPgtypes(t *testing.T) {
	m := newTypeMap()
	iv := pgtype.Interval{Months: 14, Days: 3, Microseconds: 6500000, Valid: true}
	out, err := m.Encode(pgtype.IntervalOID, pgtype.BinaryFormatCode, iv, nil)
	if err != nil {
		t.Fatal(err)
	}
	var back pgtype.Interval
	if err := m.Scan(pgtype.IntervalOID, pgtype.BinaryFormatCode, out, &back); err != nil {
		t.Fatal(err)
	}
	if back != iv {
		t.Errorf("binary round trip: got %+v, want %+v", back, iv)
	}
}

func TestInfiniteTimesEncodeLikePostgres(t *testing.T) {
	m := newTypeMap()
	for _, oid := range []uint32{pgtype.DateOID, pgtype.TimestampOID, pgtype.TimestamptzOID} {
		for _, c := range []struct {
			value    time.Time
			text     string
			modifier pgtype.InfinityModifier
		}{
			{pgtext.Infinity, "infinity", pgtype.Infinity},
			{pgtext.NegativeInfinity, "-infinity", pgtype.NegativeInfinity},
		} {
			value := infiniteTimeValue(c.value, oid)
			text, err := m.Encode(oid, pgtype.TextFormatCode, value, nil)
			if err != nil {
				t.Fatalf("text encoding of %s as OID %d: %v", c.text, oid, err)
			}
			if string(text) != c.text {
				t.Errorf("text of %s as OID %d = %q", c.text, oid, text)
			}

			binary, err := m.Encode(oid, pgtype.BinaryFormatCode, value, nil)
			if err != nil {
				t.Fatalf("binary encoding of %s as OID %d: %v", c.text, oid, err)
			}
			var back pgtype.Timestamp
			var backDate pgtype.Date
			var modifier pgtype.InfinityModifier
			if oid == pgtype.DateOID {
				err = m.Scan(oid, pgtype.BinaryFormatCode, binary, &backDate)
				modifier = backDate.InfinityModifier
			} else {
				err = m.Scan(oid, pgtype.BinaryFormatCode, binary, &back)
				modifier = back.InfinityModifier
			}
			if err != nil {
				t.Fatalf("binary decoding of %s as OID %d: %v", c.text, oid, err)
			}
			if modifier != c.modifier {
				t.Errorf("binary round trip of %s as OID %d gave modifier %v", c.text, oid, modifier)
			}
		}
	}
}

func TestRowEncodesInfiniteTimestamp(t *testing.T) {
	c := newEncodeTestConn()
	c.sink.reset(false, []Column{{Name: "ts", TypeOID: pgtype.TimestampOID}}, []int16{pgtype.TextFormatCode})
	if err := c.sink.Row([]any{pgtext.NegativeInfinity}); err != nil {
		t.Fatalf("row: %v", err)
	}
	if !bytes.HasSuffix(c.wbuf, []byte("-infinity")) {
		t.Errorf("DataRow %q does not end with -infinity", c.wbuf)
	}
}
