package executor

import (
	"fmt"
	"testing"
)

// TestAlterUserTableRowsOfEveryOwner checks that ALTER TABLE reaches the
// rows of every owner of a USER table, not only the caller's.
func TestAlterUserTableRowsOfEveryOwner(t *testing.T) {
	f := newAccessFixture(t)
	for _, u := range []string{"alice", "bob"} {
		run(t, f.sessions[u], fmt.Sprintf("INSERT INTO notes VALUES (1, 'note of %s')", u))
	}
	run(t, f.sessions["ops"], "ALTER TABLE notes ADD COLUMN stars int NOT NULL DEFAULT 3")
	expectLines(t, f.query(t, "ops", "SELECT _user, stars FROM notes ORDER BY _user"), "alice|3", "bob|3")

	// A new CHECK fails on another user's row too.
	run(t, f.sessions["bob"], "UPDATE notes SET stars = 9")
	if got := f.exec("ops", "ALTER TABLE notes ADD CONSTRAINT few_stars CHECK (stars < 5)"); got != "23514" {
		t.Errorf("check violated by bob's row: got %s, want 23514", got)
	}
	if got := f.exec("ops", "ALTER TABLE notes ALTER COLUMN body SET NOT NULL"); got != "ok" {
		t.Errorf("SET NOT NULL: got %s", got)
	}
	if got := f.exec("alice", "INSERT INTO notes (id) VALUES (2)"); got != "23502" {
		t.Errorf("NULL body after SET NOT NULL: got %s, want 23502", got)
	}
}

func TestAlterAndTruncateNeedDBA(t *testing.T) {
	f := newAccessFixture(t)
	run(t, f.sessions["alice"], "INSERT INTO notes VALUES (1, 'mine')")
	for _, sql := range []string{
		"TRUNCATE notes",
		"ALTER TABLE notes ADD COLUMN x int",
		"ALTER TABLE notes RENAME TO mine",
		"ALTER TABLE shared_public DROP COLUMN v",
	} {
		for _, u := range []string{"alice", "svc"} {
			if got := f.exec(u, sql); got != "42501" {
				t.Errorf("%s as %s: got %s, want 42501", sql, u, got)
			}
		}
	}
	expectLines(t, f.query(t, "alice", "SELECT body FROM notes"), "mine")
	if got := f.exec("ops", "TRUNCATE notes"); got != "ok" {
		t.Fatalf("TRUNCATE as dba: got %s", got)
	}
	expectLines(t, f.query(t, "root", "SELECT count(*) FROM notes"), "0")
}

func TestRenameTableReadByView(t *testing.T) {
	f := newAccessFixture(t)
	run(t, f.sessions["ops"], "CREATE VIEW public_ids AS SELECT id FROM shared_public")
	if got := f.exec("ops", "ALTER TABLE shared_public RENAME TO elsewhere"); got != "0A000" {
		t.Errorf("rename of a table a view reads: got %s, want 0A000", got)
	}
	expectLines(t, f.query(t, "ops", "SELECT id FROM public_ids"), "1")
}

// TestAddPrimaryKeyUserTable checks that ADD PRIMARY KEY rewrites the rows
// of every owner of a USER table, that keys are unique per owner, and that
// the secondary index finds the rows under their new keys.
func TestAddPrimaryKeyUserTable(t *testing.T) {
	f := newAccessFixture(t)
	ops := f.sessions["ops"]
	run(t, ops, "CREATE USER TABLE diary (day int, body text)")
	run(t, ops, "CREATE INDEX diary_body_idx ON diary (body)")
	for _, u := range []string{"alice", "bob"} {
		run(t, f.sessions[u], fmt.Sprintf("INSERT INTO diary VALUES (1, 'day one of %s'), (2, 'day two of %s')", u, u))
	}
	run(t, f.sessions["alice"], "INSERT INTO diary VALUES (2, 'again')")

	// Alice's two rows for day 2 collide, Bob's do not count against hers.
	e := runErr(t, ops, "ALTER TABLE diary ADD PRIMARY KEY (day)")
	if e.Code != "23505" || e.Message != `could not create unique index "diary_pkey"` || e.Detail != "Key (day)=(2) is duplicated." {
		t.Errorf("ADD PRIMARY KEY over a duplicate: got %s %q %q", e.Code, e.Message, e.Detail)
	}
	run(t, f.sessions["alice"], "DELETE FROM diary WHERE body = 'again'")
	run(t, ops, "ALTER TABLE diary ADD PRIMARY KEY (day)")

	expectLines(t, f.query(t, "ops", "SELECT _user, day, body FROM diary ORDER BY _user, day"),
		"alice|1|day one of alice", "alice|2|day two of alice", "bob|1|day one of bob", "bob|2|day two of bob")
	expectLines(t, f.query(t, "bob", "SELECT day, body FROM diary ORDER BY day"), "1|day one of bob", "2|day two of bob")
	expectLines(t, f.query(t, "bob", "SELECT day FROM diary WHERE body = 'day two of bob'"), "2")
	expectLines(t, f.query(t, "bob", "SELECT day FROM diary WHERE body = 'day two of alice'"))
	if got := f.exec("bob", "INSERT INTO diary VALUES (1, 'dup')"); got != "23505" {
		t.Errorf("duplicate key for bob: got %s, want 23505", got)
	}
	if got := f.exec("alice", "INSERT INTO diary VALUES (3, 'day three of alice')"); got != "ok" {
		t.Errorf("new key for alice: got %s", got)
	}
	expectLines(t, f.query(t, "alice", "SELECT day FROM diary WHERE day = 3"), "3")

	// Dropping the key gives the rows a hidden row id again.
	run(t, ops, "ALTER TABLE diary DROP CONSTRAINT diary_pkey")
	if got := f.exec("bob", "INSERT INTO diary VALUES (1, 'dup')"); got != "ok" {
		t.Errorf("duplicate day after DROP CONSTRAINT: got %s", got)
	}
	expectLines(t, f.query(t, "ops", "SELECT _user, count(*) FROM diary GROUP BY _user ORDER BY _user"), "alice|3", "bob|3")
	expectLines(t, f.query(t, "bob", "SELECT day FROM diary WHERE body = 'dup'"), "1")
}

// TestAlterColumnTypeUserTable checks that ALTER COLUMN TYPE converts the
// rows of every owner of a USER table and keeps its key per owner.
func TestAlterColumnTypeUserTable(t *testing.T) {
	f := newAccessFixture(t)
	ops := f.sessions["ops"]
	for _, u := range []string{"alice", "bob"} {
		run(t, f.sessions[u], fmt.Sprintf("INSERT INTO notes VALUES (1, '%d')", len(u)))
	}
	run(t, ops, "ALTER TABLE notes ALTER COLUMN body TYPE int USING body::int * 10, ALTER COLUMN id TYPE bigint")
	expectLines(t, f.query(t, "ops", "SELECT _user, id, body FROM notes ORDER BY _user"), "alice|1|50", "bob|1|30")
	expectLines(t, f.query(t, "bob", "SELECT body + 1 FROM notes WHERE id = 1"), "31")
	if got := f.exec("bob", "INSERT INTO notes VALUES (1, 7)"); got != "23505" {
		t.Errorf("duplicate key for bob after the type change: got %s, want 23505", got)
	}
}

// TestAlterStreamTableKeepsInsertTime checks that rewriting the rows of a
// STREAM table keeps their insert times: a row that lost it would count
// as expired and vanish.
func TestAlterStreamTableKeepsInsertTime(t *testing.T) {
	f := newAccessFixture(t)
	ops := f.sessions["ops"]
	run(t, f.sessions["alice"], "INSERT INTO events VALUES (1, '10'), (2, '20')")
	run(t, ops, "ALTER TABLE events DROP CONSTRAINT events_pkey")
	run(t, ops, "ALTER TABLE events ALTER COLUMN body TYPE int USING body::int")
	run(t, ops, "ALTER TABLE events ADD PRIMARY KEY (body)")
	expectLines(t, f.query(t, "alice", "SELECT id, body FROM events ORDER BY id"), "1|10", "2|20")
	expectLines(t, f.query(t, "alice", "SELECT id FROM events WHERE body = 20"), "2")
}
