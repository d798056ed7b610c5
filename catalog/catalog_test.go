package catalog

import (
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/pgkeep/pgkeep/kv"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

func openCatalog(t *testing.T, dir string) (*Catalog, kv.Engine) {
	t.Helper()
	engine, err := kv.OpenPebble(dir, kv.PebbleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A test that closed the engine itself makes this Close return
	// ErrClosed, which is ignored.
	t.Cleanup(func() { _ = engine.Close() })
	return New(engine), engine
}

func bootstrap(t *testing.T, c *Catalog, dbName string) (bool, string, error) {
	t.Helper()
	saved := ""
	created, err := c.Bootstrap(BootstrapOptions{
		DatabaseName: dbName,
		NewRootPassword: func() (string, string, string, error) {
			return "generated-password", "bcrypt-hash", "scram-verifier", nil
		},
		SaveRootPassword: func(pw string) error { saved = pw; return nil },
	})
	return created, saved, err
}

func begin(t *testing.T, c *Catalog) kv.Txn {
	t.Helper()
	txn, err := c.Engine().Begin()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(txn.Rollback)
	return txn
}

func TestBootstrapOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	c, engine := openCatalog(t, dir)
	created, saved, err := bootstrap(t, c, "postgres")
	if err != nil || !created {
		t.Fatalf("first bootstrap: created=%v err=%v", created, err)
	}
	if saved != "generated-password" {
		t.Fatalf("saved password = %q", saved)
	}
	txn := begin(t, c)
	root, err := c.User(txn, RootUserName)
	if err != nil || root == nil {
		t.Fatalf("root user: %v %v", root, err)
	}
	if root.Role != RoleSystem || root.AuthType != AuthInternal || root.BcryptHash != "bcrypt-hash" {
		t.Fatalf("root = %+v", root)
	}
	for _, name := range []string{"public", "system", "pg_catalog", "information_schema"} {
		if s, err := c.Schema(txn, name); err != nil || s == nil {
			t.Errorf("schema %s missing: %v", name, err)
		}
	}
	secret, err := c.ServerSecret(txn)
	if err != nil || len(secret) != 32 {
		t.Fatalf("server secret: %d bytes, %v", len(secret), err)
	}
	txn.Rollback()
	if err := engine.Close(); err != nil {
		t.Fatal(err)
	}

	// A second start finds the catalog and keeps the secret.
	c, engine = openCatalog(t, dir)
	defer engine.Close()
	created, saved, err = bootstrap(t, c, "postgres")
	if err != nil || created || saved != "" {
		t.Fatalf("second bootstrap: created=%v saved=%q err=%v", created, saved, err)
	}
	txn = begin(t, c)
	again, err := c.ServerSecret(txn)
	if err != nil || string(again) != string(secret) {
		t.Fatal("server secret changed across restarts")
	}
	txn.Rollback()

	if _, _, err := bootstrap(t, c, "other"); err == nil {
		t.Fatal("bootstrap with another database name succeeded")
	}
}

func TestTablesAndRows(t *testing.T) {
	c, engine := openCatalog(t, filepath.Join(t.TempDir(), "store"))
	defer engine.Close()
	if _, _, err := bootstrap(t, c, "postgres"); err != nil {
		t.Fatal(err)
	}
	txn := begin(t, c)
	before := c.Version()
	tbl := &TableDescriptor{SchemaID: PublicSchemaID, Name: "items", Columns: []ColumnDescriptor{{ID: 1, Name: "id", Type: ColumnType{OID: 23, TypMod: -1}}}, PrimaryKey: []uint32{1}}
	if err := c.CreateTable(txn, tbl); err != nil {
		t.Fatal(err)
	}
	if tbl.ID < FirstUserID {
		t.Fatalf("table ID %d is in the reserved range", tbl.ID)
	}
	if c.Version() == before {
		t.Fatal("CreateTable did not change the schema version")
	}
	rowKey := append(IndexPrefix(tbl.ID, PrimaryIndexID), 1, 2, 3)
	if err := txn.Put(rowKey, []byte("row")); err != nil {
		t.Fatal(err)
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}

	txn = begin(t, c)
	got, err := c.Table(txn, PublicSchemaID, "items")
	if err != nil || got == nil || got.ID != tbl.ID || got.ColumnByName("id") == nil {
		t.Fatalf("Table = %+v, %v", got, err)
	}
	tables, err := c.Tables(txn, PublicSchemaID)
	if err != nil || len(tables) != 1 {
		t.Fatalf("Tables = %d, %v", len(tables), err)
	}
	if err := c.DropTable(txn, got); err != nil {
		t.Fatal(err)
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}

	txn = begin(t, c)
	if got, err := c.Table(txn, PublicSchemaID, "items"); err != nil || got != nil {
		t.Fatalf("table still there after DropTable: %+v %v", got, err)
	}
	if _, found, err := txn.Get(rowKey); err != nil || found {
		t.Fatalf("row still there after DropTable: found=%v err=%v", found, err)
	}
}

func TestSchemaDropRestrictAndCascade(t *testing.T) {
	c, engine := openCatalog(t, filepath.Join(t.TempDir(), "store"))
	defer engine.Close()
	if _, _, err := bootstrap(t, c, "postgres"); err != nil {
		t.Fatal(err)
	}
	txn := begin(t, c)
	s, err := c.CreateSchema(txn, "app", RootUserID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateSchema(txn, "app", RootUserID); !pgerror.HasCode(err, pgcode.DuplicateSchema) {
		t.Fatalf("duplicate schema: %v, want 42P06", err)
	}
	if err := c.CreateTable(txn, &TableDescriptor{SchemaID: s.ID, Name: "t", Columns: []ColumnDescriptor{{ID: 1, Name: "a"}}, PrimaryKey: []uint32{1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DropSchema(txn, s, false); !pgerror.HasCode(err, pgcode.DependentObjectsStillExist) {
		t.Fatalf("DROP SCHEMA without CASCADE: %v, want 2BP01", err)
	}
	dropped, err := c.DropSchema(txn, s, true)
	if err != nil || len(dropped) != 1 {
		t.Fatalf("DROP SCHEMA CASCADE dropped %d tables, %v", len(dropped), err)
	}
	public, _ := c.Schema(txn, "public")
	if _, err := c.DropSchema(txn, public, true); err == nil {
		t.Fatal("dropping public succeeded")
	}
}

func TestUsers(t *testing.T) {
	c, engine := openCatalog(t, filepath.Join(t.TempDir(), "store"))
	defer engine.Close()
	if _, _, err := bootstrap(t, c, "postgres"); err != nil {
		t.Fatal(err)
	}
	txn := begin(t, c)
	alice := &UserDescriptor{Name: "alice", Role: RoleDBA, AuthType: AuthPassword}
	if err := c.CreateUser(txn, alice); err != nil {
		t.Fatal(err)
	}
	if alice.ID == RootUserID || alice.ID == 0 {
		t.Fatalf("alice got ID %d", alice.ID)
	}
	if err := c.CreateUser(txn, &UserDescriptor{Name: "alice", Role: RoleUser}); !pgerror.HasCode(err, pgcode.DuplicateObject) {
		t.Fatalf("duplicate user: %v, want 42710", err)
	}
	// A dropped user's name can be taken again, by a new ID.
	now := alice.CreatedAt
	alice.DeletedAt = &now
	if err := c.PutUser(txn, alice); err != nil {
		t.Fatal(err)
	}
	again := &UserDescriptor{Name: "alice", Role: RoleUser, AuthType: AuthPassword}
	if err := c.CreateUser(txn, again); err != nil {
		t.Fatal(err)
	}
	if again.ID == alice.ID {
		t.Fatal("recreated user reused the old ID")
	}
	// The dropped alice is kept under a key of its own.
	users, err := c.Users(txn)
	if err != nil || len(users) != 3 {
		t.Fatalf("Users = %d, %v; want root and both alices", len(users), err)
	}
	old, err := c.UserByID(txn, alice.ID)
	if err != nil || old == nil || old.Active() || !old.Archived() {
		t.Fatalf("the dropped alice by ID = %+v, %v", old, err)
	}
	if err := c.RestoreUser(txn, old); !pgerror.HasCode(err, pgcode.DuplicateObject) {
		t.Fatalf("restoring while the name is taken: %v, want 42710", err)
	}
	// Once the new alice is dropped too, the old one can come back.
	dropped := again.CreatedAt
	again.DeletedAt = &dropped
	if err := c.PutUser(txn, again); err != nil {
		t.Fatal(err)
	}
	if err := c.RestoreUser(txn, old); err != nil {
		t.Fatal(err)
	}
	current, err := c.User(txn, "alice")
	if err != nil || current == nil || current.ID != alice.ID || !current.Active() {
		t.Fatalf("alice after the restore = %+v, %v", current, err)
	}
	if newer, err := c.UserByID(txn, again.ID); err != nil || newer == nil || newer.Active() {
		t.Fatalf("the newer alice after the restore = %+v, %v", newer, err)
	}
}

func TestSequenceContinuesAfterCleanClose(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	c, engine := openCatalog(t, dir)
	table := &TableDescriptor{ID: 200, Name: "t", Columns: []ColumnDescriptor{
		{ID: 1, Name: "id", Type: ColumnType{OID: 23, TypMod: -1}, Identity: IdentityByDefault},
		{ID: 2, Name: "n", Type: ColumnType{OID: 20, TypMod: -1}, Identity: IdentityByDefault},
	}}
	first, second := ColumnSequence(table, &table.Columns[0]), ColumnSequence(table, &table.Columns[1])
	for want := int64(1); want <= 3; want++ {
		v, err := c.NextValue(first)
		if err != nil || v != want {
			t.Fatalf("value %d: got %d, %v", want, v, err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := engine.Close(); err != nil {
		t.Fatal(err)
	}
	c, engine = openCatalog(t, dir)
	defer engine.Close()
	v, err := c.NextValue(first)
	if err != nil || v != 4 {
		t.Fatalf("after a clean restart: got %d, %v; want 4", v, err)
	}
	// Another column has its own sequence.
	if v, err := c.NextValue(second); err != nil || v != 1 {
		t.Fatalf("second sequence: got %d, %v; want 1", v, err)
	}
}

// TestColumnSequenceReadsOldState checks that a column sequence continues
// from the 8-byte state earlier versions stored: the first value not yet
// reserved.
func TestColumnSequenceReadsOldState(t *testing.T) {
	c, engine := openCatalog(t, filepath.Join(t.TempDir(), "store"))
	defer engine.Close()
	table := &TableDescriptor{ID: 300, Name: "t", Columns: []ColumnDescriptor{
		{ID: 1, Name: "id", Type: ColumnType{OID: 20, TypMod: -1}, Identity: IdentityByDefault},
	}}
	txn := begin(t, c)
	if err := txn.Put(seqKey{300, 1}.key(), binary.BigEndian.AppendUint64(nil, 65)); err != nil {
		t.Fatal(err)
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	if v, err := c.NextValue(ColumnSequence(table, &table.Columns[0])); err != nil || v != 65 {
		t.Fatalf("next value after the old state = %d, %v; want 65", v, err)
	}
}

// TestConcurrentCreateTable checks that two transactions creating tables
// at the same time both commit: table IDs come from a counter outside the
// statement's transaction.
func TestConcurrentCreateTable(t *testing.T) {
	c, engine := openCatalog(t, filepath.Join(t.TempDir(), "store"))
	defer engine.Close()
	if _, _, err := bootstrap(t, c, "postgres"); err != nil {
		t.Fatal(err)
	}
	a, b := begin(t, c), begin(t, c)
	ta := &TableDescriptor{SchemaID: PublicSchemaID, Name: "a", Columns: []ColumnDescriptor{{ID: 1, Name: "id", Type: ColumnType{OID: 23, TypMod: -1}}}, PrimaryKey: []uint32{1}}
	tb := &TableDescriptor{SchemaID: PublicSchemaID, Name: "b", Columns: []ColumnDescriptor{{ID: 1, Name: "id", Type: ColumnType{OID: 23, TypMod: -1}}}, PrimaryKey: []uint32{1}}
	if err := c.CreateTable(a, ta); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateTable(b, tb); err != nil {
		t.Fatal(err)
	}
	if ta.ID == tb.ID {
		t.Fatalf("both tables got ID %d", ta.ID)
	}
	if err := a.Commit(); err != nil {
		t.Fatalf("first commit: %v", err)
	}
	if err := b.Commit(); err != nil {
		t.Fatalf("second commit: %v", err)
	}
}
