package kv

import (
	"bytes"
	"cmp"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

const propertyPairs = 20000

func newTestRand(t *testing.T) *rand.Rand {
	seed := uint64(rand.Int64())
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, 0))
}

// keyCodec describes one type for the property tests: a generator, the
// reference order and the encoder and decoder.
type keyCodec[T any] struct {
	gen     func(rng *rand.Rand) T
	compare func(a, b T) int
	encode  func(buf []byte, v T) []byte
	decode  func(buf []byte) (T, []byte, error)
}

// checkOrderAndRoundTrip checks on random pairs that the encodings compare
// like the values, and that every value decodes back to an equal value
// followed by the rest of the key.
func checkOrderAndRoundTrip[T any](t *testing.T, codec keyCodec[T]) {
	rng := newTestRand(t)
	suffix := []byte{0x00, 0xff, 0x42}
	for range propertyPairs {
		a, b := codec.gen(rng), codec.gen(rng)
		encA, encB := codec.encode(nil, a), codec.encode(nil, b)
		if got, expected := bytes.Compare(encA, encB), codec.compare(a, b); got != expected {
			t.Fatalf("compare(enc(%v), enc(%v)) = %d, expected %d\n enc a % x\n enc b % x", a, b, got, expected, encA, encB)
		}

		decoded, rest, err := codec.decode(append(encA, suffix...))
		if err != nil {
			t.Fatalf("decode enc(%v) = % x: %v", a, encA, err)
		}
		if codec.compare(decoded, a) != 0 {
			t.Fatalf("decode enc(%v) = %v", a, decoded)
		}
		if !bytes.Equal(rest, suffix) {
			t.Fatalf("decode enc(%v) left % x, expected % x", a, rest, suffix)
		}
		skipped, err := SkipValue(append(encA, suffix...))
		if err != nil || !bytes.Equal(skipped, suffix) {
			t.Fatalf("SkipValue(enc(%v)) = % x, %v; expected % x", a, skipped, err, suffix)
		}
	}
}

func TestKeyOrderBool(t *testing.T) {
	checkOrderAndRoundTrip(t, keyCodec[bool]{
		gen: func(rng *rand.Rand) bool { return rng.IntN(2) == 1 },
		compare: func(a, b bool) int {
			return cmp.Compare(boolToInt(a), boolToInt(b))
		},
		encode: EncodeBool,
		decode: DecodeBool,
	})
}

func boolToInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestKeyOrderInt64(t *testing.T) {
	checkOrderAndRoundTrip(t, keyCodec[int64]{
		gen:     genInt64,
		compare: cmp.Compare[int64],
		encode:  EncodeInt64,
		decode:  DecodeInt64,
	})
}

func genInt64(rng *rand.Rand) int64 {
	switch rng.IntN(4) {
	case 0:
		edges := []int64{math.MinInt64, math.MinInt64 + 1, -1, 0, 1, math.MaxInt64 - 1, math.MaxInt64,
			math.MinInt32, math.MaxInt32, math.MinInt16, math.MaxInt16}
		return edges[rng.IntN(len(edges))]
	case 1:
		return rng.Int64N(200) - 100
	default:
		return int64(rng.Uint64())
	}
}

func TestKeyOrderFloat64(t *testing.T) {
	checkOrderAndRoundTrip(t, keyCodec[float64]{
		gen:     genFloat64,
		compare: comparePostgresFloat,
		encode:  EncodeFloat64,
		decode:  DecodeFloat64,
	})
}

func genFloat64(rng *rand.Rand) float64 {
	switch rng.IntN(4) {
	case 0:
		edges := []float64{math.Inf(-1), -math.MaxFloat64, -1, -math.SmallestNonzeroFloat64, math.Copysign(0, -1),
			0, math.SmallestNonzeroFloat64, 1, math.MaxFloat64, math.Inf(1), math.NaN(),
			math.Float64frombits(0x7ff8000000000001), math.Float64frombits(0xfff8000000000000)}
		return edges[rng.IntN(len(edges))]
	case 1:
		return float64(rng.IntN(10) - 5)
	case 2:
		return (rng.Float64() - 0.5) * math.Pow(10, float64(rng.IntN(40)-20))
	default:
		return math.Float64frombits(rng.Uint64())
	}
}

// comparePostgresFloat orders floats as PostgreSQL orders double precision:
// NaN equals NaN and is larger than every other value, and -0 equals 0.
func comparePostgresFloat(a, b float64) int {
	aNaN, bNaN := math.IsNaN(a), math.IsNaN(b)
	switch {
	case aNaN && bNaN:
		return 0
	case aNaN:
		return 1
	case bNaN:
		return -1
	}
	return cmp.Compare(a, b)
}

func TestKeyOrderText(t *testing.T) {
	checkOrderAndRoundTrip(t, keyCodec[string]{
		gen:     func(rng *rand.Rand) string { return string(genBytes(rng)) },
		compare: strings.Compare,
		encode:  EncodeText,
		decode:  DecodeText,
	})
}

func TestKeyOrderBytes(t *testing.T) {
	checkOrderAndRoundTrip(t, keyCodec[[]byte]{
		gen:     genBytes,
		compare: bytes.Compare,
		encode:  EncodeBytes,
		decode:  DecodeBytes,
	})
}

// genBytes returns short values drawn mostly from the bytes the escaping
// treats specially, so prefixes and embedded zeros are frequent.
func genBytes(rng *rand.Rand) []byte {
	alphabet := []byte{0x00, 0x01, 0xff, 'a', 'b', 0xc3}
	b := make([]byte, rng.IntN(6))
	for i := range b {
		if rng.IntN(8) == 0 {
			b[i] = byte(rng.IntN(256))
		} else {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
	}
	return b
}

func TestKeyOrderTimestamp(t *testing.T) {
	checkOrderAndRoundTrip(t, keyCodec[time.Time]{
		gen: func(rng *rand.Rand) time.Time {
			// PostgreSQL's range is 4713 BC to 294276 AD.
			micros := rng.Int64N(2*9_000_000_000_000_000) - 9_000_000_000_000_000
			if rng.IntN(4) == 0 {
				micros = rng.Int64N(2000) - 1000
			}
			return time.UnixMicro(micros).In(time.FixedZone("test", 3600*(rng.IntN(25)-12)))
		},
		compare: func(a, b time.Time) int { return a.Compare(b) },
		encode:  EncodeTimestamp,
		decode:  DecodeTimestamp,
	})
}

func TestKeyOrderTimestampMicros(t *testing.T) {
	checkOrderAndRoundTrip(t, keyCodec[int64]{
		gen:     genInt64,
		compare: cmp.Compare[int64],
		encode:  EncodeTimestampMicros,
		decode:  DecodeTimestampMicros,
	})
}

func TestTimestampDropsNanoseconds(t *testing.T) {
	base := time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
	enc := EncodeTimestamp(nil, base.Add(789*time.Nanosecond))
	if !bytes.Equal(enc, EncodeTimestamp(nil, base)) {
		t.Errorf("timestamps within one microsecond encode differently")
	}
	got, _, err := DecodeTimestamp(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(base) || got.Location() != time.UTC {
		t.Errorf("decoded %v, expected %v in UTC", got, base)
	}
}

func TestKeyOrderDate(t *testing.T) {
	checkOrderAndRoundTrip(t, keyCodec[int32]{
		gen: func(rng *rand.Rand) int32 {
			if rng.IntN(4) == 0 {
				return []int32{math.MinInt32, -1, 0, 1, math.MaxInt32}[rng.IntN(5)]
			}
			return int32(rng.Uint32())
		},
		compare: cmp.Compare[int32],
		encode:  EncodeDate,
		decode:  DecodeDate,
	})
}

func TestKeyOrderTime(t *testing.T) {
	const microsPerDay = 86_400_000_000
	checkOrderAndRoundTrip(t, keyCodec[int64]{
		gen: func(rng *rand.Rand) int64 {
			switch rng.IntN(4) {
			case 0:
				return []int64{0, 1, microsPerDay/2 - 1, microsPerDay / 2, microsPerDay - 1, microsPerDay}[rng.IntN(6)]
			case 1:
				return genInt64(rng)
			default:
				return rng.Int64N(microsPerDay + 1)
			}
		},
		compare: cmp.Compare[int64],
		encode:  EncodeTime,
		decode:  DecodeTime,
	})
}

func TestTimeKindDiffersFromTimestamp(t *testing.T) {
	enc := EncodeTime(nil, 3_600_000_000)
	if kind, err := PeekKind(enc); err != nil || kind != KindTime {
		t.Fatalf("PeekKind = %v, %v; expected time", kind, err)
	}
	if _, _, err := DecodeTimestampMicros(enc); err == nil {
		t.Errorf("a time key decoded as a timestamp")
	}
	rest, err := SkipValue(append(enc, tagNull))
	if err != nil || len(rest) != 1 {
		t.Errorf("SkipValue left %d bytes, err %v; expected 1", len(rest), err)
	}
}

func TestKeyOrderUUID(t *testing.T) {
	checkOrderAndRoundTrip(t, keyCodec[[16]byte]{
		gen: func(rng *rand.Rand) [16]byte {
			var id [16]byte
			for i := range id {
				id[i] = byte(rng.IntN(3)) * 0x7f // 0x00, 0x7f and 0xfe
			}
			return id
		},
		compare: func(a, b [16]byte) int { return bytes.Compare(a[:], b[:]) },
		encode:  EncodeUUID,
		decode:  DecodeUUID,
	})
}

func TestKeyOrderNumeric(t *testing.T) {
	checkOrderAndRoundTrip(t, keyCodec[*apd.Decimal]{
		gen:     genNumeric,
		compare: comparePostgresNumeric,
		encode:  EncodeNumeric,
		decode:  DecodeNumeric,
	})
}

func genNumeric(rng *rand.Rand) *apd.Decimal {
	switch rng.IntN(8) {
	case 0:
		special := []apd.Decimal{
			{Form: apd.NaN}, {Form: apd.NaNSignaling}, {Form: apd.Infinite}, {Form: apd.Infinite, Negative: true},
			{}, {Negative: true}, {Exponent: 7},
		}
		d := special[rng.IntN(len(special))]
		return &d
	case 1:
		// Large coefficients with trailing zeros.
		var d apd.Decimal
		digits := strings.Repeat("9", 1+rng.IntN(60)) + strings.Repeat("0", rng.IntN(5))
		d.Coeff.SetString(digits, 10)
		d.Exponent = int32(rng.IntN(200) - 100)
		d.Negative = rng.IntN(2) == 0
		return &d
	case 2:
		// Extreme exponents.
		d := apd.New(rng.Int64N(1000)-500, math.MaxInt32-int32(rng.IntN(3)))
		if rng.IntN(2) == 0 {
			d.Exponent = math.MinInt32 + int32(rng.IntN(3))
		}
		return d
	default:
		// Small values with the same value written at several scales, such
		// as 1.5, 1.50 and 15E-1.
		coeff := rng.Int64N(2001) - 1000
		exponent := int32(rng.IntN(7) - 3)
		scale := rng.IntN(3)
		for range scale {
			coeff *= 10
			exponent--
		}
		return apd.New(coeff, exponent)
	}
}

// comparePostgresNumeric orders numerics as PostgreSQL does: NaN equals NaN
// and is larger than every other value, including Infinity.
func comparePostgresNumeric(a, b *apd.Decimal) int {
	aNaN, bNaN := a.Form != apd.Finite && a.Form != apd.Infinite, b.Form != apd.Finite && b.Form != apd.Infinite
	switch {
	case aNaN && bNaN:
		return 0
	case aNaN:
		return 1
	case bNaN:
		return -1
	}
	return a.Cmp(b)
}

func TestNumericEqualValuesEncodeSame(t *testing.T) {
	cases := [][]string{
		{"1", "1.0", "1.00", "0.1E1", "100E-2"},
		{"0", "0.000", "-0", "0E10"},
		{"-12.5", "-12.50", "-1250E-2"},
		{"1000", "1E3", "1000.00"},
	}
	for _, equal := range cases {
		var first []byte
		for _, s := range equal {
			d, _, err := apd.NewFromString(s)
			if err != nil {
				t.Fatal(err)
			}
			enc := EncodeNumeric(nil, d)
			if first == nil {
				first = enc
				continue
			}
			if !bytes.Equal(enc, first) {
				t.Errorf("%s encodes as % x, %s as % x", s, enc, equal[0], first)
			}
		}
	}
}

func TestNumericOrderExamples(t *testing.T) {
	ordered := []string{"-Infinity", "-1E+100", "-123.45", "-1", "-0.5", "-0.05", "-1E-100", "0",
		"1E-100", "0.05", "0.1", "0.12", "0.123", "0.2", "1", "1.0001", "9.99", "10", "123.45", "1E+100",
		"Infinity", "NaN"}
	var prev []byte
	for i, s := range ordered {
		d, _, err := apd.NewFromString(s)
		if err != nil {
			t.Fatal(err)
		}
		enc := EncodeNumeric(nil, d)
		if i > 0 && bytes.Compare(prev, enc) >= 0 {
			t.Errorf("enc(%s) does not sort before enc(%s)", ordered[i-1], s)
		}
		prev = enc
	}
}

// tupleValue is one column of a random tuple: NULL, an int, text or a
// numeric.
type tupleValue struct {
	kind    Kind
	i       int64
	s       string
	numeric *apd.Decimal
}

func compareTupleValue(a, b tupleValue) int {
	if a.kind == KindNull || b.kind == KindNull {
		return cmp.Compare(boolToInt(a.kind != KindNull), boolToInt(b.kind != KindNull))
	}
	switch a.kind {
	case KindInt:
		return cmp.Compare(a.i, b.i)
	case KindText:
		return strings.Compare(a.s, b.s)
	default:
		return comparePostgresNumeric(a.numeric, b.numeric)
	}
}

func TestKeyOrderTuples(t *testing.T) {
	// Columns of a fixed type each, as in an index on (int, text, numeric,
	// text).
	columnKinds := []Kind{KindInt, KindText, KindNumeric, KindText}
	rng := newTestRand(t)
	gen := func() []tupleValue {
		tuple := make([]tupleValue, len(columnKinds))
		for i, kind := range columnKinds {
			v := tupleValue{kind: kind}
			switch {
			case rng.IntN(5) == 0:
				v.kind = KindNull
			case kind == KindInt:
				v.i = rng.Int64N(3) - 1
			case kind == KindText:
				b := genBytes(rng)
				v.s = string(b[:min(len(b), rng.IntN(3))])
			default:
				v.numeric = apd.New(rng.Int64N(3), int32(-rng.IntN(2)))
			}
			tuple[i] = v
		}
		return tuple
	}
	encode := func(tuple []tupleValue) []byte {
		buf := EncodeUint32(nil, 42)
		for _, v := range tuple {
			switch v.kind {
			case KindNull:
				buf = EncodeNull(buf)
			case KindInt:
				buf = EncodeInt64(buf, v.i)
			case KindText:
				buf = EncodeText(buf, v.s)
			default:
				buf = EncodeNumeric(buf, v.numeric)
			}
		}
		return buf
	}

	for range propertyPairs {
		a, b := gen(), gen()
		expected := 0
		for i := range a {
			if expected = compareTupleValue(a[i], b[i]); expected != 0 {
				break
			}
		}
		encA, encB := encode(a), encode(b)
		if got := bytes.Compare(encA, encB); got != expected {
			t.Fatalf("compare(enc(%+v), enc(%+v)) = %d, expected %d", a, b, got, expected)
		}

		// Decode the columns back in order.
		id, rest, err := DecodeUint32(encA)
		if err != nil || id != 42 {
			t.Fatalf("DecodeUint32 = %d, %v", id, err)
		}
		for i, v := range a {
			kind, err := PeekKind(rest)
			if err != nil {
				t.Fatalf("column %d: %v", i, err)
			}
			if kind != v.kind {
				t.Fatalf("column %d has kind %s, expected %s", i, kind, v.kind)
			}
			var decoded tupleValue
			decoded.kind = kind
			switch kind {
			case KindNull:
				rest, err = DecodeNull(rest)
			case KindInt:
				decoded.i, rest, err = DecodeInt64(rest)
			case KindText:
				decoded.s, rest, err = DecodeText(rest)
			default:
				decoded.numeric, rest, err = DecodeNumeric(rest)
			}
			if err != nil {
				t.Fatalf("column %d: %v", i, err)
			}
			if compareTupleValue(decoded, v) != 0 {
				t.Fatalf("column %d decoded as %+v, expected %+v", i, decoded, v)
			}
		}
		if len(rest) != 0 {
			t.Fatalf("% x left after the last column", rest)
		}
	}
}

func TestNullSortsFirst(t *testing.T) {
	null := EncodeNull(nil)
	others := map[string][]byte{
		"bool":      EncodeBool(nil, false),
		"int":       EncodeInt64(nil, math.MinInt64),
		"float":     EncodeFloat64(nil, math.Inf(-1)),
		"numeric":   EncodeNumeric(nil, &apd.Decimal{Form: apd.Infinite, Negative: true}),
		"text":      EncodeText(nil, ""),
		"bytea":     EncodeBytes(nil, nil),
		"timestamp": EncodeTimestampMicros(nil, math.MinInt64),
		"date":      EncodeDate(nil, math.MinInt32),
		"uuid":      EncodeUUID(nil, [16]byte{}),
	}
	for name, enc := range others {
		if bytes.Compare(null, enc) >= 0 {
			t.Errorf("NULL does not sort before the smallest %s", name)
		}
		if IsNull(enc) {
			t.Errorf("IsNull reports true for a %s", name)
		}
	}
	if !IsNull(null) {
		t.Errorf("IsNull reports false for NULL")
	}
}

func TestPrefixEnd(t *testing.T) {
	cases := []struct {
		prefix, expected []byte
	}{
		{[]byte("abc"), []byte("abd")},
		{[]byte{0x01, 0xff}, []byte{0x02}},
		{[]byte{0x01, 0xfe, 0xff, 0xff}, []byte{0x01, 0xff}},
		{[]byte{0xff, 0xff}, nil},
		{nil, nil},
	}
	for _, c := range cases {
		input := bytes.Clone(c.prefix)
		got := PrefixEnd(input)
		if !bytes.Equal(got, c.expected) || (got == nil) != (c.expected == nil) {
			t.Errorf("PrefixEnd(% x) = % x, expected % x", c.prefix, got, c.expected)
		}
		if !bytes.Equal(input, c.prefix) {
			t.Errorf("PrefixEnd modified its argument to % x", input)
		}
	}

	// Every key with the prefix sorts below PrefixEnd, and keys just
	// outside the prefix do not.
	prefix := EncodeUint32(nil, 7)
	end := PrefixEnd(prefix)
	for _, key := range [][]byte{
		EncodeInt64(bytes.Clone(prefix), math.MaxInt64),
		EncodeUUID(bytes.Clone(prefix), [16]byte{0: 0xff, 15: 0xff}),
		append(bytes.Clone(prefix), 0xff, 0xff, 0xff),
	} {
		if bytes.Compare(key, end) >= 0 {
			t.Errorf("key % x with the prefix does not sort below PrefixEnd % x", key, end)
		}
	}
	if next := EncodeUint32(nil, 8); bytes.Compare(next, end) < 0 {
		t.Errorf("key % x of the next ID sorts below PrefixEnd % x", next, end)
	}
}

func TestDecodeRejectsInvalidInput(t *testing.T) {
	decoders := map[string]func([]byte) error{
		"null":      func(b []byte) error { _, err := DecodeNull(b); return err },
		"bool":      func(b []byte) error { _, _, err := DecodeBool(b); return err },
		"int":       func(b []byte) error { _, _, err := DecodeInt64(b); return err },
		"float":     func(b []byte) error { _, _, err := DecodeFloat64(b); return err },
		"numeric":   func(b []byte) error { _, _, err := DecodeNumeric(b); return err },
		"text":      func(b []byte) error { _, _, err := DecodeText(b); return err },
		"bytea":     func(b []byte) error { _, _, err := DecodeBytes(b); return err },
		"timestamp": func(b []byte) error { _, _, err := DecodeTimestampMicros(b); return err },
		"date":      func(b []byte) error { _, _, err := DecodeDate(b); return err },
		"uuid":      func(b []byte) error { _, _, err := DecodeUUID(b); return err },
		"uint32":    func(b []byte) error { _, _, err := DecodeUint32(b); return err },
		"skip":      func(b []byte) error { _, err := SkipValue(b); return err },
	}
	valid := map[string][]byte{
		"null":      EncodeNull(nil),
		"bool":      EncodeBool(nil, true),
		"int":       EncodeInt64(nil, 5),
		"float":     EncodeFloat64(nil, 1.5),
		"numeric":   EncodeNumeric(nil, apd.New(-12345, -2)),
		"text":      EncodeText(nil, "a\x00b"),
		"bytea":     EncodeBytes(nil, []byte{0, 0}),
		"timestamp": EncodeTimestampMicros(nil, 5),
		"date":      EncodeDate(nil, 5),
		"uuid":      EncodeUUID(nil, [16]byte{1}),
		"uint32":    EncodeUint32(nil, 5),
		"skip":      EncodeText(nil, "abc"),
	}
	for name, decode := range decoders {
		enc := valid[name]
		if err := decode(enc); err != nil {
			t.Errorf("%s: decode of a valid value: %v", name, err)
		}
		// Every strict prefix of a valid encoding is truncated.
		for n := range len(enc) {
			err := decode(enc[:n])
			if err == nil {
				t.Errorf("%s: decode of % x (truncated) succeeded", name, enc[:n])
				continue
			}
			if code := pgerror.GetCode(err); code != pgcode.DataCorrupted {
				t.Errorf("%s: decode of % x: code %s, expected %s", name, enc[:n], code, pgcode.DataCorrupted)
			}
		}
	}

	// Wrong tags and bad bytes.
	invalid := map[string][]byte{
		"bool":    {tagBool, 2},
		"int":     EncodeBool(nil, true),
		"text":    EncodeBytes(nil, []byte("x")),
		"bytea":   {tagBytes, 'x', 0x00, 0x02},
		"numeric": {tagNumeric, 0x09},
		"skip":    {0xee},
	}
	for name, enc := range invalid {
		if err := decoders[name](enc); err == nil {
			t.Errorf("%s: decode of invalid % x succeeded", name, enc)
		}
	}
	if _, _, err := DecodeInt64(EncodeBool(nil, true)); err == nil {
		t.Errorf("DecodeInt64 accepted a bool")
	}
}

func TestKindString(t *testing.T) {
	if got := KindNumeric.String(); got != "numeric" {
		t.Errorf("KindNumeric.String() = %q", got)
	}
	if got := Kind(0xee).String(); got != "Kind(0xee)" {
		t.Errorf("Kind(0xee).String() = %q", got)
	}
}
