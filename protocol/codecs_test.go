package protocol

import (
	"testing"

	"github.com/jackc/pgx/v5/pgtype"
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
