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
