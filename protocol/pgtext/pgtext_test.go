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
	}
	for _, c := range cases {
		if got := string(AppendTimestamptz(nil, c.t)); got != c.want {
			t.Errorf("AppendTimestamptz(%v) = %q, want %q", c.t, got, c.want)
		}
	}
}
