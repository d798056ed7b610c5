package pgtext

import (
	"math"
	"testing"
	"time"
)

// The expected strings are PostgreSQL 15's output for the same values.
func TestAppendFloat(t *testing.T) {
	cases := []struct {
		f    float64
		bits int
		want string
	}{
		{1000000, 64, "1000000"},
		{123456789, 64, "123456789"},
		{100, 64, "100"},
		{1e15, 64, "1e+15"},
		{1e16, 64, "1e+16"},
		{0.0001, 64, "0.0001"},
		{0.00001, 64, "1e-05"},
		{1.5, 32, "1.5"},
		{1e6, 32, "1e+06"},
		{1234567, 32, "1.234567e+06"},
		{-2.25, 64, "-2.25"},
		{math.NaN(), 64, "NaN"},
		{math.Inf(-1), 64, "-Infinity"},
	}
	for _, c := range cases {
		if got := string(AppendFloat(nil, c.f, c.bits)); got != c.want {
			t.Errorf("AppendFloat(%v, %d) = %q, want %q", c.f, c.bits, got, c.want)
		}
	}
}

func TestAppendTimestamptz(t *testing.T) {
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	instant := time.Date(2024, 6, 1, 12, 0, 0, 500000000, time.UTC)
	cases := []struct {
		t    time.Time
		want string
	}{
		{instant, "2024-06-01 12:00:00.5+00"},
		{instant.In(newYork), "2024-06-01 08:00:00.5-04"},
		{instant.In(kolkata), "2024-06-01 17:30:00.5+05:30"},
		{time.Date(0, 1, 1, 13, 4, 5, 0, time.UTC), "0001-01-01 13:04:05+00 BC"},
	}
	for _, c := range cases {
		if got := string(AppendTimestamptz(nil, c.t)); got != c.want {
			t.Errorf("AppendTimestamptz(%v) = %q, want %q", c.t, got, c.want)
		}
	}
}

func TestAppendInterval(t *testing.T) {
	// The expected texts are PostgreSQL 15's output of the same intervals.
	cases := []struct {
		months, days int32
		micros       int64
		want         string
	}{
		{0, 0, 0, "00:00:00"},
		{14, 3, 4*3600e6 + 5*60e6 + 6.5e6, "1 year 2 mons 3 days 04:05:06.5"},
		{1, 0, 0, "1 mon"},
		{0, 0, -1e6, "-00:00:01"},
		{0, -1, 2 * 3600e6, "-1 days +02:00:00"},
		{-10, 0, 0, "-10 mons"},
		{-14, 3, -4 * 3600e6, "-1 years -2 mons +3 days -04:00:00"},
		{0, 0, 25 * 3600e6, "25:00:00"},
		{0, 0, 100005, "00:00:00.100005"},
		{0, 0, math.MinInt64, "-2562047788:00:54.775808"},
	}
	for _, c := range cases {
		if got := string(AppendInterval(nil, c.months, c.days, c.micros)); got != c.want {
			t.Errorf("AppendInterval(%d, %d, %d) = %q, want %q", c.months, c.days, c.micros, got, c.want)
		}
	}
}

func TestAppendTime(t *testing.T) {
	// The expected texts are PostgreSQL 15's output of the same times.
	cases := []struct {
		micros int64
		want   string
	}{
		{0, "00:00:00"},
		{4*3600e6 + 5*60e6 + 6e6, "04:05:06"},
		{4*3600e6 + 5*60e6 + 6.789e6, "04:05:06.789"},
		{1, "00:00:00.000001"},
		{86399999999, "23:59:59.999999"},
		{86400e6, "24:00:00"},
	}
	for _, c := range cases {
		if got := string(AppendTime(nil, c.micros)); got != c.want {
			t.Errorf("AppendTime(%d) = %q, want %q", c.micros, got, c.want)
		}
	}
}
