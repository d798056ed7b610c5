package executor

import (
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// overlapsOverloads are the forms of (start1, end1) OVERLAPS (start2,
// end2), which the grammar turns into overlaps(start1, end1, start2,
// end2). Each end is a point of the starts' type or an interval after its
// start. As in timeBuiltins, timestamptz comes before timestamp, so a date
// resolves to timestamptz.
func overlapsOverloads() []builtin {
	var out []builtin
	for _, point := range []uint32{oidTimestamptz, oidTimestamp, oidTime} {
		for _, end1 := range []uint32{point, oidInterval} {
			for _, end2 := range []uint32{point, oidInterval} {
				out = append(out, overlapsOverload(point, end1, end2))
			}
		}
	}
	return out
}

// overlapsOverload is overlaps over points of type point, whose ends are
// of the types end1 and end2. It is not strict: a NULL end makes the
// result NULL only where the other points do not decide it.
func overlapsOverload(point, end1, end2 uint32) builtin {
	return builtin{
		argTypes: []uint32{point, end1, point, end2},
		result:   fixed(oidBool),
		fn: func(ec *evalContext, a []any) (any, error) {
			var err error
			e1, e2 := a[1], a[3]
			if end1 == oidInterval {
				if e1, err = addToPoint(ec, point, a[0], e1); err != nil {
					return nil, err
				}
			}
			if end2 == oidInterval {
				if e2, err = addToPoint(ec, point, a[2], e2); err != nil {
					return nil, err
				}
			}
			return overlaps(a[0], e1, a[2], e2), nil
		},
	}
}

// addToPoint returns start + iv for a start of type point, or NULL when
// either is NULL.
func addToPoint(ec *evalContext, point uint32, start, iv any) (any, error) {
	if start == nil || iv == nil {
		return nil, nil
	}
	switch point {
	case oidTime:
		return addTimeInterval(start.(pgtype.Time), iv.(pgtype.Interval), 1), nil
	case oidTimestamptz:
		return addInterval(start.(time.Time), iv.(pgtype.Interval), ec.sess.location())
	}
	return addInterval(start.(time.Time), iv.(pgtype.Interval), nil)
}

// overlaps reports whether the periods [start1, end1] and [start2, end2]
// overlap, following PostgreSQL's timestamp_overlaps. A period's ends may
// come in either order. A NULL end makes the result NULL only when the
// known points cannot decide it.
func overlaps(start1, end1, start2, end2 any) any {
	start1, end1, ok1 := orderPeriod(start1, end1)
	start2, end2, ok2 := orderPeriod(start2, end2)
	if !ok1 || !ok2 {
		return nil
	}
	switch c := compareDatums(start1, start2); {
	case c > 0:
		// Period 1 starts later, so the periods overlap when it starts
		// before period 2 ends.
		if end2 == nil {
			return nil
		}
		if compareDatums(start1, end2) < 0 {
			return true
		}
		if end1 == nil {
			return nil
		}
		return false
	case c < 0:
		if end1 == nil {
			return nil
		}
		if compareDatums(start2, end1) < 0 {
			return true
		}
		if end2 == nil {
			return nil
		}
		return false
	}
	// Equal starts overlap, but PostgreSQL returns NULL when an end is
	// NULL.
	if end1 == nil || end2 == nil {
		return nil
	}
	return true
}

// orderPeriod returns a period's start and end with the earlier point
// first. A NULL start takes the end's place, leaving the end NULL. ok is
// false when both are NULL.
func orderPeriod(start, end any) (any, any, bool) {
	switch {
	case start == nil && end == nil:
		return nil, nil, false
	case start == nil:
		return end, nil, true
	case end != nil && compareDatums(start, end) > 0:
		return end, start, true
	}
	return start, end, true
}
