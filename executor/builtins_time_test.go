package executor

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// timeCase is one date/time expression evaluated in a session time zone,
// with PostgreSQL 15's output: the value and the result type, or for an
// error the value ERROR and "SQLSTATE message" in typ.
type timeCase struct {
	zone  string
	expr  string
	value string
	typ   string
}

// timeCases were produced by running each expression on PostgreSQL 15
// after SET TimeZone to the case's zone.
var timeCases = []timeCase{
	{`UTC`, `interval '1 day'`, `1 day`, `interval`},
	{`UTC`, `interval '2 hours 30 minutes'`, `02:30:00`, `interval`},
	{`UTC`, `interval '1 year 2 mons'`, `1 year 2 mons`, `interval`},
	{`UTC`, `interval '1:30:00'`, `01:30:00`, `interval`},
	{`UTC`, `interval 'P1DT2H'`, `1 day 02:00:00`, `interval`},
	{`UTC`, `interval 'P1Y2M3W4DT5H6M7.5S'`, `1 year 2 mons 25 days 05:06:07.5`, `interval`},
	{`UTC`, `interval '-1 week'`, `-7 days`, `interval`},
	{`UTC`, `interval '@ 1 hour'`, `01:00:00`, `interval`},
	{`UTC`, `interval '1 day ago'`, `-1 days`, `interval`},
	{`UTC`, `interval '1 year 2 mons 3 days 04:05:06.5'`, `1 year 2 mons 3 days 04:05:06.5`, `interval`},
	{`UTC`, `interval '-1 day +2 hours'`, `-1 days +02:00:00`, `interval`},
	{`UTC`, `interval '1 2:03:04'`, `1 day 02:03:04`, `interval`},
	{`UTC`, `interval '1.5 days'`, `1 day 12:00:00`, `interval`},
	{`UTC`, `interval '1.5 months'`, `1 mon 15 days`, `interval`},
	{`UTC`, `interval '1.5 years'`, `1 year 6 mons`, `interval`},
	{`UTC`, `interval '1.01 years'`, `1 year`, `interval`},
	{`UTC`, `interval '0.5 weeks'`, `3 days 12:00:00`, `interval`},
	{`UTC`, `interval '-1 seconds'`, `-00:00:01`, `interval`},
	{`UTC`, `interval '0'`, `00:00:00`, `interval`},
	{`UTC`, `interval '10'`, `00:00:10`, `interval`},
	{`UTC`, `interval '1-2'`, `1 year 2 mons`, `interval`},
	{`UTC`, `interval '3 millennium 2 centuries 1 decade'`, `3210 years`, `interval`},
	{`UTC`, `interval '100 milliseconds 5 microseconds'`, `00:00:00.100005`, `interval`},
	{`UTC`, `interval '12:34.5'`, `00:12:34.5`, `interval`},
	{`UTC`, `interval '1d 2h 3m 4s'`, `1 day 02:03:04`, `interval`},
	{`UTC`, `interval '-1 year -2 mons +3 days -04:00:00'`, `-1 years -2 mons +3 days -04:00:00`, `interval`},
	{`UTC`, `interval '25 hours'`, `25:00:00`, `interval`},
	{`UTC`, `interval 'xyz'`, `ERROR`, `22007 invalid input syntax for type interval: "xyz"`},
	{`UTC`, `interval '1 fortnight'`, `ERROR`, `22007 invalid input syntax for type interval: "1 fortnight"`},
	{`UTC`, `interval '1000000000 years'`, `ERROR`, `22008 interval out of range`},
	{`UTC`, `'5 minutes'::interval::text`, `00:05:00`, `text`},
	{`UTC`, `interval '1 mon' = interval '30 days'`, `t`, `boolean`},
	{`UTC`, `interval '1 day' < interval '23 hours'`, `f`, `boolean`},
	{`UTC`, `interval '1 year' > interval '360 days'`, `f`, `boolean`},
	{`UTC`, `- interval '1 day 02:00:00'`, `-1 days -02:00:00`, `interval`},
	{`UTC`, `interval '1 day' + interval '2 hours'`, `1 day 02:00:00`, `interval`},
	{`UTC`, `interval '1 mon' - interval '1 day'`, `1 mon -1 days`, `interval`},
	{`UTC`, `interval '1 day' * 1.5`, `1 day 12:00:00`, `interval`},
	{`UTC`, `2 * interval '1 mon 1 day'`, `2 mons 2 days`, `interval`},
	{`UTC`, `interval '1 mon' / 2`, `15 days`, `interval`},
	{`UTC`, `interval '1 day' / 3`, `08:00:00`, `interval`},
	{`UTC`, `interval '1 hour' * 0.3333`, `00:19:59.88`, `interval`},
	{`UTC`, `interval '1 day' / 0`, `ERROR`, `22012 division by zero`},
	{`UTC`, `interval '2147483647 days' + interval '1 day'`, `ERROR`, `22008 interval out of range`},
	{`UTC`, `date '2024-01-31' + interval '1 month'`, `2024-02-29 00:00:00`, `timestamp without time zone`},
	{`UTC`, `date '2024-03-31' - interval '1 month'`, `2024-02-29 00:00:00`, `timestamp without time zone`},
	{`UTC`, `timestamp '2024-01-31 10:00' + interval '1 mon 1 day 1 hour'`, `2024-03-01 11:00:00`, `timestamp without time zone`},
	{`UTC`, `timestamp '2023-02-28 12:00' + interval '1 year'`, `2024-02-28 12:00:00`, `timestamp without time zone`},
	{`UTC`, `timestamp '2024-02-29' + interval '1 year'`, `2025-02-28 00:00:00`, `timestamp without time zone`},
	{`UTC`, `timestamp '2024-01-01' - interval '1 day 1 second'`, `2023-12-30 23:59:59`, `timestamp without time zone`},
	{`UTC`, `interval '2 days' + timestamp '2024-01-01'`, `2024-01-03 00:00:00`, `timestamp without time zone`},
	{`UTC`, `timestamp '2024-03-01' - timestamp '2024-01-01 12:00'`, `59 days 12:00:00`, `interval`},
	{`UTC`, `timestamp '2024-01-01' - timestamp '2024-03-01 12:00'`, `-60 days -12:00:00`, `interval`},
	{`UTC`, `timestamp '2024-01-01' - '2023-01-01'`, `365 days`, `interval`},
	{`UTC`, `timestamp '2024-01-01' + '1 day'`, `2024-01-02 00:00:00`, `timestamp without time zone`},
	{`UTC`, `date '2024-03-01' - date '2024-02-01'`, `29`, `integer`},
	{`UTC`, `date '2024-03-01' - '2023-12-01'`, `91`, `integer`},
	{`UTC`, `date '2024-01-01' + 30`, `2024-01-31`, `date`},
	{`UTC`, `7 + date '2024-01-01'`, `2024-01-08`, `date`},
	{`UTC`, `date '2024-01-01' - 1`, `2023-12-31`, `date`},
	{`UTC`, `date '2024-01-01' + '1 day'`, `ERROR`, `42725 operator is not unique: date + unknown`},
	{`UTC`, `date '2024-01-01' + timestamp '2024-01-01'`, `ERROR`, `42883 operator does not exist: date + timestamp without time zone`},
	{`UTC`, `timestamp '294276-12-31' + interval '1 day'`, `ERROR`, `22008 timestamp out of range`},
	{`UTC`, `date '5874897-12-31' + 1`, `ERROR`, `22008 date out of range`},
	{`UTC`, `timestamptz '2024-01-01 00:00+00' + interval '1 day'`, `2024-01-02 00:00:00+00`, `timestamp with time zone`},
	{`America/New_York`, `timestamptz '2024-03-09 12:00' + interval '1 day'`, `2024-03-10 12:00:00-04`, `timestamp with time zone`},
	{`America/New_York`, `timestamptz '2024-03-09 12:00' + interval '24 hours'`, `2024-03-10 13:00:00-04`, `timestamp with time zone`},
	{`America/New_York`, `timestamptz '2024-11-03 00:00' + interval '1 day'`, `2024-11-04 00:00:00-05`, `timestamp with time zone`},
	{`America/New_York`, `timestamptz '2024-03-11 00:00' - timestamptz '2024-03-10 00:00'`, `23:00:00`, `interval`},
	{`America/New_York`, `timestamptz '2024-01-31 23:00' + interval '1 mon'`, `2024-02-29 23:00:00-05`, `timestamp with time zone`},
	{`America/New_York`, `date_trunc('day', timestamptz '2024-06-15 02:30+00')`, `2024-06-14 00:00:00-04`, `timestamp with time zone`},
	{`America/New_York`, `date_trunc('hour', timestamptz '2024-06-15 02:30:45+00')`, `2024-06-14 22:00:00-04`, `timestamp with time zone`},
	{`America/New_York`, `date_trunc('month', timestamptz '2024-03-15 12:00')`, `2024-03-01 00:00:00-05`, `timestamp with time zone`},
	{`America/New_York`, `extract(hour from timestamptz '2024-06-15 02:30+00')`, `22`, `numeric`},
	{`America/New_York`, `extract(timezone from timestamptz '2024-06-15 02:30+00')`, `-14400`, `numeric`},
	{`America/New_York`, `extract(timezone_hour from timestamptz '2024-01-15 02:30+00')`, `-5`, `numeric`},
	{`America/New_York`, `extract(epoch from timestamptz '2024-06-15 02:30+00')`, `1718418600.000000`, `numeric`},
	{`America/New_York`, `to_char(timestamptz '2024-06-15 02:30+00', 'YYYY-MM-DD HH24:MI TZ OF')`, `2024-06-14 22:30 EDT -04`, `text`},
	{`America/New_York`, `date_trunc('day', date '2024-06-15')`, `2024-06-15 00:00:00-04`, `timestamp with time zone`},
	{`America/New_York`, `age(timestamptz '2024-03-15', timestamptz '2023-01-31')`, `1 year 1 mon 15 days`, `interval`},
	{`Asia/Kolkata`, `to_char(timestamptz '2024-06-15 02:30+00', 'HH24:MI TZH:TZM OF')`, `08:00 +05:30 +05:30`, `text`},
	{`Asia/Kolkata`, `make_timestamptz(2024, 6, 15, 8, 0, 0)`, `2024-06-15 08:00:00+05:30`, `timestamp with time zone`},
	{`UTC`, `make_timestamptz(2024, 6, 15, 8, 0, 0, 'America/New_York')`, `2024-06-15 12:00:00+00`, `timestamp with time zone`},
	{`UTC`, `date_trunc('year', timestamp '2024-06-15 13:14:15.123456')`, `2024-01-01 00:00:00`, `timestamp without time zone`},
	{`UTC`, `date_trunc('quarter', timestamp '2024-08-15 13:14:15')`, `2024-07-01 00:00:00`, `timestamp without time zone`},
	{`UTC`, `date_trunc('month', timestamp '2024-08-15 13:14:15')`, `2024-08-01 00:00:00`, `timestamp without time zone`},
	{`UTC`, `date_trunc('week', timestamp '2024-08-15 13:14:15')`, `2024-08-12 00:00:00`, `timestamp without time zone`},
	{`UTC`, `date_trunc('week', timestamp '2024-08-11 13:14:15')`, `2024-08-05 00:00:00`, `timestamp without time zone`},
	{`UTC`, `date_trunc('day', timestamp '2024-08-15 13:14:15')`, `2024-08-15 00:00:00`, `timestamp without time zone`},
	{`UTC`, `date_trunc('hour', timestamp '2024-08-15 13:14:15')`, `2024-08-15 13:00:00`, `timestamp without time zone`},
	{`UTC`, `date_trunc('minute', timestamp '2024-08-15 13:14:15')`, `2024-08-15 13:14:00`, `timestamp without time zone`},
	{`UTC`, `date_trunc('second', timestamp '2024-08-15 13:14:15.987')`, `2024-08-15 13:14:15`, `timestamp without time zone`},
	{`UTC`, `date_trunc('milliseconds', timestamp '2024-08-15 13:14:15.987654')`, `2024-08-15 13:14:15.987`, `timestamp without time zone`},
	{`UTC`, `date_trunc('decade', timestamp '2024-08-15')`, `2020-01-01 00:00:00`, `timestamp without time zone`},
	{`UTC`, `date_trunc('century', timestamp '2000-08-15')`, `1901-01-01 00:00:00`, `timestamp without time zone`},
	{`UTC`, `date_trunc('century', timestamp '2001-08-15')`, `2001-01-01 00:00:00`, `timestamp without time zone`},
	{`UTC`, `date_trunc('millennium', timestamp '2024-08-15')`, `2001-01-01 00:00:00`, `timestamp without time zone`},
	{`UTC`, `date_trunc('HOURS', timestamp '2024-08-15 13:14:15')`, `2024-08-15 13:00:00`, `timestamp without time zone`},
	{`UTC`, `date_trunc('xyz', timestamp '2024-01-01')`, `ERROR`, `22023 unit "xyz" not recognized for type timestamp without time zone`},
	{`UTC`, `date_trunc('dow', timestamp '2024-01-01')`, `ERROR`, `22023 unit "dow" not recognized for type timestamp without time zone`},
	{`UTC`, `date_trunc('hour', interval '1 day 02:03:04')`, `1 day 02:00:00`, `interval`},
	{`UTC`, `date_trunc('year', interval '3 years 4 mons 5 days')`, `3 years`, `interval`},
	{`UTC`, `date_trunc('decade', interval '13 years 4 mons')`, `10 years`, `interval`},
	{`UTC`, `date_trunc('quarter', interval '1 year 5 mons 3 days')`, `1 year 3 mons`, `interval`},
	{`UTC`, `date_trunc('week', interval '1 day')`, `ERROR`, `0A000 unit "week" not supported for type interval`},
	{`UTC`, `date_trunc('day', timestamptz '2024-01-01 10:00+00')`, `2024-01-01 00:00:00+00`, `timestamp with time zone`},
	{`UTC`, `extract(year from timestamp '2024-08-15 13:14:15.5')`, `2024`, `numeric`},
	{`UTC`, `extract(month from timestamp '2024-08-15 13:14:15.5')`, `8`, `numeric`},
	{`UTC`, `extract(day from date '2024-08-15')`, `15`, `numeric`},
	{`UTC`, `extract(hour from timestamp '2024-08-15 13:14:15.5')`, `13`, `numeric`},
	{`UTC`, `extract(minute from timestamp '2024-08-15 13:14:15.5')`, `14`, `numeric`},
	{`UTC`, `extract(second from timestamp '2024-08-15 13:14:15.5')`, `15.500000`, `numeric`},
	{`UTC`, `extract(milliseconds from timestamp '2024-08-15 13:14:15.5')`, `15500.000`, `numeric`},
	{`UTC`, `extract(microseconds from timestamp '2024-08-15 13:14:15.5')`, `15500000`, `numeric`},
	{`UTC`, `extract(epoch from timestamp '2024-08-15 13:14:15.5')`, `1723727655.500000`, `numeric`},
	{`UTC`, `extract(epoch from date '2024-01-01')`, `1704067200`, `numeric`},
	{`UTC`, `extract(dow from date '2024-08-18')`, `0`, `numeric`},
	{`UTC`, `extract(isodow from date '2024-08-18')`, `7`, `numeric`},
	{`UTC`, `extract(doy from date '2024-12-31')`, `366`, `numeric`},
	{`UTC`, `extract(week from date '2024-12-30')`, `1`, `numeric`},
	{`UTC`, `extract(isoyear from date '2024-12-30')`, `2025`, `numeric`},
	{`UTC`, `extract(quarter from date '2024-08-15')`, `3`, `numeric`},
	{`UTC`, `extract(decade from date '2024-08-15')`, `202`, `numeric`},
	{`UTC`, `extract(century from date '2024-08-15')`, `21`, `numeric`},
	{`UTC`, `extract(millennium from date '2001-01-01')`, `3`, `numeric`},
	{`UTC`, `extract(julian from date '2024-01-01')`, `2460311`, `numeric`},
	{`UTC`, `extract(julian from timestamp '2024-01-01 12:00')`, `2460311.50000000000000000000`, `numeric`},
	{`UTC`, `extract(hour from date '2024-01-01')`, `ERROR`, `0A000 unit "hour" not supported for type date`},
	{`UTC`, `extract(timezone from timestamp '2024-01-01')`, `ERROR`, `0A000 unit "timezone" not supported for type timestamp without time zone`},
	{`UTC`, `extract(xyz from interval '1 day')`, `ERROR`, `22023 unit "xyz" not recognized for type interval`},
	{`UTC`, `extract(epoch from interval '1 year 1 mon 1 day 01:00:00.5')`, `34239600.500000`, `numeric`},
	{`UTC`, `extract(hour from interval '1 day 25:30:00')`, `25`, `numeric`},
	{`UTC`, `extract(month from interval '14 months')`, `2`, `numeric`},
	{`UTC`, `extract(year from interval '-14 months')`, `-1`, `numeric`},
	{`UTC`, `extract(second from interval '1 min 5.25 s')`, `5.250000`, `numeric`},
	{`UTC`, `extract(dow from interval '1 day')`, `ERROR`, `0A000 unit "dow" not supported for type interval`},
	{`UTC`, `date_part('year', timestamp '2024-08-15 13:14:15.5')`, `2024`, `double precision`},
	{`UTC`, `date_part('second', timestamp '2024-08-15 13:14:15.5')`, `15.5`, `double precision`},
	{`UTC`, `date_part('epoch', timestamp '2024-08-15 13:14:15.5')`, `1723727655.5`, `double precision`},
	{`UTC`, `date_part('epoch', interval '1 day 12:00:00')`, `129600`, `double precision`},
	{`UTC`, `date_part('hour', date '2024-08-15')`, `0`, `double precision`},
	{`UTC`, `date_part('day', interval '3 days 4 hours')`, `3`, `double precision`},
	{`UTC`, `date_part('julian', timestamp '2024-01-01 06:00')`, `2460311.25`, `double precision`},
	{`UTC`, `age(timestamp '2024-03-15', timestamp '2023-01-31')`, `1 year 1 mon 15 days`, `interval`},
	{`UTC`, `age(timestamp '2023-01-31', timestamp '2024-03-15')`, `-1 years -1 mons -15 days`, `interval`},
	{`UTC`, `age(timestamp '2024-03-01', timestamp '2024-01-31')`, `1 mon 1 day`, `interval`},
	{`UTC`, `age(timestamp '2024-01-01 10:00', timestamp '2023-12-31 23:30:15.5')`, `10:29:44.5`, `interval`},
	{`UTC`, `age(date '2024-03-01', date '2020-02-29')`, `4 years 1 day`, `interval`},
	{`UTC`, `make_date(2024, 2, 29)`, `2024-02-29`, `date`},
	{`UTC`, `make_date(2024, 2, 30)`, `ERROR`, `22008 date field value out of range: 2024-02-30`},
	{`UTC`, `make_date(-44, 3, 15)`, `0044-03-15 BC`, `date`},
	{`UTC`, `make_timestamp(2024, 6, 15, 13, 14, 15.5)`, `2024-06-15 13:14:15.5`, `timestamp without time zone`},
	{`UTC`, `make_timestamp(2024, 6, 15, 25, 0, 0)`, `ERROR`, `22008 time field value out of range: 25:00:00`},
	{`UTC`, `make_interval(1, 2, 3, 4, 5, 6, 7.5)`, `1 year 2 mons 25 days 05:06:07.5`, `interval`},
	{`UTC`, `make_interval(days => 10)`, `10 days`, `interval`},
	{`UTC`, `make_interval(hours => 1, mins => 30)`, `01:30:00`, `interval`},
	{`UTC`, `make_interval()`, `00:00:00`, `interval`},
	{`UTC`, `make_interval(secs => -1.5)`, `-00:00:01.5`, `interval`},
	{`UTC`, `justify_days(interval '65 days')`, `2 mons 5 days`, `interval`},
	{`UTC`, `justify_days(interval '-35 days')`, `-1 mons -5 days`, `interval`},
	{`UTC`, `justify_hours(interval '50 hours')`, `2 days 02:00:00`, `interval`},
	{`UTC`, `justify_hours(interval '1 day -25 hours')`, `-01:00:00`, `interval`},
	{`UTC`, `justify_interval(interval '1 mon -1 hour')`, `29 days 23:00:00`, `interval`},
	{`UTC`, `justify_interval(interval '-1 mon 50 days 30 hours')`, `21 days 06:00:00`, `interval`},
	{`UTC`, `isfinite(date '2024-01-01')`, `t`, `boolean`},
	{`UTC`, `isfinite(interval '1 day')`, `t`, `boolean`},
	{`UTC`, `to_char(timestamp '2024-08-05 13:04:05.123456', 'YYYY-MM-DD HH24:MI:SS.US')`, `2024-08-05 13:04:05.123456`, `text`},
	{`UTC`, `to_char(timestamp '2024-08-05 13:04:05.123456', 'HH12:MI:SS AM MS')`, `01:04:05 PM 123`, `text`},
	{`UTC`, `to_char(timestamp '2024-08-05 00:04:05', 'HH:MI pm')`, `12:04 am`, `text`},
	{`UTC`, `to_char(timestamp '2024-08-05 13:04:05', 'Day, DD Month YYYY')`, `Monday   , 05 August    2024`, `text`},
	{`UTC`, `to_char(timestamp '2024-08-05 13:04:05', 'FMDay, FMDD FMMonth YYYY')`, `Monday, 5 August 2024`, `text`},
	{`UTC`, `to_char(timestamp '2024-08-05 13:04:05', 'DY Mon mon MON dy')`, `MON Aug aug AUG mon`, `text`},
	{`UTC`, `to_char(timestamp '2024-08-05 13:04:05', 'FMMM/FMDD/YY')`, `8/5/24`, `text`},
	{`UTC`, `to_char(timestamp '2024-08-05 13:04:05', 'DDD D ID IW WW Q CC J')`, `218 2 1 32 32 3 21 2460528`, `text`},
	{`UTC`, `to_char(timestamp '2024-08-05 13:04:05', 'DDth "of" Month')`, `05th of August   `, `text`},
	{`UTC`, `to_char(timestamp '2024-08-01 13:04:05', 'FMDDth FMDDTH')`, `1st 1ST`, `text`},
	{`UTC`, `to_char(timestamp '2024-08-05 13:04:05', 'YYYY "Q"Q')`, `2024 Q3`, `text`},
	{`UTC`, `to_char(timestamp '2024-08-05 13:04:05', 'SSSS TZ')`, `47045 `, `text`},
	{`UTC`, `to_char(timestamptz '2024-08-05 13:04:05+00', 'TZ tz OF')`, `UTC utc +00`, `text`},
	{`UTC`, `to_char(date '2024-08-05', 'YYYY/MM/DD')`, `2024/08/05`, `text`},
	{`UTC`, `to_char(interval '1 day 02:03:04', 'DD HH24:MI:SS')`, `01 02:03:04`, `text`},
	{`UTC`, `to_char(interval '27 hours 5 minutes', 'HH24:MI')`, `27:05`, `text`},
	{`UTC`, `to_char(interval '1 year 2 mons', 'YYYY MM')`, `0001 02`, `text`},
	{`UTC`, `to_char(123, '999')`, ` 123`, `text`},
	{`UTC`, `to_char(5, '999')`, `   5`, `text`},
	{`UTC`, `to_char(-5, '999')`, `  -5`, `text`},
	{`UTC`, `to_char(0, '999')`, `   0`, `text`},
	{`UTC`, `to_char(0.5, '999.9')`, `    .5`, `text`},
	{`UTC`, `to_char(1, 'FM999.99')`, `1.`, `text`},
	{`UTC`, `to_char(1234567.891, '9,999,999.99')`, ` 1,234,567.89`, `text`},
	{`UTC`, `to_char(12, '9')`, ` #`, `text`},
	{`UTC`, `to_char(5, 'S999')`, `  +5`, `text`},
	{`UTC`, `to_char(-5, '999MI')`, `  5-`, `text`},
	{`UTC`, `to_char(-5, 'MI999')`, `-  5`, `text`},
	{`UTC`, `to_char(-5, '999PR')`, `  <5>`, `text`},
	{`UTC`, `to_char(5, '999PR')`, `   5 `, `text`},
	{`UTC`, `to_char(0, '999.9')`, `    .0`, `text`},
	{`UTC`, `to_char(0, '0.99')`, ` 0.00`, `text`},
	{`UTC`, `to_char(-0.5, '999.99')`, `   -.50`, `text`},
	{`UTC`, `to_char(1234.5, 'FM9,999.00')`, `1,234.50`, `text`},
	{`UTC`, `to_char(12, '0999')`, ` 0012`, `text`},
	{`UTC`, `to_char(-12, 'FM0999')`, `-0012`, `text`},
	{`UTC`, `to_char(3.14159, '9.99')`, ` 3.14`, `text`},
	{`UTC`, `to_char(123.456, '999D99')`, ` 123.46`, `text`},
	{`UTC`, `to_char(5, '9G999')`, `     5`, `text`},
	{`UTC`, `to_char(1234, '9G999')`, ` 1,234`, `text`},
	{`UTC`, `to_char(1.999, '9.99')`, ` 2.00`, `text`},
	{`UTC`, `to_char(9.999, '9.99')`, ` #.##`, `text`},
	{`UTC`, `to_char(-1234.5, 'S9999.9')`, `-1234.5`, `text`},
	{`UTC`, `to_char(12.5, '99.9S')`, `12.5+`, `text`},
	{`UTC`, `to_char(12345678901::bigint, 'FM999,999,999,999')`, `12,345,678,901`, `text`},
	{`UTC`, `to_char(2.5::float8, '9.9')`, ` 2.5`, `text`},
	{`UTC`, `to_char(42, 'FM9999 "items"')`, `42 items`, `text`},
	{`UTC`, `to_timestamp(0)`, `1970-01-01 00:00:00+00`, `timestamp with time zone`},
	{`UTC`, `to_timestamp(1700000000.5)`, `2023-11-14 22:13:20.5+00`, `timestamp with time zone`},
	{`UTC`, `to_timestamp('2024-08-05 13:04:05', 'YYYY-MM-DD HH24:MI:SS')`, `2024-08-05 13:04:05+00`, `timestamp with time zone`},
	{`UTC`, `to_timestamp('05 Aug 2024 01:04 PM', 'DD Mon YYYY HH:MI AM')`, `2024-08-05 13:04:00+00`, `timestamp with time zone`},
	{`UTC`, `to_timestamp('20240805', 'YYYYMMDD')`, `2024-08-05 00:00:00+00`, `timestamp with time zone`},
	{`UTC`, `to_timestamp('2024-08-05 13:04:05.25', 'YYYY-MM-DD HH24:MI:SS.MS')`, `2024-08-05 13:04:05.25+00`, `timestamp with time zone`},
	{`UTC`, `to_timestamp('2024-08-05 13:04 +05:30', 'YYYY-MM-DD HH24:MI TZH:TZM')`, `2024-08-05 07:34:00+00`, `timestamp with time zone`},
	{`America/New_York`, `to_timestamp('2024-08-05 13:04', 'YYYY-MM-DD HH24:MI')`, `2024-08-05 13:04:00-04`, `timestamp with time zone`},
	{`UTC`, `to_date('2024-08-05', 'YYYY-MM-DD')`, `2024-08-05`, `date`},
	{`UTC`, `to_date('August 5, 2024', 'Month DD, YYYY')`, `2024-08-05`, `date`},
	{`UTC`, `to_date('05/08/24', 'DD/MM/YY')`, `2024-08-05`, `date`},
	{`UTC`, `to_date('2024-13-05', 'YYYY-MM-DD')`, `ERROR`, `22008 date/time field value out of range: "2024-13-05"`},
	{`UTC`, `to_date('2024-02-30', 'YYYY-MM-DD')`, `ERROR`, `22008 date/time field value out of range: "2024-02-30"`},
	{`UTC`, `to_date('2024-xx-05', 'YYYY-MM-DD')`, `ERROR`, `22007 invalid value "xx" for "MM"`},
	{`UTC`, `'1 day'::interval::text || ' later'`, `1 day later`, `text`},
	{`UTC`, `cast(interval '90 minutes' as text)`, `01:30:00`, `text`},
	{`UTC`, `greatest(interval '1 day', interval '20 hours')`, `1 day`, `interval`},
	{`UTC`, `timestamp '2024-01-01 00:00' + interval '1.5 hours'`, `2024-01-01 01:30:00`, `timestamp without time zone`},
	{`UTC`, `interval '1 day' - timestamp '2024-01-01'`, `ERROR`, `42883 operator does not exist: interval - timestamp without time zone`},
	{`UTC`, `to_timestamp('2024-08-05 13:04 -00:30', 'YYYY-MM-DD HH24:MI TZH:TZM')`, `2024-08-05 13:34:00+00`, `timestamp with time zone`},
	{`UTC`, `to_timestamp('2024-08-05 13:04 -03', 'YYYY-MM-DD HH24:MI TZH')`, `2024-08-05 16:04:00+00`, `timestamp with time zone`},
	{`UTC`, `to_date('2024x08x05', 'YYYY-MM-DD')`, `ERROR`, `22007 invalid value "x0" for "MM"`},
	{`UTC`, `to_date('2024 - 08 - 05', 'YYYY-MM-DD')`, `2024-08-05`, `date`},
	{`UTC`, `interval '1 day' * 2.5::float4`, `2 days 12:00:00`, `interval`},
	{`UTC`, `interval '-1.5 days'`, `-1 days -12:00:00`, `interval`},
	{`UTC`, `interval '+1 day -1 hour'`, `1 day -01:00:00`, `interval`},
	{`UTC`, `interval '1 week 2 days'`, `9 days`, `interval`},
	{`UTC`, `interval '1 hour ago'`, `-01:00:00`, `interval`},
	{`UTC`, `interval '-1:30'`, `-01:30:00`, `interval`},
	{`UTC`, `interval '1.5'`, `00:00:01.5`, `interval`},
	{`UTC`, `interval 'PT1.5S'`, `00:00:01.5`, `interval`},
	{`UTC`, `interval 'P-1D'`, `-1 days`, `interval`},
	{`UTC`, `interval '2 mons 1 day' / 3`, `20 days 08:00:00`, `interval`},
	{`UTC`, `interval '1 mon' * 0.1`, `3 days`, `interval`},
	{`UTC`, `interval '3 days' * -1`, `-3 days`, `interval`},
	{`UTC`, `interval '1 year' / 1.5`, `8 mons`, `interval`},
	{`UTC`, `timestamp '2024-05-31' - interval '3 months'`, `2024-02-29 00:00:00`, `timestamp without time zone`},
	{`UTC`, `timestamp '2024-01-01 12:00' - date '2024-01-01'`, `12:00:00`, `interval`},
	{`UTC`, `date '2024-01-01' - timestamp '2023-12-31 12:00'`, `12:00:00`, `interval`},
	{`UTC`, `timestamptz '2024-01-01 00:00+00' - timestamp '2023-12-31'`, `1 day`, `interval`},
	{`UTC`, `age(timestamp '2024-01-31', timestamp '2024-02-29')`, `-29 days`, `interval`},
	{`UTC`, `age(timestamp '2000-02-29', timestamp '2024-02-28')`, `-23 years -11 mons -28 days`, `interval`},
	{`UTC`, `extract(year from timestamp '0044-03-15 BC')`, `-44`, `numeric`},
	{`UTC`, `to_char(timestamp '0044-03-15 BC', 'YYYY BC')`, `0044 BC`, `text`},
	{`UTC`, `to_char(timestamp '2024-08-05 13:04:05', 'HH24hHH12 MIm SSs')`, `13h01 04m 05s`, `text`},
	{`UTC`, `to_char(timestamp '2024-08-05 13:04:05', 'MONTH|Month|month|RM')`, `AUGUST   |August   |august   |VIII`, `text`},
	{`UTC`, `to_char(timestamp '2024-08-05 13:04:05', 'FMHH12:MI a.m.')`, `1:04 p.m.`, `text`},
	{`UTC`, `to_char(timestamp '2024-08-05 13:04:05', 'Y,YYY YYY YY Y IYYY')`, `2,024 024 24 4 2024`, `text`},
	{`UTC`, `to_char(timestamp '2024-08-05 13:04:05.5', 'FF1 FF3 FF6')`, `5 500 500000`, `text`},
	{`UTC`, `to_char(1234.5678, '99999.999')`, `  1234.568`, `text`},
	{`UTC`, `to_char(-1234.5678, 'FM99999.999')`, `-1234.568`, `text`},
	{`UTC`, `to_char(0.001, '0.999')`, ` 0.001`, `text`},
	{`UTC`, `to_char(100, 'FM999')`, `100`, `text`},
	{`UTC`, `to_char(1000000, '9G999G999')`, ` 1,000,000`, `text`},
	{`UTC`, `to_char(-0.1, 'FM9.9')`, `-.1`, `text`},
	{`UTC`, `to_char(0, 'FM9.99')`, `0.`, `text`},
	{`UTC`, `to_char(7, '00')`, ` 07`, `text`},
	{`UTC`, `to_char(-7, 'S00')`, `-07`, `text`},
	{`UTC`, `to_char(7::int8, '999')`, `   7`, `text`},
	{`UTC`, `to_char(1.5::float8, 'FM9.999')`, `1.5`, `text`},
	{`UTC`, `to_char(123456789.123::float8, '999999999.99')`, ` 123456789.12`, `text`},
	{`UTC`, `to_timestamp(-1.5)`, `1969-12-31 23:59:58.5+00`, `timestamp with time zone`},
	{`UTC`, `to_timestamp('2024 8 5', 'YYYY MM DD')`, `2024-08-05 00:00:00+00`, `timestamp with time zone`},
	{`UTC`, `to_timestamp('13:04:05', 'HH24:MI:SS')`, `0001-01-01 13:04:05+00 BC`, `timestamp with time zone`},
	{`UTC`, `to_date('2024-08-05 extra', 'YYYY-MM-DD')`, `2024-08-05`, `date`},
	{`UTC`, `to_date('2024/8/5', 'YYYY/MM/DD')`, `2024-08-05`, `date`},
	{`UTC`, `to_timestamp('2024-08-05 13:04:05.123456', 'YYYY-MM-DD HH24:MI:SS.US')`, `2024-08-05 13:04:05.123456+00`, `timestamp with time zone`},
	{`UTC`, `date_trunc('week', date '2024-08-18')`, `2024-08-12 00:00:00+00`, `timestamp with time zone`},
	{`UTC`, `date_trunc('month', timestamptz '2024-08-18 10:00+00')`, `2024-08-01 00:00:00+00`, `timestamp with time zone`},
	{`UTC`, `extract(century from timestamp '0001-01-01 BC')`, `-1`, `numeric`},
	{`UTC`, `extract(decade from timestamp '0001-01-01 BC')`, `0`, `numeric`},
	{`UTC`, `extract(millennium from timestamp '2000-12-31')`, `2`, `numeric`},
	{`UTC`, `date_part('milliseconds', interval '1.5 seconds')`, `1500`, `double precision`},
	{`UTC`, `date_part('quarter', interval '7 months')`, `3`, `double precision`},
	{`UTC`, `make_interval(years => 1, months => -1)`, `11 mons`, `interval`},
	{`UTC`, `make_interval(weeks => 2, secs => 0.000001)`, `14 days 00:00:00.000001`, `interval`},
	{`UTC`, `justify_interval(interval '1 year -1 day')`, `11 mons 29 days`, `interval`},
	{`UTC`, `interval '1 day' = interval '24 hours'`, `t`, `boolean`},
	{`UTC`, `interval '1 day' > '23:59:59'`, `t`, `boolean`},
	{`UTC`, `'1 day'::interval + '1 hour'`, `1 day 01:00:00`, `interval`},
	{`UTC`, `'2024-01-01'::timestamp + '1 mon'::interval`, `2024-02-01 00:00:00`, `timestamp without time zone`},
	{`UTC`, `(timestamp '2024-01-01' + interval '1 hour')::date`, `2024-01-01`, `date`},
	{`UTC`, `interval '1 day 1 hour'::text::interval`, `1 day 01:00:00`, `interval`},
	{`UTC`, `interval '  1   day  '`, `1 day`, `interval`},
	{`UTC`, `interval ''`, `ERROR`, `22007 invalid input syntax for type interval: ""`},
	{`UTC`, `interval '1 day 2 days'`, `ERROR`, `22007 invalid input syntax for type interval: "1 day 2 days"`},
	{`UTC`, `interval '1 2'`, `ERROR`, `22007 invalid input syntax for type interval: "1 2"`},
	{`UTC`, `date '2024-02-29' - interval '1 year'`, `2023-02-28 00:00:00`, `timestamp without time zone`},
	{`UTC`, `timestamp '2024-03-31 00:00' + interval '-1 mon -1 day'`, `2024-02-28 00:00:00`, `timestamp without time zone`},
	{`UTC`, `extract(epoch from interval '-1 day')`, `-86400.000000`, `numeric`},
	{`UTC`, `to_char(interval '-1 day -02:03:04', 'DD HH24:MI:SS')`, `-1 -02:-03:-04`, `text`},
	{`UTC`, `to_char(interval '5 years 3 mons', 'YY "years" MM "months"')`, `05 years 03 months`, `text`},
	{`UTC`, `to_char(0, 'FM9.9')`, `0.`, `text`},
	{`UTC`, `to_char(0.5,'FM9.99')`, `.5`, `text`},
	{`UTC`, `to_char(0, '9.99')`, `  .00`, `text`},
	{`UTC`, `to_char(10,'FM99.9')`, `10.`, `text`},
	{`UTC`, `to_char(0, 'FM999.00')`, `.00`, `text`},
	{`UTC`, `to_char(0.05, 'FM9.9')`, `.1`, `text`},
	{`UTC`, `to_char(-0.04, 'FM9.9')`, `0.`, `text`},
	{`UTC`, `to_char(0.001, 'FM9.99')`, `0.`, `text`},
}

func TestTimeFunctionsMatchPostgres(t *testing.T) {
	s := newTestSession(t, newTestServer(t), "root")
	for _, c := range timeCases {
		t.Run(c.zone+"/"+c.expr, func(t *testing.T) {
			run(t, s, "SET TimeZone = '"+c.zone+"'")
			sql := "SELECT " + c.expr
			if c.value == "ERROR" {
				pe := runErr(t, s, sql)
				if got := string(pe.Code) + " " + pe.Message; got != c.typ {
					t.Fatalf("error: got %q, want %q", got, c.typ)
				}
				return
			}
			sink := &recordingSink{}
			if err := s.ExecSimple(context.Background(), sql, sink); err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
			if got := typeName(sink.cols[0].TypeOID); got != c.typ {
				t.Errorf("result type: got %s, want %s", got, c.typ)
			}
			if got := sink.lines[1]; got != c.value {
				t.Errorf("value: got %q, want %q", got, c.value)
			}
		})
	}
}

// TestIntervalColumnRoundTrip stores intervals in a table, with one as the
// primary key, and reads them back in key order.
func TestIntervalColumnRoundTrip(t *testing.T) {
	s := newTestSession(t, newTestServer(t), "root")
	run(t, s, "CREATE TABLE spans (k interval PRIMARY KEY, v interval)")
	run(t, s, "INSERT INTO spans VALUES ('1 mon', '1 mon'), ('29 days 23:59:59', '-1 days +02:00:00'), ('-1 year', '1 year 2 mons 3 days 04:05:06.5')")
	expectLines(t, run(t, s, "SELECT k, v FROM spans ORDER BY k"),
		"cols: k,v",
		"-1 years|1 year 2 mons 3 days 04:05:06.5",
		"29 days 23:59:59|-1 days +02:00:00",
		"1 mon|1 mon",
		"tag: SELECT 3")
	// '30 days' has the span of '1 mon', so the key is taken, as in
	// PostgreSQL's unique indexes.
	if e := runErr(t, s, "INSERT INTO spans VALUES ('30 days', NULL)"); e.Code != "23505" {
		t.Fatalf("duplicate span: got %s %q, want 23505", e.Code, e.Message)
	}
	expectLines(t, run(t, s, "SELECT v FROM spans WHERE k = '30 days'"), "cols: v", "1 mon", "tag: SELECT 1")
	expectLines(t, run(t, s, "SELECT count(*) FROM spans WHERE v > interval '1 day'"), "cols: count", "2", "tag: SELECT 1")
}

// TestTimeArithmeticErrorsCarrySQLSTATE checks operators that PostgreSQL
// does not have.
func TestTimeArithmeticErrorsCarrySQLSTATE(t *testing.T) {
	s := newTestSession(t, newTestServer(t), "root")
	for _, sql := range []string{
		"SELECT timestamp '2024-01-01' + timestamp '2024-01-01'",
		"SELECT interval '1 day' * interval '1 day'",
		"SELECT date '2024-01-01' * 2",
	} {
		if e := runErr(t, s, sql); e.Code != "42883" || !strings.HasPrefix(e.Message, "operator does not exist") {
			t.Errorf("%s: got %s %q, want 42883", sql, e.Code, e.Message)
		}
	}
}

// TestIntervalParameters checks bind parameters of type interval: text
// arrives as a string in PostgreSQL's syntax, binary as pgtype.Interval.
func TestIntervalParameters(t *testing.T) {
	v, err := normalizeParam("2 hours", oidInterval, time.UTC)
	if err != nil {
		t.Fatalf("text parameter: %v", err)
	}
	if want := (pgtype.Interval{Microseconds: 2 * microsPerHour, Valid: true}); v != want {
		t.Errorf("text parameter: got %+v, want %+v", v, want)
	}
	binary := pgtype.Interval{Months: 1, Days: -2, Microseconds: 3, Valid: true}
	if v, err := normalizeParam(binary, oidInterval, time.UTC); err != nil || v != binary {
		t.Errorf("binary parameter: got %+v, %v, want %+v", v, err, binary)
	}
	if _, err := normalizeParam("2 fortnights", oidInterval, time.UTC); err == nil {
		t.Error("text parameter \"2 fortnights\": no error, want 22007")
	}
}
