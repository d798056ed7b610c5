package protocol

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"
)

func TestExtendedTextAndBinaryParams(t *testing.T) {
	srv := startTestServer(t, Config{})
	conn := srv.connectPgconn(t)

	params := [][]byte{int4Binary(42), []byte("héllo"), []byte("7"), nil, {0x01, 0xff}}
	paramFormats := []int16{1, 0, 0, 0, 1}
	resultFormats := []int16{1, 0, 1, 0, 0}
	result := conn.ExecParams(context.Background(), "echo int4 text int8 bool bytea",
		params, nil, paramFormats, resultFormats).Read()
	if result.Err != nil {
		t.Fatalf("exec: %v", result.Err)
	}

	if len(result.Rows) != 1 {
		t.Fatalf("got %d rows, want 1", len(result.Rows))
	}
	row := result.Rows[0]
	if !slices.Equal(row[0], int4Binary(42)) {
		t.Errorf("int4 binary result = %x, want %x", row[0], int4Binary(42))
	}
	if string(row[1]) != "héllo" {
		t.Errorf("text result = %q, want héllo", row[1])
	}
	if want := []byte{0, 0, 0, 0, 0, 0, 0, 7}; !slices.Equal(row[2], want) {
		t.Errorf("int8 binary result = %x, want %x", row[2], want)
	}
	if row[3] != nil {
		t.Errorf("NULL bool result = %q, want NULL", row[3])
	}
	if string(row[4]) != `\x01ff` {
		t.Errorf("bytea text result = %q, want \\x01ff", row[4])
	}

	for i, want := range resultFormats {
		if got := result.FieldDescriptions[i].Format; got != want {
			t.Errorf("column %d format = %d, want %d", i, got, want)
		}
	}
	if got := result.CommandTag.String(); got != "SELECT 1" {
		t.Errorf("tag = %q, want SELECT 1", got)
	}
}

func TestExtendedOneFormatCodeAppliesToAll(t *testing.T) {
	srv := startTestServer(t, Config{})
	conn := srv.connectPgconn(t)

	params := [][]byte{int4Binary(1), int4Binary(2)}
	result := conn.ExecParams(context.Background(), "echo int4 int4", params, nil, []int16{1}, []int16{1}).Read()
	if result.Err != nil {
		t.Fatalf("exec: %v", result.Err)
	}
	if !slices.Equal(result.Rows[0][0], int4Binary(1)) || !slices.Equal(result.Rows[0][1], int4Binary(2)) {
		t.Errorf("row = %x, want binary 1 and 2", result.Rows[0])
	}
}

func TestPreparedStatementDescribe(t *testing.T) {
	srv := startTestServer(t, Config{})
	conn := srv.connectPgconn(t)
	ctx := context.Background()

	sd, err := conn.Prepare(ctx, "s1", "echo int4 text", nil)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	if want := []uint32{pgtype.Int4OID, pgtype.TextOID}; !slices.Equal(sd.ParamOIDs, want) {
		t.Errorf("param OIDs = %v, want %v", sd.ParamOIDs, want)
	}
	if len(sd.Fields) != 2 || sd.Fields[0].Name != "p1" || sd.Fields[1].DataTypeOID != pgtype.TextOID {
		t.Errorf("fields = %+v, want p1 int4, p2 text", sd.Fields)
	}

	_, err = conn.Prepare(ctx, "s1", "echo int4", nil)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42P05" || pgErr.Message != `prepared statement "s1" already exists` {
		t.Errorf("re-prepare error = %v, want 42P05 prepared statement \"s1\" already exists", err)
	}

	result := conn.ExecPrepared(ctx, "s1", [][]byte{[]byte("5"), []byte("x")}, nil, nil).Read()
	if result.Err != nil {
		t.Fatalf("execute prepared: %v", result.Err)
	}
	if got := [][]byte{[]byte("5"), []byte("x")}; !slices.EqualFunc(result.Rows[0], got, slices.Equal) {
		t.Errorf("row = %q, want [5 x]", result.Rows[0])
	}

	if err := conn.Deallocate(ctx, "s1"); err != nil {
		t.Fatalf("deallocate: %v", err)
	}
	if _, err := conn.Prepare(ctx, "s1", "echo int4", nil); err != nil {
		t.Errorf("prepare after deallocate: %v", err)
	}
}

func TestDescribeStatementAndPortal(t *testing.T) {
	srv := startTestServer(t, Config{})
	c := srv.connectRaw(t)

	c.send(
		&pgproto3.Parse{Name: "s", Query: "echo int4 text"},
		&pgproto3.Describe{ObjectType: 'S', Name: "s"},
		&pgproto3.Bind{PreparedStatement: "s", DestinationPortal: "p",
			Parameters: [][]byte{[]byte("1"), []byte("a")}, ResultFormatCodes: []int16{1, 0}},
		&pgproto3.Describe{ObjectType: 'P', Name: "p"},
		&pgproto3.Parse{Name: "i", Query: "insert"},
		&pgproto3.Describe{ObjectType: 'S', Name: "i"},
		&pgproto3.Bind{PreparedStatement: "i"},
		&pgproto3.Describe{ObjectType: 'P'},
		&pgproto3.Sync{},
	)
	assertMessages(t, c.receiveUntilReady(), []string{
		"ParseComplete",
		"ParameterDescription [23 25]",
		"RowDescription p1:23:0 p2:25:0",
		"BindComplete",
		"RowDescription p1:23:1 p2:25:0",
		"ParseComplete",
		"ParameterDescription []",
		"NoData",
		"BindComplete",
		"NoData",
		"ReadyForQuery I",
	})
}

func TestUnknownStatementAndPortal(t *testing.T) {
	srv := startTestServer(t, Config{})
	c := srv.connectRaw(t)

	c.send(&pgproto3.Bind{PreparedStatement: "nope"}, &pgproto3.Sync{})
	assertMessages(t, c.receiveUntilReady(), []string{
		`ErrorResponse ERROR 26000 prepared statement "nope" does not exist`, "ReadyForQuery I",
	})

	c.send(&pgproto3.Describe{ObjectType: 'S', Name: "nope"}, &pgproto3.Sync{})
	assertMessages(t, c.receiveUntilReady(), []string{
		`ErrorResponse ERROR 26000 prepared statement "nope" does not exist`, "ReadyForQuery I",
	})

	c.send(&pgproto3.Execute{Portal: "nope"}, &pgproto3.Sync{})
	assertMessages(t, c.receiveUntilReady(), []string{
		`ErrorResponse ERROR 34000 portal "nope" does not exist`, "ReadyForQuery I",
	})

	c.send(&pgproto3.Describe{ObjectType: 'P', Name: "nope"}, &pgproto3.Sync{})
	assertMessages(t, c.receiveUntilReady(), []string{
		`ErrorResponse ERROR 34000 portal "nope" does not exist`, "ReadyForQuery I",
	})
}

func TestCloseAbsentObjects(t *testing.T) {
	srv := startTestServer(t, Config{})
	c := srv.connectRaw(t)

	c.send(
		&pgproto3.Close{ObjectType: 'S', Name: "absent"},
		&pgproto3.Close{ObjectType: 'P', Name: "absent"},
		&pgproto3.Sync{},
	)
	assertMessages(t, c.receiveUntilReady(), []string{"CloseComplete", "CloseComplete", "ReadyForQuery I"})
}

func TestClosePortalReleasesIt(t *testing.T) {
	srv := startTestServer(t, Config{})
	c := srv.connectRaw(t)
	sc := srv.waitStarted()

	c.send(
		&pgproto3.Parse{Query: "rows 1"},
		&pgproto3.Bind{DestinationPortal: "p"},
		&pgproto3.Close{ObjectType: 'P', Name: "p"},
		&pgproto3.Execute{Portal: "p"},
		&pgproto3.Sync{},
	)
	assertMessages(t, c.receiveUntilReady(), []string{
		"ParseComplete", "BindComplete", "CloseComplete",
		`ErrorResponse ERROR 34000 portal "p" does not exist`, "ReadyForQuery I",
	})
	if got := sc.sess.portalsClosed(); got != 1 {
		t.Errorf("portals closed = %d, want 1", got)
	}
}

func TestExecuteMaxRowsSuspends(t *testing.T) {
	srv := startTestServer(t, Config{})
	c := srv.connectRaw(t)

	c.send(
		&pgproto3.Parse{Query: "rows 5"},
		&pgproto3.Bind{ResultFormatCodes: []int16{0}},
		&pgproto3.Execute{MaxRows: 2},
		&pgproto3.Execute{MaxRows: 2},
		&pgproto3.Execute{},
		&pgproto3.Sync{},
	)
	assertMessages(t, c.receiveUntilReady(), []string{
		"ParseComplete", "BindComplete",
		`DataRow ["1"]`, `DataRow ["2"]`, "PortalSuspended",
		`DataRow ["3"]`, `DataRow ["4"]`, "PortalSuspended",
		`DataRow ["5"]`, "CommandComplete SELECT 5",
		"ReadyForQuery I",
	})
}

func TestPipelineErrorDiscardsUntilSync(t *testing.T) {
	srv := startTestServer(t, Config{})
	c := srv.connectRaw(t)
	sc := srv.waitStarted()

	c.send(
		&pgproto3.Parse{Query: "insert"}, &pgproto3.Bind{}, &pgproto3.Execute{},
		&pgproto3.Parse{Query: "fail"}, &pgproto3.Bind{}, &pgproto3.Execute{},
		&pgproto3.Parse{Query: "rows 1"}, &pgproto3.Bind{}, &pgproto3.Execute{},
		&pgproto3.Query{String: "insert"},
		&pgproto3.Sync{},
	)
	assertMessages(t, c.receiveUntilReady(), []string{
		"ParseComplete", "BindComplete", "CommandComplete INSERT 0 1",
		"ParseComplete", "BindComplete", "ErrorResponse ERROR 22012 division by zero",
		"ReadyForQuery I",
	})
	if got, want := sc.sess.executed(), []string{"insert", "fail"}; !slices.Equal(got, want) {
		t.Errorf("executed statements = %q, want %q", got, want)
	}

	c.send(&pgproto3.Parse{Query: "rows 1"}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Sync{})
	assertMessages(t, c.receiveUntilReady(), []string{
		"ParseComplete", "BindComplete", `DataRow ["1"]`, "CommandComplete SELECT 1", "ReadyForQuery I",
	})
}

func TestPgconnBatchWithFailure(t *testing.T) {
	srv := startTestServer(t, Config{})
	conn := srv.connectPgconn(t)
	ctx := context.Background()

	batch := &pgconn.Batch{}
	batch.ExecParams("insert", nil, nil, nil, nil)
	batch.ExecParams("fail", nil, nil, nil, nil)
	batch.ExecParams("insert", nil, nil, nil, nil)
	results, err := conn.ExecBatch(ctx, batch).ReadAll()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "22012" {
		t.Fatalf("batch error = %v, want 22012", err)
	}
	if len(results) < 1 || results[0].CommandTag.String() != "INSERT 0 1" {
		t.Errorf("first batch result = %+v, want INSERT 0 1", results)
	}

	result := conn.ExecParams(ctx, "rows 2", nil, nil, nil, nil).Read()
	if result.Err != nil {
		t.Fatalf("exec after failed batch: %v", result.Err)
	}
	if len(result.Rows) != 2 {
		t.Errorf("got %d rows after failed batch, want 2", len(result.Rows))
	}
}

func TestExtendedFailedTransactionStatus(t *testing.T) {
	srv := startTestServer(t, Config{})
	c := srv.connectRaw(t)

	c.send(
		&pgproto3.Parse{Query: "begin"}, &pgproto3.Bind{}, &pgproto3.Execute{},
		&pgproto3.Parse{Query: "fail"}, &pgproto3.Bind{}, &pgproto3.Execute{},
		&pgproto3.Sync{},
	)
	assertMessages(t, c.receiveUntilReady(), []string{
		"ParseComplete", "BindComplete", "CommandComplete BEGIN",
		"ParseComplete", "BindComplete", "ErrorResponse ERROR 22012 division by zero",
		"ReadyForQuery E",
	})

	c.send(&pgproto3.Parse{Query: "rollback"}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Sync{})
	assertMessages(t, c.receiveUntilReady(), []string{
		"ParseComplete", "BindComplete", "CommandComplete ROLLBACK", "ReadyForQuery I",
	})
}

func TestSyncErrorBeforeReadyForQuery(t *testing.T) {
	srv := startTestServer(t, Config{})
	c := srv.connectRaw(t)

	c.send(&pgproto3.Parse{Query: "conflict"}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Sync{})
	assertMessages(t, c.receiveUntilReady(), []string{
		"ParseComplete", "BindComplete", "CommandComplete UPDATE 1",
		"ErrorResponse ERROR 40001 could not serialize access due to concurrent update",
		"ReadyForQuery I",
	})
}

func TestNamedPortalLifetime(t *testing.T) {
	srv := startTestServer(t, Config{})
	c := srv.connectRaw(t)

	// Inside a transaction block a named portal survives Sync.
	c.send(
		&pgproto3.Query{String: "begin"},
		&pgproto3.Parse{Query: "rows 3"},
		&pgproto3.Bind{DestinationPortal: "cur"},
		&pgproto3.Execute{Portal: "cur", MaxRows: 1},
		&pgproto3.Sync{},
	)
	assertMessages(t, c.receiveUntilReady(), []string{"CommandComplete BEGIN", "ReadyForQuery T"})
	assertMessages(t, c.receiveUntilReady(), []string{
		"ParseComplete", "BindComplete", `DataRow ["1"]`, "PortalSuspended", "ReadyForQuery T",
	})

	c.send(&pgproto3.Execute{Portal: "cur", MaxRows: 1}, &pgproto3.Sync{})
	assertMessages(t, c.receiveUntilReady(), []string{`DataRow ["2"]`, "PortalSuspended", "ReadyForQuery T"})

	// The end of the transaction closes it.
	c.send(&pgproto3.Query{String: "commit"})
	assertMessages(t, c.receiveUntilReady(), []string{"CommandComplete COMMIT", "ReadyForQuery I"})
	c.send(&pgproto3.Execute{Portal: "cur"}, &pgproto3.Sync{})
	assertMessages(t, c.receiveUntilReady(), []string{
		`ErrorResponse ERROR 34000 portal "cur" does not exist`, "ReadyForQuery I",
	})
}

func TestDuplicateNamedPortal(t *testing.T) {
	srv := startTestServer(t, Config{})
	c := srv.connectRaw(t)

	c.send(
		&pgproto3.Query{String: "begin"},
		&pgproto3.Parse{Query: "rows 1"},
		&pgproto3.Bind{DestinationPortal: "cur"},
		&pgproto3.Bind{DestinationPortal: "cur"},
		&pgproto3.Sync{},
	)
	c.receiveUntilReady()
	assertMessages(t, c.receiveUntilReady(), []string{
		"ParseComplete", "BindComplete", `ErrorResponse ERROR 42P03 cursor "cur" already exists`, "ReadyForQuery T",
	})
}

func TestBindErrors(t *testing.T) {
	tests := []struct {
		name string
		bind *pgproto3.Bind
		want string
	}{
		{
			name: "too few parameters",
			bind: &pgproto3.Bind{Parameters: [][]byte{[]byte("1")}},
			want: `ErrorResponse ERROR 08P01 bind message supplies 1 parameters, but prepared statement "" requires 2`,
		},
		{
			name: "parameter format count",
			bind: &pgproto3.Bind{ParameterFormatCodes: []int16{0, 0, 0}, Parameters: [][]byte{[]byte("1"), []byte("2")}},
			want: "ErrorResponse ERROR 08P01 bind message has 3 parameter formats but 2 parameters",
		},
		{
			name: "invalid text",
			bind: &pgproto3.Bind{Parameters: [][]byte{[]byte("abc"), []byte("1")}},
			want: `ErrorResponse ERROR 22P02 invalid input syntax for type integer: "abc"`,
		},
		{
			name: "invalid binary",
			bind: &pgproto3.Bind{ParameterFormatCodes: []int16{1}, Parameters: [][]byte{int4Binary(1), {1, 2, 3}}},
			want: "ErrorResponse ERROR 22P03 incorrect binary data format in bind parameter 2",
		},
		{
			name: "unsupported format code",
			bind: &pgproto3.Bind{ParameterFormatCodes: []int16{7}, Parameters: [][]byte{[]byte("1"), []byte("2")}},
			want: "ErrorResponse ERROR 22023 unsupported format code: 7",
		},
		{
			name: "result format count",
			bind: &pgproto3.Bind{Parameters: [][]byte{[]byte("1"), []byte("2")}, ResultFormatCodes: []int16{0, 1, 0}},
			want: "ErrorResponse ERROR 08P01 bind message has 3 result formats but query has 2 columns",
		},
	}

	srv := startTestServer(t, Config{})
	c := srv.connectRaw(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.send(&pgproto3.Parse{Query: "echo int4 int4"}, tt.bind, &pgproto3.Execute{}, &pgproto3.Sync{})
			assertMessages(t, c.receiveUntilReady(), []string{"ParseComplete", tt.want, "ReadyForQuery I"})
		})
	}
}

func TestParseErrorDropsUnnamedStatement(t *testing.T) {
	srv := startTestServer(t, Config{})
	c := srv.connectRaw(t)

	c.send(&pgproto3.Parse{Query: "insert"}, &pgproto3.Sync{})
	assertMessages(t, c.receiveUntilReady(), []string{"ParseComplete", "ReadyForQuery I"})

	c.send(&pgproto3.Parse{Query: "bogus"}, &pgproto3.Sync{}, &pgproto3.Bind{}, &pgproto3.Sync{})
	assertMessages(t, c.receiveUntilReady(), []string{
		`ErrorResponse ERROR 42601 syntax error at or near "bogus"`, "ReadyForQuery I",
	})
	assertMessages(t, c.receiveUntilReady(), []string{
		"ErrorResponse ERROR 26000 unnamed prepared statement does not exist", "ReadyForQuery I",
	})
}

func TestExtendedEmptyQuery(t *testing.T) {
	srv := startTestServer(t, Config{})
	c := srv.connectRaw(t)

	c.send(&pgproto3.Parse{Query: ""}, &pgproto3.Bind{}, &pgproto3.Describe{ObjectType: 'P'},
		&pgproto3.Execute{}, &pgproto3.Sync{})
	assertMessages(t, c.receiveUntilReady(), []string{
		"ParseComplete", "BindComplete", "NoData", "EmptyQueryResponse", "ReadyForQuery I",
	})
}

func TestFlushSendsPendingMessages(t *testing.T) {
	srv := startTestServer(t, Config{})
	c := srv.connectRaw(t)

	// Without Flush the ParseComplete would wait for a Sync that never
	// comes, and receive would time out.
	c.send(&pgproto3.Parse{Query: "insert"}, &pgproto3.Flush{})
	if got := describeMessage(c.receive()); got != "ParseComplete" {
		t.Fatalf("got %s, want ParseComplete", got)
	}
}

func TestLargeResultStreams(t *testing.T) {
	srv := startTestServer(t, Config{})
	conn := srv.connectPgconn(t)

	const n = 20000
	result := conn.ExecParams(context.Background(), "rows 20000", nil, nil, nil, []int16{1}).Read()
	if result.Err != nil {
		t.Fatalf("exec: %v", result.Err)
	}
	if len(result.Rows) != n {
		t.Fatalf("got %d rows, want %d", len(result.Rows), n)
	}
	if !slices.Equal(result.Rows[n-1][0], int4Binary(n)) {
		t.Errorf("last row = %x, want %x", result.Rows[n-1][0], int4Binary(n))
	}
}
