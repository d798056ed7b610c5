package node_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgkeep/pgkeep/security"
	"github.com/pgkeep/pgkeep/server"
)

const alicePassword = "Alice-pass-1234"

// createAlice creates the dba user alice through psql as root over the
// unix socket, which trusts the internal root user.
func createAlice(t *testing.T, tn *testNode) {
	t.Helper()
	out, err := tn.psql(nil, "-h", tn.sockDir, "-p", strconv.Itoa(tn.port), "-U", "root", "-d", "postgres",
		"-c", "CREATE USER alice WITH PASSWORD '"+alicePassword+"' ROLE dba")
	if err != nil {
		t.Fatalf("psql as root: %v\n%s", err, out)
	}
	if !strings.Contains(out, "CREATE ROLE") {
		t.Fatalf("CREATE USER output = %q, want CREATE ROLE", out)
	}
}

const allTypesDDL = `CREATE TABLE everything (
	id bigint PRIMARY KEY,
	b boolean,
	i2 smallint,
	i4 integer,
	f4 real,
	f8 double precision,
	num numeric(10,2),
	t text,
	vc varchar(10),
	ch char(3),
	bin bytea,
	d date,
	ts timestamp,
	tstz timestamptz,
	tm time,
	u uuid,
	j json,
	jb jsonb,
	serialcol serial,
	created timestamptz NOT NULL DEFAULT now()
)`

type everythingRow struct {
	id   int64
	b    bool
	i2   int16
	i4   int32
	f4   float32
	f8   float64
	num  pgtype.Numeric
	t    string
	vc   string
	ch   string
	bin  []byte
	d    time.Time
	ts   time.Time
	tstz time.Time
	tm   pgtype.Time
	u    [16]byte
	j    string
	jb   string
}

func TestEndToEndPsqlAndPgx(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, server.TestingKnobs{})
	createAlice(t, tn)

	// psql logs in as alice over TCP with SCRAM.
	out, err := tn.psql([]string{"PGPASSWORD=" + alicePassword}, "-h", "127.0.0.1", "-p", strconv.Itoa(tn.port), "-U", "alice", "-d", "postgres", "-c", "SELECT current_user")
	if err != nil {
		t.Fatalf("psql as alice: %v\n%s", err, out)
	}
	if strings.TrimSpace(out) != "alice" {
		t.Fatalf("current_user over psql = %q, want alice", out)
	}
	if !regexp.MustCompile(`authentication succeeded".* user=alice .*method=scram-sha-256`).MatchString(tn.logs.String()) {
		t.Fatalf("server log has no SCRAM login for alice:\n%s", tn.logs.String())
	}
	if mech := firstAuthRequest(t, tn, "alice"); mech != "SCRAM-SHA-256" {
		t.Fatalf("first authentication request for alice = %q, want SASL SCRAM-SHA-256", mech)
	}

	conn := tn.connect(ctx, tn.tcpConnString("alice", alicePassword))
	if _, err := conn.Exec(ctx, allTypesDDL); err != nil {
		t.Fatalf("CREATE TABLE: %v", err)
	}

	want := everythingRow{
		id: 1, b: true, i2: -12, i4: 123456, f4: 1.5, f8: 2.25,
		num: pgtype.Numeric{Int: big.NewInt(12345), Exp: -2, Valid: true},
		t:   "hello 'world'", vc: "short", ch: "ab ",
		bin:  []byte{0, 1, 2, 0xff},
		d:    time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC),
		ts:   time.Date(2024, 3, 1, 12, 30, 45, 123456000, time.UTC),
		tstz: time.Date(2024, 3, 1, 23, 59, 59, 999999000, time.UTC),
		tm:   pgtype.Time{Microseconds: (12*3600+34*60+56)*1_000_000 + 789_000, Valid: true},
		u:    [16]byte{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0},
		j:    `{"b": 1, "a": [1, 2]}`,
		jb:   `{"a": [1, 2], "b": 1}`,
	}
	_, err = conn.Exec(ctx, `INSERT INTO everything (id, b, i2, i4, f4, f8, num, t, vc, ch, bin, d, ts, tstz, tm, u, j, jb)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		want.id, want.b, want.i2, want.i4, want.f4, want.f8, want.num, want.t, want.vc, "ab", want.bin, want.d, want.ts, want.tstz, want.tm, want.u, want.j, want.jb)
	if err != nil {
		t.Fatalf("INSERT with parameters: %v", err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO everything (id, t) VALUES (2, 'second'), (3, NULL)`); err != nil {
		t.Fatalf("INSERT of literals: %v", err)
	}

	for _, format := range []struct {
		name string
		code int16
	}{{"text", pgx.TextFormatCode}, {"binary", pgx.BinaryFormatCode}} {
		t.Run("read "+format.name, func(t *testing.T) {
			got := readEverything(t, conn, 1, format.code)
			checkEverything(t, got, want)
		})
	}

	// Simple protocol returns the same values as text.
	var jtext, tstzText, numText, serialText, timeText string
	err = conn.QueryRow(ctx, "SELECT j::text, tstz::text, num::text, serialcol::text, tm FROM everything WHERE id = 1", pgx.QueryExecModeSimpleProtocol).Scan(&jtext, &tstzText, &numText, &serialText, &timeText)
	if err != nil {
		t.Fatalf("simple query: %v", err)
	}
	if jtext != want.j || numText != "123.45" || serialText != "1" {
		t.Fatalf("simple query got json %q numeric %q serial %q", jtext, numText, serialText)
	}
	if timeText != "12:34:56.789" {
		t.Fatalf("simple query got time %q, want 12:34:56.789", timeText)
	}

	tag, err := conn.Exec(ctx, "UPDATE everything SET t = upper(t), i4 = i4 + 1 WHERE id = $1", 1)
	if err != nil || tag.String() != "UPDATE 1" {
		t.Fatalf("UPDATE: tag %q, err %v", tag, err)
	}
	tag, err = conn.Exec(ctx, "DELETE FROM everything WHERE id = 3")
	if err != nil || tag.String() != "DELETE 1" {
		t.Fatalf("DELETE: tag %q, err %v", tag, err)
	}
	var count int64
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM everything").Scan(&count); err != nil || count != 2 {
		t.Fatalf("count after DELETE = %d, err %v; want 2", count, err)
	}

	// The committed rows survive a restart.
	_ = conn.Close(ctx)
	tn.restart()
	conn = tn.connect(ctx, tn.tcpConnString("alice", alicePassword))
	got := readEverything(t, conn, 1, pgx.BinaryFormatCode)
	want.t, want.i4 = strings.ToUpper(want.t), want.i4+1
	checkEverything(t, got, want)
	var ids []int64
	rows, err := conn.Query(ctx, "SELECT id FROM everything ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	ids, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(ids) != 2 || ids[0] != 1 || ids[1] != 2 {
		t.Fatalf("ids after restart = %v, err %v; want [1 2]", ids, err)
	}

	// The serial column continues after the restart.
	var serial int32
	if err := conn.QueryRow(ctx, "INSERT INTO everything (id) VALUES (10) RETURNING serialcol").Scan(&serial); err != nil {
		t.Fatal(err)
	}
	if serial != 4 {
		t.Fatalf("serial after restart = %d, want 4", serial)
	}
}

func readEverything(t *testing.T, conn *pgx.Conn, id int64, format int16) everythingRow {
	t.Helper()
	var r everythingRow
	var uuid pgtype.UUID
	err := conn.QueryRow(context.Background(),
		`SELECT id, b, i2, i4, f4, f8, num, t, vc, ch, bin, d, ts, tstz, tm, u, j::text, jb::text FROM everything WHERE id = $1`,
		pgx.QueryResultFormats{format}, id).
		Scan(&r.id, &r.b, &r.i2, &r.i4, &r.f4, &r.f8, &r.num, &r.t, &r.vc, &r.ch, &r.bin, &r.d, &r.ts, &r.tstz, &r.tm, &uuid, &r.j, &r.jb)
	if err != nil {
		t.Fatalf("SELECT (format %d): %v", format, err)
	}
	r.u = uuid.Bytes
	return r
}

func checkEverything(t *testing.T, got, want everythingRow) {
	t.Helper()
	if got.id != want.id || got.b != want.b || got.i2 != want.i2 || got.i4 != want.i4 {
		t.Errorf("integers/bool = %d %v %d %d, want %d %v %d %d", got.id, got.b, got.i2, got.i4, want.id, want.b, want.i2, want.i4)
	}
	if got.f4 != want.f4 || got.f8 != want.f8 {
		t.Errorf("floats = %v %v, want %v %v", got.f4, got.f8, want.f4, want.f8)
	}
	if got.num.Int == nil || got.num.Int.Cmp(want.num.Int) != 0 || got.num.Exp != want.num.Exp {
		t.Errorf("numeric = %v e%d, want %v e%d", got.num.Int, got.num.Exp, want.num.Int, want.num.Exp)
	}
	if got.t != want.t || got.vc != want.vc || got.ch != want.ch {
		t.Errorf("strings = %q %q %q, want %q %q %q", got.t, got.vc, got.ch, want.t, want.vc, want.ch)
	}
	if string(got.bin) != string(want.bin) {
		t.Errorf("bytea = %x, want %x", got.bin, want.bin)
	}
	if !got.d.Equal(want.d) || !got.ts.Equal(want.ts) || !got.tstz.Equal(want.tstz) {
		t.Errorf("times = %v %v %v, want %v %v %v", got.d, got.ts, got.tstz, want.d, want.ts, want.tstz)
	}
	if got.tm != want.tm {
		t.Errorf("time = %+v, want %+v", got.tm, want.tm)
	}
	if got.u != want.u {
		t.Errorf("uuid = %x, want %x", got.u, want.u)
	}
	if got.j != want.j {
		t.Errorf("json = %q, want %q", got.j, want.j)
	}
	var gotJB, wantJB any
	if err := json.Unmarshal([]byte(got.jb), &gotJB); err != nil {
		t.Errorf("jsonb %q does not parse: %v", got.jb, err)
	}
	_ = json.Unmarshal([]byte(want.jb), &wantJB)
	if got.jb != want.jb {
		t.Errorf("jsonb = %q, want %q", got.jb, want.jb)
	}
}

// firstAuthRequest starts a login as user over TCP and returns the SASL
// mechanism the server requests, or the type of its first message.
func firstAuthRequest(t *testing.T, tn *testNode, user string) string {
	t.Helper()
	nc, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(tn.port))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	fe := pgproto3.NewFrontend(nc, nc)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber, Parameters: map[string]string{"user": user, "database": "postgres"}})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	msg, err := fe.Receive()
	if err != nil {
		t.Fatal(err)
	}
	if sasl, ok := msg.(*pgproto3.AuthenticationSASL); ok {
		return strings.Join(sasl.AuthMechanisms, ",")
	}
	return typeName(msg)
}

func typeName(msg pgproto3.BackendMessage) string {
	return strings.TrimPrefix(strings.TrimPrefix(fmtType(msg), "*pgproto3."), "pgproto3.")
}

func TestLoginFailuresLookAlike(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, server.TestingKnobs{})
	createAlice(t, tn)
	admin := tn.connect(ctx, tn.socketConnString("root"))
	if _, err := admin.Exec(ctx, "CREATE USER bob WITH PASSWORD 'Bob-pass-12345'"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "DROP USER bob"); err != nil {
		t.Fatal(err)
	}

	cases := []struct{ name, user, password string }{
		{"wrong password", "alice", "not-the-password"},
		{"unknown user", "nobody", "whatever-123"},
		{"deleted user", "bob", "Bob-pass-12345"},
	}
	var messages []string
	for _, c := range cases {
		_, err := pgx.Connect(ctx, tn.tcpConnString(c.user, c.password))
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) {
			t.Fatalf("%s: error %v is not a server error", c.name, err)
		}
		if pgErr.Code != "28P01" {
			t.Errorf("%s: SQLSTATE %s, want 28P01", c.name, pgErr.Code)
		}
		want := `password authentication failed for user "` + c.user + `"`
		if pgErr.Message != want {
			t.Errorf("%s: message %q, want %q", c.name, pgErr.Message, want)
		}
		messages = append(messages, strings.Replace(pgErr.Message, c.user, "USER", 1)+"|"+pgErr.Detail+"|"+pgErr.Hint)
	}
	for i := 1; i < len(messages); i++ {
		if messages[i] != messages[0] {
			t.Errorf("%s and %s differ: %q vs %q", cases[0].name, cases[i].name, messages[0], messages[i])
		}
	}

	// The server still serves a correct login afterwards.
	conn := tn.connect(ctx, tn.tcpConnString("alice", alicePassword))
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 after failures = %d, %v", one, err)
	}
}

func TestInternalUserRejectedFromRemote(t *testing.T) {
	ctx := context.Background()
	// Every TCP connection counts as remote; the unix socket stays local.
	tn := startNode(t, server.TestingKnobs{OverrideSource: func(net.Addr) (security.Source, bool) {
		return security.SourceRemote, true
	}})
	_, err := pgx.Connect(ctx, tn.tcpConnString("root", ""))
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
		t.Fatalf("root over remote TCP: err %v, want 28P01", err)
	}
	if !strings.Contains(tn.logs.String(), "internal user from remote address") {
		t.Errorf("server log does not give the reason:\n%s", tn.logs.String())
	}
	// Over the unix socket root still gets in without a password.
	conn := tn.connect(ctx, tn.socketConnString("root"))
	var user string
	if err := conn.QueryRow(ctx, "SELECT current_user").Scan(&user); err != nil || user != "root" {
		t.Fatalf("current_user over the socket = %q, %v", user, err)
	}
}

func TestRootLoopbackTrustAndPasswordFile(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, server.TestingKnobs{})
	conn := tn.connect(ctx, tn.tcpConnString("root", ""))
	var role string
	if err := conn.QueryRow(ctx, "SELECT current_user").Scan(&role); err != nil || role != "root" {
		t.Fatalf("root over loopback: %q, %v", role, err)
	}
	if strings.Contains(tn.logs.String(), readRootPassword(t, tn)) {
		t.Fatal("the server log contains root's password")
	}
}

func fmtType(v any) string { return fmt.Sprintf("%T", v) }

func readRootPassword(t *testing.T, tn *testNode) string {
	t.Helper()
	path := filepath.Join(tn.dataDir, "root.password")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatalf("root password file: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("root password file mode = %v, want 0600", st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pw := strings.TrimSpace(string(b))
	if len(pw) != 24 {
		t.Errorf("root password has %d characters, want 24", len(pw))
	}
	return pw
}

func TestDroppedUserSessionEnds(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, server.TestingKnobs{})
	admin := tn.connect(ctx, tn.socketConnString("root"))
	if _, err := admin.Exec(ctx, "CREATE USER carol WITH PASSWORD 'Carol-pass-123'"); err != nil {
		t.Fatal(err)
	}
	carol := tn.connect(ctx, tn.tcpConnString("carol", "Carol-pass-123"))
	var name string
	if err := carol.QueryRow(ctx, "SELECT current_user").Scan(&name); err != nil || name != "carol" {
		t.Fatalf("carol's first query: %q, %v", name, err)
	}
	if _, err := admin.Exec(ctx, "DROP USER carol"); err != nil {
		t.Fatal(err)
	}
	_, err := carol.Exec(ctx, "SELECT 1")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "28000" || pgErr.Severity != "FATAL" {
		t.Fatalf("statement after DROP USER: %v, want FATAL 28000", err)
	}
	if !carol.IsClosed() {
		if err := carol.Ping(ctx); err == nil {
			t.Fatal("carol's connection still works after DROP USER")
		}
	}
}

// TestTimeBinaryParameters sends time parameters in binary: values from
// 00:00:00 to 24:00:00 arrive intact, and others fail with 22008 as in
// PostgreSQL's time_recv.
func TestTimeBinaryParameters(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, server.TestingKnobs{})
	createAlice(t, tn)
	conn := tn.connect(ctx, tn.tcpConnString("alice", alicePassword))

	for _, micros := range []int64{0, 1, 45296789000, 86400000000} {
		var got pgtype.Time
		var text string
		err := conn.QueryRow(ctx, "SELECT $1::time, $1::time::text", pgtype.Time{Microseconds: micros, Valid: true}).Scan(&got, &text)
		if err != nil {
			t.Fatalf("time %d: %v", micros, err)
		}
		if got.Microseconds != micros || !got.Valid {
			t.Errorf("time %d came back as %+v", micros, got)
		}
		if want := map[int64]string{0: "00:00:00", 1: "00:00:00.000001", 45296789000: "12:34:56.789", 86400000000: "24:00:00"}[micros]; text != want {
			t.Errorf("time %d as text = %q, want %q", micros, text, want)
		}
	}

	for _, micros := range []int64{-1, 86400000001} {
		var got pgtype.Time
		err := conn.QueryRow(ctx, "SELECT $1::time", pgtype.Time{Microseconds: micros, Valid: true}).Scan(&got)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "22008" || pgErr.Message != "time out of range" {
			t.Errorf("time %d: got %v, want 22008 time out of range", micros, err)
		}
	}
}
