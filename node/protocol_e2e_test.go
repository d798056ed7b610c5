package node_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgkeep/pgkeep/server"
)

func setupItems(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL, qty integer)"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO items SELECT 1, 'one', 10"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO items VALUES (2, 'two', 20), (3, 'three', 30)"); err != nil {
		t.Fatal(err)
	}
}

func TestStatementCacheRepeatedQuery(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, server.TestingKnobs{})
	createAlice(t, tn)
	conn := tn.connect(ctx, tn.tcpConnString("alice", alicePassword))
	setupItems(t, conn)

	// pgx's default mode prepares the statement once and reuses it.
	for i := 0; i < 1000; i++ {
		id := i%3 + 1
		var qty int32
		if err := conn.QueryRow(ctx, "SELECT qty FROM items WHERE id = $1", id).Scan(&qty); err != nil {
			t.Fatalf("iteration %d: %v", i, err)
		}
		if qty != int32(id*10) {
			t.Fatalf("iteration %d: qty = %d, want %d", i, qty, id*10)
		}
	}
}

func TestBatchPipeline(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, server.TestingKnobs{})
	createAlice(t, tn)
	conn := tn.connect(ctx, tn.tcpConnString("alice", alicePassword))
	setupItems(t, conn)

	// A batch sends Parse/Describe/Bind/Execute for every query before one
	// Sync.
	batch := &pgx.Batch{}
	batch.Queue("INSERT INTO items (id, name) VALUES ($1, $2)", 4, "four")
	batch.Queue("SELECT name FROM items WHERE id = $1", 4)
	batch.Queue("UPDATE items SET qty = qty + 1 WHERE id <= $1", 2)
	br := conn.SendBatch(ctx, batch)
	if _, err := br.Exec(); err != nil {
		t.Fatalf("batch INSERT: %v", err)
	}
	var name string
	if err := br.QueryRow().Scan(&name); err != nil || name != "four" {
		t.Fatalf("batch SELECT = %q, %v", name, err)
	}
	if tag, err := br.Exec(); err != nil || tag.String() != "UPDATE 2" {
		t.Fatalf("batch UPDATE = %q, %v", tag, err)
	}
	if err := br.Close(); err != nil {
		t.Fatal(err)
	}

	// A failing statement in the middle: the rest is skipped until Sync,
	// and the whole implicit transaction is rolled back as in PostgreSQL.
	batch = &pgx.Batch{}
	batch.Queue("INSERT INTO items (id, name) VALUES (5, 'five')")
	batch.Queue("INSERT INTO items (id, name) VALUES (1, 'duplicate')")
	batch.Queue("INSERT INTO items (id, name) VALUES (6, 'six')")
	br = conn.SendBatch(ctx, batch)
	if _, err := br.Exec(); err != nil {
		t.Fatalf("first statement: %v", err)
	}
	_, err := br.Exec()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		t.Fatalf("duplicate key in batch: %v, want 23505", err)
	}
	if _, err := br.Exec(); err == nil {
		t.Fatal("statement after the failure ran")
	}
	_ = br.Close()
	if status := conn.PgConn().TxStatus(); status != 'I' {
		t.Fatalf("ReadyForQuery status after a failed implicit batch = %c, want I", status)
	}
	var count int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM items WHERE id IN (5, 6)").Scan(&count); err != nil || count != 0 {
		t.Fatalf("rows 5 and 6 after the failed batch: %d, %v; want 0", count, err)
	}

	// Inside a transaction block the failure leaves status E until ROLLBACK.
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	batch = &pgx.Batch{}
	batch.Queue("INSERT INTO items (id, name) VALUES (7, 'seven')")
	batch.Queue("SELECT 1/0")
	br = tx.SendBatch(ctx, batch)
	_, _ = br.Exec()
	if _, err := br.Exec(); !errors.As(err, &pgErr) || pgErr.Code != "22012" {
		t.Fatalf("division by zero in batch: %v", err)
	}
	_ = br.Close()
	if status := conn.PgConn().TxStatus(); status != 'E' {
		t.Fatalf("status in a failed transaction block = %c, want E", status)
	}
	if _, err := tx.Exec(ctx, "SELECT 1"); !errors.As(err, &pgErr) || pgErr.Code != "25P02" {
		t.Fatalf("statement in failed block: %v, want 25P02", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM items WHERE id = 7").Scan(&count); err != nil || count != 0 {
		t.Fatalf("row 7 after ROLLBACK: %d, %v", count, err)
	}
}

func TestPortalRowLimit(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, server.TestingKnobs{})
	createAlice(t, tn)
	conn := tn.connect(ctx, tn.tcpConnString("alice", alicePassword))
	setupItems(t, conn)

	pc := conn.PgConn()
	sd, err := pc.Prepare(ctx, "", "SELECT id FROM items ORDER BY id", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Execute with a row limit of 2 must suspend, and a second Execute of
	// the same portal must return the rest.
	fe := pc.Frontend()
	fe.SendBind(&pgproto3.Bind{PreparedStatement: sd.Name})
	fe.SendExecute(&pgproto3.Execute{MaxRows: 2})
	fe.SendExecute(&pgproto3.Execute{MaxRows: 2})
	fe.SendSync(&pgproto3.Sync{})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		switch m := msg.(type) {
		case *pgproto3.DataRow:
			got = append(got, string(m.Values[0]))
		case *pgproto3.PortalSuspended:
			got = append(got, "suspended")
		case *pgproto3.CommandComplete:
			got = append(got, string(m.CommandTag))
		case *pgproto3.ErrorResponse:
			t.Fatalf("error: %s", m.Message)
		}
		if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
			break
		}
	}
	want := []string{"1", "2", "suspended", "3", "SELECT 1"}
	if len(got) != len(want) {
		t.Fatalf("messages = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("messages = %v, want %v", got, want)
		}
	}
}

func TestConcurrentUpdateConflict(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, server.TestingKnobs{})
	createAlice(t, tn)
	c1 := tn.connect(ctx, tn.tcpConnString("alice", alicePassword))
	c2 := tn.connect(ctx, tn.tcpConnString("alice", alicePassword))
	setupItems(t, c1)

	tx1, err := c1.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx2, err := c2.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Both transactions read the row so that both have their snapshots.
	for _, tx := range []pgx.Tx{tx1, tx2} {
		var qty int
		if err := tx.QueryRow(ctx, "SELECT qty FROM items WHERE id = 1").Scan(&qty); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx1.Exec(ctx, "UPDATE items SET qty = 111 WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	if _, err := tx2.Exec(ctx, "UPDATE items SET qty = 222, name = 'loser' WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	if err := tx1.Commit(ctx); err != nil {
		t.Fatalf("first commit: %v", err)
	}
	err = tx2.Commit(ctx)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "40001" {
		t.Fatalf("second commit: %v, want 40001", err)
	}
	var qty int
	var name string
	if err := c1.QueryRow(ctx, "SELECT qty, name FROM items WHERE id = 1").Scan(&qty, &name); err != nil {
		t.Fatal(err)
	}
	if qty != 111 || name != "one" {
		t.Fatalf("row after the conflict = (%d, %q), want (111, \"one\")", qty, name)
	}
	// The losing connection is usable again.
	if err := c2.QueryRow(ctx, "SELECT qty FROM items WHERE id = 1").Scan(&qty); err != nil || qty != 111 {
		t.Fatalf("loser connection after 40001: %d, %v", qty, err)
	}
}

func TestBadInputKeepsServerServing(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, server.TestingKnobs{})
	createAlice(t, tn)
	healthy := tn.connect(ctx, tn.tcpConnString("alice", alicePassword))
	setupItems(t, healthy)
	addr := "127.0.0.1:" + strconv.Itoa(tn.port)

	t.Run("malformed startup packet", func(t *testing.T) {
		nc := dial(t, addr)
		// A length field of 9 bytes with a version that is no protocol.
		if _, err := nc.Write([]byte{0, 0, 0, 9, 0xde, 0xad, 0xbe, 0xef, 0}); err != nil {
			t.Fatal(err)
		}
		expectClosed(t, nc)
	})
	t.Run("oversized startup packet", func(t *testing.T) {
		nc := dial(t, addr)
		var hdr [8]byte
		binary.BigEndian.PutUint32(hdr[0:], 20000)
		binary.BigEndian.PutUint32(hdr[4:], pgproto3.ProtocolVersionNumber)
		_, _ = nc.Write(hdr[:])
		expectClosed(t, nc)
	})
	t.Run("unknown message type", func(t *testing.T) {
		conn := tn.connect(ctx, tn.tcpConnString("alice", alicePassword))
		pc := conn.PgConn()
		raw := pc.Conn()
		if _, err := raw.Write([]byte{'~', 0, 0, 0, 4}); err != nil {
			t.Fatal(err)
		}
		code := readErrorCode(t, raw)
		if code != "08P01" {
			t.Fatalf("unknown message type: SQLSTATE %q, want 08P01", code)
		}
		expectClosed(t, raw)
	})
	t.Run("oversized message", func(t *testing.T) {
		conn := tn.connect(ctx, tn.tcpConnString("alice", alicePassword))
		raw := conn.PgConn().Conn()
		var hdr [5]byte
		hdr[0] = 'Q'
		binary.BigEndian.PutUint32(hdr[1:], 1<<30)
		if _, err := raw.Write(hdr[:]); err != nil {
			t.Fatal(err)
		}
		code := readErrorCode(t, raw)
		if code != "08P01" {
			t.Fatalf("oversized message: SQLSTATE %q, want 08P01", code)
		}
		expectClosed(t, raw)
	})

	var count int
	if err := healthy.QueryRow(ctx, "SELECT count(*) FROM items").Scan(&count); err != nil || count != 3 {
		t.Fatalf("healthy connection after bad input: %d, %v", count, err)
	}
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	return nc
}

// expectClosed reads until the server closes the connection.
func expectClosed(t *testing.T, nc net.Conn) {
	t.Helper()
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	for {
		_, err := nc.Read(buf)
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isConnReset(err) {
			return
		}
		t.Fatalf("connection not closed by the server: %v", err)
	}
}

func isConnReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

// readErrorCode reads backend messages until an ErrorResponse and returns
// its SQLSTATE.
func readErrorCode(t *testing.T, nc net.Conn) string {
	t.Helper()
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	fe := pgproto3.NewFrontend(nc, nc)
	for {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatalf("reading the error response: %v", err)
		}
		if e, ok := msg.(*pgproto3.ErrorResponse); ok {
			return e.Code
		}
	}
}

func TestReadCommittedSeesNewCommits(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, server.TestingKnobs{})
	createAlice(t, tn)
	c1 := tn.connect(ctx, tn.tcpConnString("alice", alicePassword))
	c2 := tn.connect(ctx, tn.tcpConnString("alice", alicePassword))
	setupItems(t, c1)

	// READ COMMITTED: each statement sees what committed before it began.
	tx, err := c1.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var qty int
	if err := tx.QueryRow(ctx, "SELECT qty FROM items WHERE id = 2").Scan(&qty); err != nil || qty != 20 {
		t.Fatalf("first read: %d, %v", qty, err)
	}
	if _, err := c2.Exec(ctx, "UPDATE items SET qty = 21 WHERE id = 2"); err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRow(ctx, "SELECT qty FROM items WHERE id = 2").Scan(&qty); err != nil || qty != 21 {
		t.Fatalf("read after another commit: %d, %v; want 21", qty, err)
	}
	// Writing a row after seeing its latest version is no conflict.
	if _, err := tx.Exec(ctx, "UPDATE items SET qty = qty + 1 WHERE id = 2"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}
	if err := c2.QueryRow(ctx, "SELECT qty FROM items WHERE id = 2").Scan(&qty); err != nil || qty != 22 {
		t.Fatalf("final qty = %d, %v; want 22", qty, err)
	}

	// REPEATABLE READ keeps the first snapshot.
	rr, err := c1.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	if err := rr.QueryRow(ctx, "SELECT qty FROM items WHERE id = 3").Scan(&qty); err != nil || qty != 30 {
		t.Fatalf("repeatable read first: %d, %v", qty, err)
	}
	if _, err := c2.Exec(ctx, "UPDATE items SET qty = 31 WHERE id = 3"); err != nil {
		t.Fatal(err)
	}
	if err := rr.QueryRow(ctx, "SELECT qty FROM items WHERE id = 3").Scan(&qty); err != nil || qty != 30 {
		t.Fatalf("repeatable read second: %d, %v; want 30", qty, err)
	}
	_ = rr.Rollback(ctx)
}

func TestSerializableRejectsWriteSkew(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, server.TestingKnobs{})
	createAlice(t, tn)
	c1 := tn.connect(ctx, tn.tcpConnString("alice", alicePassword))
	c2 := tn.connect(ctx, tn.tcpConnString("alice", alicePassword))
	setupItems(t, c1)

	// Both read the total, then each changes a different row: one of the
	// two must fail, or the result matches no serial order.
	var txs []pgx.Tx
	for _, c := range []*pgx.Conn{c1, c2} {
		tx, err := c.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable})
		if err != nil {
			t.Fatal(err)
		}
		var total int
		if err := tx.QueryRow(ctx, "SELECT sum(qty) FROM items").Scan(&total); err != nil || total != 60 {
			t.Fatalf("sum = %d, %v", total, err)
		}
		txs = append(txs, tx)
	}
	if _, err := txs[0].Exec(ctx, "UPDATE items SET qty = 0 WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	if _, err := txs[1].Exec(ctx, "UPDATE items SET qty = 0 WHERE id = 2"); err != nil {
		t.Fatal(err)
	}
	if err := txs[0].Commit(ctx); err != nil {
		t.Fatalf("first commit: %v", err)
	}
	err := txs[1].Commit(ctx)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "40001" {
		t.Fatalf("second commit: %v, want 40001", err)
	}
}
