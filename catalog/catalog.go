package catalog

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pgkeep/pgkeep/kv"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// Key prefixes of the catalog. Every catalog key starts with "/meta/".
const (
	keyDatabase       = "/meta/db"
	keySchemaPrefix   = "/meta/schema/"
	keyTableName      = "/meta/tname/"
	keyDescPrefix     = "/meta/desc/"
	keyUserPrefix     = "/meta/user/"
	keyUserIDPrefix   = "/meta/userid/"
	keyLastSeenPrefix = "/meta/lastseen/"
	keyIDCounter      = "/meta/counter/desc"
	keyUserCounter    = "/meta/counter/user"
	keySecret         = "/meta/secret"
	keySeqPrefix      = "/meta/seq/"
)

// Catalog reads and writes descriptors through kv transactions that the
// caller owns, so DDL commits or rolls back with the statement's
// transaction.
type Catalog struct {
	engine kv.Engine
	// version counts schema changes. Cached plans compare it to decide
	// whether they are still valid.
	version atomic.Uint64
	// usersVersion counts changes to users, so sessions notice a dropped
	// user or a changed role without reading the user on every statement.
	usersVersion atomic.Uint64
	seqs         sequences
	audit        auditIDs
	// tempIDs counts the IDs handed to temporary objects since the start.
	tempIDs atomic.Uint32
	// idMu serializes the ID allocations of this process.
	idMu sync.Mutex
}

// New returns a catalog over engine.
func New(engine kv.Engine) *Catalog {
	c := &Catalog{engine: engine}
	c.seqs.engine = engine
	c.seqs.mu.states = map[seqKey]*seqState{}
	return c
}

// Version returns the schema version. It changes whenever a schema change
// is executed, committed or not.
func (c *Catalog) Version() uint64 { return c.version.Load() }

// UsersVersion returns the number of user changes executed so far,
// committed or not.
func (c *Catalog) UsersVersion() uint64 { return c.usersVersion.Load() }

// BumpVersion marks a schema change.
func (c *Catalog) BumpVersion() { c.version.Add(1) }

// Engine returns the kv engine the catalog is stored in.
func (c *Catalog) Engine() kv.Engine { return c.engine }

func putJSON(txn kv.Txn, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return pgerror.Internal("encoding descriptor %s: %v", key, err)
	}
	return txn.Put([]byte(key), b)
}

func getJSON(txn kv.Txn, key string, v any) (bool, error) {
	b, found, err := txn.Get([]byte(key))
	if err != nil || !found {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, pgerror.Internal("decoding descriptor %s: %v", key, err)
	}
	return true, nil
}

func idKey(prefix string, id uint32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], id)
	return prefix + string(b[:])
}

// nextCounter increments the uint32 counter at key, starting at first.
func nextCounter(txn kv.Txn, key string, first uint32) (uint32, error) {
	b, found, err := txn.Get([]byte(key))
	if err != nil {
		return 0, err
	}
	next := first
	if found && len(b) == 4 {
		next = binary.BigEndian.Uint32(b)
	}
	var out [4]byte
	binary.BigEndian.PutUint32(out[:], next+1)
	return next, txn.Put([]byte(key), out[:])
}

// allocateID takes the next value of a counter in a transaction of its
// own, so that concurrent DDL does not fail on the counter with 40001. Like
// a PostgreSQL OID, the ID of a statement that rolls back stays unused.
// IDs from end on are not handed out; 0 means no end.
func (c *Catalog) allocateID(key string, first, end uint32) (uint32, error) {
	c.idMu.Lock()
	defer c.idMu.Unlock()
	for attempt := 0; ; attempt++ {
		txn, err := c.engine.Begin()
		if err != nil {
			return 0, err
		}
		id, err := nextCounter(txn, key, first)
		if err == nil && end != 0 && id >= end {
			err = pgerror.New(pgcode.ProgramLimitExceeded, "no more IDs for schemas, tables and sequences")
		}
		if err != nil {
			txn.Rollback()
			return 0, err
		}
		err = txn.Commit()
		if err == nil {
			return id, nil
		}
		if !pgerror.HasCode(err, pgcode.SerializationFailure) || attempt >= 100 {
			return 0, err
		}
	}
}

// Database returns the database descriptor.
func (c *Catalog) Database(txn kv.Txn) (*DatabaseDescriptor, error) {
	var d DatabaseDescriptor
	found, err := getJSON(txn, keyDatabase, &d)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, pgerror.Internal("catalog is not bootstrapped")
	}
	return &d, nil
}

// Schema returns the schema with the given name, or nil.
func (c *Catalog) Schema(txn kv.Txn, name string) (*SchemaDescriptor, error) {
	var s SchemaDescriptor
	found, err := getJSON(txn, keySchemaPrefix+name, &s)
	if err != nil || !found {
		return nil, err
	}
	return &s, nil
}

// Schemas returns all schemas ordered by name.
func (c *Catalog) Schemas(txn kv.Txn) ([]*SchemaDescriptor, error) {
	it, err := txn.NewIterator([]byte(keySchemaPrefix), kv.PrefixEnd([]byte(keySchemaPrefix)))
	if err != nil {
		return nil, err
	}
	var out []*SchemaDescriptor
	for ok := it.First(); ok; ok = it.Next() {
		var s SchemaDescriptor
		if err := json.Unmarshal(it.Value(), &s); err != nil {
			_ = it.Close()
			return nil, pgerror.Internal("decoding schema descriptor: %v", err)
		}
		out = append(out, &s)
	}
	return out, it.Close()
}

// CreateSchema creates a schema. It fails with 42P06 when the name is taken.
func (c *Catalog) CreateSchema(txn kv.Txn, name string, owner uint32) (*SchemaDescriptor, error) {
	existing, err := c.Schema(txn, name)
	if err != nil {
		return nil, err
	}
	if existing != nil {
		return nil, pgerror.Newf(pgcode.DuplicateSchema, "schema %q already exists", name)
	}
	id, err := c.allocateID(keyIDCounter, firstAllocatedTable, FirstTemporaryID)
	if err != nil {
		return nil, err
	}
	s := &SchemaDescriptor{ID: id, Name: name, Owner: owner}
	c.BumpVersion()
	return s, putJSON(txn, keySchemaPrefix+name, s)
}

// DropSchema removes an empty schema. cascade drops its tables first.
func (c *Catalog) DropSchema(txn kv.Txn, s *SchemaDescriptor, cascade bool) ([]*TableDescriptor, error) {
	if s.Virtual || s.ID == PublicSchemaID {
		return nil, pgerror.Newf(pgcode.DependentObjectsStillExist, "cannot drop schema %s because it is required by the database system", s.Name)
	}
	tables, err := c.Tables(txn, s.ID)
	if err != nil {
		return nil, err
	}
	if len(tables) > 0 && !cascade {
		return nil, pgerror.Newf(pgcode.DependentObjectsStillExist, "cannot drop schema %s because other objects depend on it", s.Name).
			WithDetailf("table %s.%s depends on schema %s", s.Name, tables[0].Name, s.Name).
			WithHint("Use DROP ... CASCADE to drop the dependent objects too.")
	}
	for _, t := range tables {
		if err := c.DropTable(txn, t); err != nil {
			return nil, err
		}
	}
	c.BumpVersion()
	return tables, txn.Delete([]byte(keySchemaPrefix + s.Name))
}

func tableNameKey(schemaID uint32, name string) string {
	return idKey(keyTableName, schemaID) + "/" + name
}

// Table returns the table schemaID.name, or nil when there is none.
func (c *Catalog) Table(txn kv.Txn, schemaID uint32, name string) (*TableDescriptor, error) {
	b, found, err := txn.Get([]byte(tableNameKey(schemaID, name)))
	if err != nil || !found {
		return nil, err
	}
	if len(b) != 4 {
		return nil, pgerror.Internal("corrupt table name entry for %q", name)
	}
	return c.TableByID(txn, binary.BigEndian.Uint32(b))
}

// TableByID returns the table with the given ID, or nil.
func (c *Catalog) TableByID(txn kv.Txn, id uint32) (*TableDescriptor, error) {
	var t TableDescriptor
	found, err := getJSON(txn, idKey(keyDescPrefix, id), &t)
	if err != nil || !found {
		return nil, err
	}
	return &t, nil
}

// Tables returns the tables of a schema ordered by name.
func (c *Catalog) Tables(txn kv.Txn, schemaID uint32) ([]*TableDescriptor, error) {
	prefix := []byte(idKey(keyTableName, schemaID) + "/")
	it, err := txn.NewIterator(prefix, kv.PrefixEnd(prefix))
	if err != nil {
		return nil, err
	}
	var ids []uint32
	for ok := it.First(); ok; ok = it.Next() {
		if v := it.Value(); len(v) == 4 {
			ids = append(ids, binary.BigEndian.Uint32(v))
		}
	}
	if err := it.Close(); err != nil {
		return nil, err
	}
	out := make([]*TableDescriptor, 0, len(ids))
	for _, id := range ids {
		t, err := c.TableByID(txn, id)
		if err != nil {
			return nil, err
		}
		if t != nil {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// CreateTable allocates an ID for t and stores it. The caller has checked
// that the name is free.
func (c *Catalog) CreateTable(txn kv.Txn, t *TableDescriptor) error {
	id, err := c.allocateID(keyIDCounter, firstAllocatedTable, FirstTemporaryID)
	if err != nil {
		return err
	}
	t.ID = id
	c.BumpVersion()
	return c.putNewTable(txn, t)
}

// putNewTable stores the name entry and descriptor of a table whose ID is
// set.
func (c *Catalog) putNewTable(txn kv.Txn, t *TableDescriptor) error {
	if t.Kind == "" {
		t.Kind = TableKindShared
	}
	if t.Kind == TableKindShared && t.AccessLevel == "" {
		t.AccessLevel = AccessPrivate
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now().UTC()
	}
	var idBytes [4]byte
	binary.BigEndian.PutUint32(idBytes[:], t.ID)
	if err := txn.Put([]byte(tableNameKey(t.SchemaID, t.Name)), idBytes[:]); err != nil {
		return err
	}
	return putJSON(txn, idKey(keyDescPrefix, t.ID), t)
}

// DropTable removes the descriptor, its name and its rows, and the
// sequences owned by its columns.
func (c *Catalog) DropTable(txn kv.Txn, t *TableDescriptor) error {
	c.BumpVersion()
	return c.dropTable(txn, t)
}

// dropTable is DropTable without the schema version change.
func (c *Catalog) dropTable(txn kv.Txn, t *TableDescriptor) error {
	if err := txn.Delete([]byte(tableNameKey(t.SchemaID, t.Name))); err != nil {
		return err
	}
	if err := txn.Delete([]byte(idKey(keyDescPrefix, t.ID))); err != nil {
		return err
	}
	for _, col := range t.Columns {
		if col.Identity != IdentityNone {
			if err := txn.Delete(seqKey{t.ID, col.ID}.key()); err != nil {
				return err
			}
		}
	}
	if t.Kind == TableKindSequence {
		if err := txn.Delete(seqKey{t.ID, 0}.key()); err != nil {
			return err
		}
	}
	c.forgetSequences(t)
	if err := c.dropOwnedSequences(txn, t); err != nil {
		return err
	}
	return DeleteRange(txn, TablePrefix(t.ID))
}

// TruncateTable removes every row and index entry of a table.
func (c *Catalog) TruncateTable(txn kv.Txn, t *TableDescriptor) error {
	return DeleteRange(txn, TablePrefix(t.ID))
}

// StoredTables returns the tables and views of every schema that is not
// virtual, schema by schema.
func (c *Catalog) StoredTables(txn kv.Txn) ([]*TableDescriptor, error) {
	schemas, err := c.Schemas(txn)
	if err != nil {
		return nil, err
	}
	var out []*TableDescriptor
	for _, s := range schemas {
		if s.Virtual {
			continue
		}
		tables, err := c.Tables(txn, s.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, tables...)
	}
	return out, nil
}

// RenameTable gives a table a new name in its schema. It fails with 42P07
// when the name is taken.
func (c *Catalog) RenameTable(txn kv.Txn, t *TableDescriptor, name string) error {
	if _, taken, err := txn.Get([]byte(tableNameKey(t.SchemaID, name))); err != nil {
		return err
	} else if taken {
		return pgerror.Newf(pgcode.DuplicateTable, "relation %q already exists", name)
	}
	if err := txn.Delete([]byte(tableNameKey(t.SchemaID, t.Name))); err != nil {
		return err
	}
	var idBytes [4]byte
	binary.BigEndian.PutUint32(idBytes[:], t.ID)
	if err := txn.Put([]byte(tableNameKey(t.SchemaID, name)), idBytes[:]); err != nil {
		return err
	}
	KeepSequenceNames(t)
	t.Name = name
	return c.PutTable(txn, t)
}

// DeleteRange deletes every key under prefix.
func DeleteRange(txn kv.Txn, prefix []byte) error {
	it, err := txn.NewIterator(prefix, kv.PrefixEnd(prefix))
	if err != nil {
		return err
	}
	var keys [][]byte
	for ok := it.First(); ok; ok = it.Next() {
		keys = append(keys, append([]byte(nil), it.Key()...))
	}
	if err := it.Close(); err != nil {
		return err
	}
	for _, k := range keys {
		if err := txn.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// TablePrefix returns the key prefix of all rows and index entries of a
// table: "/t/" followed by the big-endian table ID.
func TablePrefix(tableID uint32) []byte {
	b := make([]byte, 0, 16)
	b = append(b, "/t/"...)
	return binary.BigEndian.AppendUint32(b, tableID)
}

// IndexPrefix returns the key prefix of one index of a table.
func IndexPrefix(tableID, indexID uint32) []byte {
	return binary.BigEndian.AppendUint32(TablePrefix(tableID), indexID)
}

// User returns the user with the given name, deleted or not, or nil. A
// dropped user whose name was taken again is found only by ID or in Users.
func (c *Catalog) User(txn kv.Txn, name string) (*UserDescriptor, error) {
	return c.userAt(txn, name)
}

func (c *Catalog) userAt(txn kv.Txn, storageKey string) (*UserDescriptor, error) {
	var u UserDescriptor
	found, err := getJSON(txn, keyUserPrefix+storageKey, &u)
	if err != nil || !found {
		return nil, err
	}
	u.storageKey = storageKey
	return &u, nil
}

// Users returns every user, deleted ones included, ordered by name.
func (c *Catalog) Users(txn kv.Txn) ([]*UserDescriptor, error) {
	prefix := []byte(keyUserPrefix)
	it, err := txn.NewIterator(prefix, kv.PrefixEnd(prefix))
	if err != nil {
		return nil, err
	}
	var out []*UserDescriptor
	for ok := it.First(); ok; ok = it.Next() {
		var u UserDescriptor
		if err := json.Unmarshal(it.Value(), &u); err != nil {
			_ = it.Close()
			return nil, pgerror.Internal("decoding user descriptor: %v", err)
		}
		u.storageKey = string(it.Key()[len(prefix):])
		out = append(out, &u)
	}
	return out, it.Close()
}

// CreateUser allocates an ID for u and stores it. A name held by an active
// user fails with 42710; the name of a dropped user is reused.
func (c *Catalog) CreateUser(txn kv.Txn, u *UserDescriptor) error {
	existing, err := c.User(txn, u.Name)
	if err != nil {
		return err
	}
	if existing != nil && existing.Active() {
		return pgerror.Newf(pgcode.DuplicateObject, "role %q already exists", u.Name)
	}
	if existing != nil {
		// Keep the dropped user, restorable and purgeable, under a key
		// of its own.
		if err := c.moveUser(txn, existing, archivedKey(existing)); err != nil {
			return err
		}
	}
	id, err := c.allocateID(keyUserCounter, firstAllocatedUser, 0)
	if err != nil {
		return err
	}
	u.ID = id
	now := time.Now().UTC()
	u.CreatedAt, u.UpdatedAt = now, now
	c.usersVersion.Add(1)
	if err := txn.Put([]byte(idKey(keyUserIDPrefix, id)), []byte(u.Name)); err != nil {
		return err
	}
	return putJSON(txn, keyUserPrefix+u.Name, u)
}

// PutUser stores a changed user.
func (c *Catalog) PutUser(txn kv.Txn, u *UserDescriptor) error {
	u.UpdatedAt = time.Now().UTC()
	c.usersVersion.Add(1)
	return putJSON(txn, keyUserPrefix+u.key(), u)
}

func archivedKey(u *UserDescriptor) string {
	return string(binary.BigEndian.AppendUint32([]byte(u.Name+"\x00"), u.ID))
}

// moveUser stores u under another key suffix and points its ID there.
func (c *Catalog) moveUser(txn kv.Txn, u *UserDescriptor, storageKey string) error {
	if err := txn.Delete([]byte(keyUserPrefix + u.key())); err != nil {
		return err
	}
	u.storageKey = storageKey
	if err := txn.Put([]byte(idKey(keyUserIDPrefix, u.ID)), []byte(storageKey)); err != nil {
		return err
	}
	c.usersVersion.Add(1)
	return putJSON(txn, keyUserPrefix+storageKey, u)
}

// RestoreUser clears the deletion of a dropped user. It fails with 42710
// when an active user has taken the name meanwhile.
func (c *Catalog) RestoreUser(txn kv.Txn, u *UserDescriptor) error {
	if u.Archived() {
		current, err := c.User(txn, u.Name)
		if err != nil {
			return err
		}
		if current != nil && current.Active() {
			return pgerror.Newf(pgcode.DuplicateObject, "role %q already exists", u.Name).
				WithDetail("The dropped user cannot be restored while another user has its name.")
		}
		if current != nil {
			if err := c.moveUser(txn, current, archivedKey(current)); err != nil {
				return err
			}
		}
		if err := c.moveUser(txn, u, u.Name); err != nil {
			return err
		}
	}
	u.DeletedAt = nil
	return c.PutUser(txn, u)
}

// ServerSecret returns the random secret created at bootstrap.
func (c *Catalog) ServerSecret(txn kv.Txn) ([]byte, error) {
	b, found, err := txn.Get([]byte(keySecret))
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, pgerror.Internal("catalog has no server secret")
	}
	return append([]byte(nil), b...), nil
}

// QualifiedName joins a schema and an object name for messages.
func QualifiedName(schema, name string) string {
	if schema == "" || schema == "public" {
		return name
	}
	return fmt.Sprintf("%s.%s", schema, name)
}

// sequences holds the state of the sequences used since the start, so that
// most nextval calls need no kv write (sequence.go).
type sequences struct {
	engine kv.Engine
	mu     struct {
		sync.Mutex
		states map[seqKey]*seqState
	}
}

// seqKey locates the state of a sequence: a named sequence has its
// descriptor ID and column 0, the implicit sequence of a serial or identity
// column the table's ID and the column's.
type seqKey struct{ table, column uint32 }

func (k seqKey) key() []byte {
	b := []byte(keySeqPrefix)
	b = binary.BigEndian.AppendUint32(b, k.table)
	return binary.BigEndian.AppendUint32(b, k.column)
}

// Close writes back the exact state of every sequence used since the
// start, so a clean restart continues without a gap.
func (c *Catalog) Close() error {
	s := &c.seqs
	s.mu.Lock()
	defer s.mu.Unlock()
	txn, err := s.engine.Begin()
	if err != nil {
		return err
	}
	if err := s.writeBackLocked(txn); err != nil {
		txn.Rollback()
		return err
	}
	return txn.Commit()
}

// UserPrefix returns the key prefix of one user's rows in an index of a
// USER or STREAM table: the index prefix, "u" and the big-endian user ID.
func UserPrefix(tableID, indexID, userID uint32) []byte {
	b := append(IndexPrefix(tableID, indexID), 'u')
	return binary.BigEndian.AppendUint32(b, userID)
}

// PutTable stores a changed table descriptor under its existing ID.
func (c *Catalog) PutTable(txn kv.Txn, t *TableDescriptor) error {
	c.BumpVersion()
	return putJSON(txn, idKey(keyDescPrefix, t.ID), t)
}

// UserByID returns the user with the given ID, deleted or not, or nil.
func (c *Catalog) UserByID(txn kv.Txn, id uint32) (*UserDescriptor, error) {
	storageKey, found, err := txn.Get([]byte(idKey(keyUserIDPrefix, id)))
	if err != nil || !found {
		return nil, err
	}
	u, err := c.userAt(txn, string(storageKey))
	if err != nil || u == nil || u.ID != id {
		return nil, err
	}
	return u, nil
}

// DeleteUser removes a user for good, as the purge of dropped users does.
func (c *Catalog) DeleteUser(txn kv.Txn, u *UserDescriptor) error {
	c.usersVersion.Add(1)
	if err := txn.Delete([]byte(idKey(keyUserIDPrefix, u.ID))); err != nil {
		return err
	}
	if err := txn.Delete([]byte(idKey(keyLastSeenPrefix, u.ID))); err != nil {
		return err
	}
	return txn.Delete([]byte(keyUserPrefix + u.key()))
}

// LastSeen returns when a user last logged in, as SetLastSeen recorded it,
// or nil.
func (c *Catalog) LastSeen(txn kv.Txn, userID uint32) (*time.Time, error) {
	b, found, err := txn.Get([]byte(idKey(keyLastSeenPrefix, userID)))
	if err != nil || !found || len(b) != 8 {
		return nil, err
	}
	t := time.UnixMicro(int64(binary.BigEndian.Uint64(b))).UTC()
	return &t, nil
}

// SetLastSeen records a login time. It lives under its own key, so a login
// never conflicts with a change to the user's descriptor.
func (c *Catalog) SetLastSeen(txn kv.Txn, userID uint32, t time.Time) error {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(t.UnixMicro()))
	return txn.Put([]byte(idKey(keyLastSeenPrefix, userID)), b[:])
}
