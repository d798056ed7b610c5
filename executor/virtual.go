package executor

import (
	"time"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/kv"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// virtualTable is a read-only table whose rows are generated from the
// catalog when a statement reads it.
type virtualTable struct {
	desc *catalog.TableDescriptor
	// rows returns the rows the session may see. filter is the statement's
	// WHERE clause, for tables whose visibility depends on it.
	rows func(ec *evalContext, filter expr) ([][]any, error)
}

// Virtual table IDs sit just below the first user ID, so they never clash
// with stored tables and stay stable across restarts.
const (
	systemUsersTableID      = catalog.FirstUserID - 1
	systemTablesTableID     = catalog.FirstUserID - 2
	systemNamespacesTableID = catalog.FirstUserID - 3
	systemAuditLogTableID   = catalog.FirstUserID - 4
)

func virtualColumns(cols ...catalog.ColumnDescriptor) []catalog.ColumnDescriptor {
	for i := range cols {
		cols[i].ID = uint32(i + 1)
		if cols[i].Type.TypMod == 0 {
			cols[i].Type.TypMod = -1
		}
	}
	return cols
}

func col(name string, oid uint32) catalog.ColumnDescriptor {
	return catalog.ColumnDescriptor{Name: name, Type: catalog.ColumnType{OID: oid, TypMod: -1}}
}

// systemUsersColumns are the columns of system.users. Password hashes and
// SCRAM verifiers are not among them, for any role.
var systemUsersColumns = virtualColumns(
	col("user_id", oidInt8), col("username", oidText), col("role", oidText), col("auth_type", oidText),
	col("email", oidText), col("oauth_provider", oidText), col("oauth_subject", oidText),
	col("allow_remote", oidBool), col("created_at", oidTimestamptz), col("updated_at", oidTimestamptz),
	col("last_seen", oidTimestamptz), col("deleted_at", oidTimestamptz),
)

// deletedAtColumn is the position of deleted_at in system.users.
const deletedAtColumn = 11

// virtualTables returns the virtual tables of a schema by name.
func virtualTables(schema string) map[string]*virtualTable {
	if tables, ok := catalogVirtualTables[schema]; ok {
		return tables
	}
	if schema != "system" {
		return nil
	}
	return map[string]*virtualTable{
		"users": {
			desc: &catalog.TableDescriptor{ID: systemUsersTableID, SchemaID: catalog.SystemSchemaID, Name: "users", Kind: catalog.TableKindSystem, Columns: systemUsersColumns},
			rows: systemUsersRows,
		},
		"tables": {
			desc: &catalog.TableDescriptor{ID: systemTablesTableID, SchemaID: catalog.SystemSchemaID, Name: "tables", Kind: catalog.TableKindSystem, Columns: virtualColumns(
				col("table_id", oidInt8), col("namespace", oidText), col("name", oidText), col("type", oidText),
				col("access_level", oidText), col("ttl_seconds", oidInt8), col("owner", oidText), col("created_at", oidTimestamptz),
			)},
			rows: systemTablesRows,
		},
		"audit_log": {
			desc: &catalog.TableDescriptor{ID: systemAuditLogTableID, SchemaID: catalog.SystemSchemaID, Name: "audit_log", Kind: catalog.TableKindSystem, Columns: virtualColumns(
				col("id", oidInt8), col("time", oidTimestamptz), col("actor", oidText), col("action", oidText),
				col("target", oidText), col("source", oidText), col("auth_method", oidText), col("success", oidBool), col("detail", oidText),
			)},
			rows: auditLogRows,
		},
		"namespaces": {
			desc: &catalog.TableDescriptor{ID: systemNamespacesTableID, SchemaID: catalog.SystemSchemaID, Name: "namespaces", Kind: catalog.TableKindSystem, Columns: virtualColumns(
				col("namespace_id", oidInt8), col("name", oidText),
			)},
			rows: systemNamespacesRows,
		},
	}
}

func textOrNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func timeOrNull(t *time.Time) any {
	if t == nil {
		return nil
	}
	return *t
}

// userRow is one row of system.users.
func userRow(u *catalog.UserDescriptor) []any {
	return []any{
		int64(u.ID), u.Name, u.Role, u.AuthType, textOrNull(u.Email), textOrNull(u.OAuthProvider), textOrNull(u.OAuthSubject),
		u.AllowRemote, u.CreatedAt, u.UpdatedAt, timeOrNull(u.LastSeen), timeOrNull(u.DeletedAt),
	}
}

// systemUsersRows lists the users the acting user may see: every user for
// dba and system, its own row for user and service. Dropped users appear
// only when the statement's filter reads deleted_at, so that a query for
// them, such as WHERE deleted_at IS NOT NULL, finds them.
func systemUsersRows(ec *evalContext, filter expr) ([][]any, error) {
	actor := ec.actor()
	seeAll := actor.Role == catalog.RoleDBA || actor.Role == catalog.RoleSystem
	showDeleted := readsColumn(filter, deletedAtColumn)
	users, err := ec.sess.srv.cat.Users(ec.sess.txn.kv)
	if err != nil {
		return nil, err
	}
	var rows [][]any
	for _, u := range users {
		if !seeAll && u.ID != actor.ID {
			continue
		}
		if !u.Active() && !showDeleted {
			continue
		}
		if u.LastSeen, err = ec.sess.srv.cat.LastSeen(ec.sess.txn.kv, u.ID); err != nil {
			return nil, err
		}
		rows = append(rows, userRow(u))
	}
	return rows, nil
}

// readsColumn reports whether e reads the column at position idx.
func readsColumn(e expr, idx int) bool {
	found := false
	walkExpr(e, func(x expr) {
		if c, ok := x.(*columnExpr); ok && c.idx == idx {
			found = true
		}
	})
	return found
}

func systemTablesRows(ec *evalContext, _ expr) ([][]any, error) {
	cat := ec.sess.srv.cat
	txn := ec.sess.txn.kv
	schemas, err := cat.Schemas(txn)
	if err != nil {
		return nil, err
	}
	owners := map[uint32]string{}
	var rows [][]any
	for _, s := range schemas {
		if s.Virtual || ec.sess.otherSessionSchema(s) {
			continue
		}
		tables, err := cat.Tables(txn, s.ID)
		if err != nil {
			return nil, err
		}
		for _, t := range tables {
			owner, err := ownerName(cat, txn, owners, t.Owner)
			if err != nil {
				return nil, err
			}
			var ttl any
			if t.TTLSeconds > 0 {
				ttl = t.TTLSeconds
			}
			rows = append(rows, []any{int64(t.ID), s.Name, t.Name, t.Kind, textOrNull(t.AccessLevel), ttl, owner, t.CreatedAt})
		}
	}
	return rows, nil
}

func ownerName(cat *catalog.Catalog, txn kv.Txn, cache map[uint32]string, id uint32) (any, error) {
	if name, ok := cache[id]; ok {
		return textOrNull(name), nil
	}
	u, err := cat.UserByID(txn, id)
	if err != nil {
		return nil, err
	}
	name := ""
	if u != nil {
		name = u.Name
	}
	cache[id] = name
	return textOrNull(name), nil
}

func systemNamespacesRows(ec *evalContext, _ expr) ([][]any, error) {
	schemas, err := ec.sess.srv.cat.Schemas(ec.sess.txn.kv)
	if err != nil {
		return nil, err
	}
	rows := make([][]any, 0, len(schemas))
	for _, s := range schemas {
		if ec.sess.otherSessionSchema(s) {
			continue
		}
		rows = append(rows, []any{int64(s.ID), s.Name})
	}
	return rows, nil
}

// virtualScanIter returns the generated rows of a virtual table that pass
// the filter.
type virtualScanIter struct {
	table  *virtualTable
	filter expr
	rows   [][]any
	pos    int
	loaded bool
}

func (it *virtualScanIter) next(ec *evalContext) ([]any, error) {
	if !it.loaded {
		rows, err := it.table.rows(ec, it.filter)
		if err != nil {
			return nil, err
		}
		it.rows, it.loaded = rows, true
	}
	for it.pos < len(it.rows) {
		row := it.rows[it.pos]
		it.pos++
		if it.filter != nil {
			ok, err := it.filter.eval(ec, row)
			if err != nil {
				return nil, err
			}
			if ok != true {
				continue
			}
		}
		return row, nil
	}
	return nil, nil
}

func (it *virtualScanIter) close() {}

// schemaOfVirtual returns the schema name of a virtual table descriptor.
func schemaOfVirtual(t *catalog.TableDescriptor) string {
	switch t.SchemaID {
	case catalog.SystemSchemaID:
		return "system"
	case catalog.PgCatalogSchemaID:
		return "pg_catalog"
	case catalog.InfoSchemaSchemaID:
		return "information_schema"
	}
	return ""
}

// auditLogRows lists the audit log, which only dba and system may read.
func auditLogRows(ec *evalContext, _ expr) ([][]any, error) {
	actor := ec.actor()
	if actor.Role != catalog.RoleDBA && actor.Role != catalog.RoleSystem {
		return nil, pgerror.New(pgcode.InsufficientPrivilege, "permission denied for table audit_log").
			WithDetailf("Required role: dba or system; current role: %s.", actor.Role)
	}
	entries, err := ec.sess.srv.cat.AuditEntries(ec.sess.txn.kv)
	if err != nil {
		return nil, err
	}
	rows := make([][]any, 0, len(entries))
	for _, e := range entries {
		rows = append(rows, []any{e.ID, e.Time, textOrNull(e.Actor), e.Action, textOrNull(e.Target), textOrNull(e.Source), textOrNull(e.Method), e.Success, textOrNull(e.Detail)})
	}
	return rows, nil
}
