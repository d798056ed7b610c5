package security

import (
	"fmt"
	"strings"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// Role is the privilege level of a user. The values are ordered from least
// to most privileged, so r >= RoleDBA means "dba or system". The zero value
// is not a role, and every check rejects it.
type Role int

// Roles of users.
const (
	RoleUser Role = iota + 1
	RoleService
	RoleDBA
	RoleSystem
)

// TableKind is the kind of a table, which decides how its rows are owned.
// The zero value is not a kind.
type TableKind int

// Table kinds.
const (
	// KindUser is a table whose every row belongs to the user who wrote it.
	KindUser TableKind = iota + 1
	// KindShared is a table with one set of rows governed by an AccessLevel.
	KindShared
	// KindStream is a per-user table like KindUser whose rows expire after
	// the table's TTL.
	KindStream
	// KindSystem is a virtual table of the system, pg_catalog or
	// information_schema schema.
	KindSystem
)

// AccessLevel is the access level of a shared table. The zero value is not
// a level, so a Table whose Level was never set is rejected, not treated as
// public.
type AccessLevel int

// Access levels of shared tables. AccessPrivate is the default of a new
// table.
const (
	AccessPublic AccessLevel = iota + 1
	AccessPrivate
	AccessRestricted
)

// Operation is a statement's access to the rows of a table.
type Operation int

// Operations checked by CheckTable.
const (
	OpSelect Operation = iota + 1
	OpInsert
	OpUpdate
	OpDelete
	// OpRestoreUser is UPDATE system.users SET deleted_at = NULL, the one
	// write allowed on a system table. The caller passes it only for that
	// statement, because CheckTable checks the role and the table kind but not
	// which system table it is.
	OpRestoreUser
)

// Subject is the user a statement runs as.
type Subject struct {
	Role Role
	// UserID is the user's ID. IDs start at 1, so 0 matches no user.
	UserID uint32
	Name   string
}

// Table is the part of a table's descriptor that the access checks use.
type Table struct {
	// Name is the table name for error messages.
	Name  string
	Kind  TableKind
	Level AccessLevel // only for KindShared
	// OwnerID is the user ID of the table's creator, or 0 when it has none.
	OwnerID uint32
}

// UserChange is the part of a CREATE USER, ALTER USER or DROP USER statement
// that CheckUserChange checks. With neither Create nor Drop set it is an
// ALTER USER that sets the fields marked true, and the role in NewRole when
// that is not nil.
type UserChange struct {
	Create, Drop bool
	NewRole      *Role
	Password     bool
	Email        bool
	AllowRemote  bool
}

// accessMode is the set of row operations a role may run on a table.
type accessMode uint8

const (
	accessRead accessMode = 1 << iota
	accessWrite

	accessReadWrite = accessRead | accessWrite
)

// The access rules. Every check below reads its decision from these tables,
// and an absent entry is a denial.
var (
	// sharedAccess is the access of each role to a shared table that it does
	// not own, by access level. A table's owner always has read and write.
	sharedAccess = [AccessRestricted + 1][RoleSystem + 1]accessMode{
		AccessPublic: {
			RoleUser:    accessRead,
			RoleService: accessReadWrite,
			RoleDBA:     accessReadWrite,
			RoleSystem:  accessReadWrite,
		},
		AccessPrivate: {
			RoleService: accessReadWrite,
			RoleDBA:     accessReadWrite,
			RoleSystem:  accessReadWrite,
		},
		AccessRestricted: {
			RoleDBA:    accessReadWrite,
			RoleSystem: accessReadWrite,
		},
	}

	// perUserAccess is the access of each role to user and stream tables.
	// The storage key of a row starts with its user's ID, so a RoleUser
	// subject reaches only its own rows whatever the statement.
	perUserAccess = [RoleSystem + 1]accessMode{
		RoleUser:    accessReadWrite,
		RoleService: accessReadWrite,
		RoleDBA:     accessReadWrite,
		RoleSystem:  accessReadWrite,
	}

	// readAllUsersRowsRoles may read every user's rows of user and stream
	// tables. The other roles read only their own.
	readAllUsersRowsRoles = rolesOf(RoleService, RoleDBA, RoleSystem)

	// systemTableAccess is the access of each role to system tables. The
	// executor filters the rows that a role may see.
	systemTableAccess = [RoleSystem + 1]accessMode{
		RoleUser:    accessRead,
		RoleService: accessRead,
		RoleDBA:     accessRead,
		RoleSystem:  accessRead,
	}

	// restoreUserRoles may run OpRestoreUser on system.users.
	restoreUserRoles = rolesOf(RoleDBA, RoleSystem)

	// executeAsTargets is the set of target roles that each actor role may
	// run EXECUTE AS USER for. Every role may also execute as itself, the
	// only target open to RoleUser.
	executeAsTargets = [RoleSystem + 1]roleSet{
		RoleService: rolesOf(RoleUser, RoleService),
		RoleDBA:     rolesOf(RoleUser, RoleService, RoleDBA),
		RoleSystem:  rolesOf(RoleUser, RoleService, RoleDBA, RoleSystem),
	}

	// ddlRoles may create, alter and drop schemas, tables, indexes and views.
	ddlRoles = rolesOf(RoleDBA, RoleSystem)

	// accessLevelChangeRoles is the set of roles that may move a shared table
	// from one access level to another, indexed [from][to]. The table's owner
	// may make every change, and the roles listed here must also be able to
	// write the table. No role widens its own access this way, because only
	// roles that can write restricted tables move a table into or out of
	// restricted.
	accessLevelChangeRoles = [AccessRestricted + 1][AccessRestricted + 1]roleSet{
		AccessPublic: {
			AccessPublic:     rolesOf(RoleService, RoleDBA, RoleSystem),
			AccessPrivate:    rolesOf(RoleService, RoleDBA, RoleSystem),
			AccessRestricted: rolesOf(RoleDBA, RoleSystem),
		},
		AccessPrivate: {
			AccessPublic:     rolesOf(RoleService, RoleDBA, RoleSystem),
			AccessPrivate:    rolesOf(RoleService, RoleDBA, RoleSystem),
			AccessRestricted: rolesOf(RoleDBA, RoleSystem),
		},
		AccessRestricted: {
			AccessPublic:     rolesOf(RoleDBA, RoleSystem),
			AccessPrivate:    rolesOf(RoleDBA, RoleSystem),
			AccessRestricted: rolesOf(RoleDBA, RoleSystem),
		},
	}

	// userAdminRoles may create, alter and drop other users.
	userAdminRoles = rolesOf(RoleDBA, RoleSystem)

	// systemUserAdminRoles may also create, alter and drop users with role
	// system, and grant or revoke that role.
	systemUserAdminRoles = rolesOf(RoleSystem)
)

// CheckTable returns nil when s may run op on the rows of t, and a 42501
// error when it may not. For user and stream tables a nil result does not
// widen the rows reached, because ReadsAllUsersRows decides which rows a
// read covers and writes go to the subject's own rows.
func CheckTable(s Subject, t Table, op Operation) error {
	if err := validateRole(s.Role); err != nil {
		return err
	}
	if op < OpSelect || op > OpRestoreUser {
		return pgerror.Internal("invalid operation %d on table %s", int(op), t.Name)
	}
	if op == OpRestoreUser && t.Kind != KindSystem {
		return pgerror.Internal("restoring a user applies only to table system.users, not %s", t.Name)
	}

	switch t.Kind {
	case KindShared:
		return checkSharedTable(s, t, op)
	case KindUser, KindStream:
		if perUserAccess[s.Role]&op.accessMode() != 0 {
			return nil
		}
		return tableDenied(t.Name, rolesWithAccess(perUserAccess, op.accessMode()).String(), s.Role)
	case KindSystem:
		return checkSystemTable(s, t, op)
	default:
		return pgerror.Internal("invalid kind %d of table %s", int(t.Kind), t.Name)
	}
}

func checkSharedTable(s Subject, t Table, op Operation) error {
	if !t.Level.valid() {
		return pgerror.Internal("invalid access level %d of table %s", int(t.Level), t.Name)
	}
	if isOwner(s, t) {
		return nil
	}

	need := op.accessMode()
	if sharedAccess[t.Level][s.Role]&need != 0 {
		return nil
	}
	required := rolesWithAccess(sharedAccess[t.Level], need)
	return tableDenied(t.Name, required.String()+", or table owner", s.Role)
}

func checkSystemTable(s Subject, t Table, op Operation) error {
	if op == OpRestoreUser {
		if restoreUserRoles.has(s.Role) {
			return nil
		}
		return tableDenied(t.Name, restoreUserRoles.String(), s.Role)
	}

	if systemTableAccess[s.Role]&op.accessMode() != 0 {
		return nil
	}
	return pgerror.Newf(pgcode.InsufficientPrivilege, "permission denied for table %s", t.Name).
		WithDetailf("System tables are read-only; current role: %s.", s.Role).
		WithHint("The only write to a system table is UPDATE system.users SET deleted_at = NULL, which restores a dropped user. Use CREATE USER, ALTER USER and DROP USER to change users.")
}

// ReadsAllUsersRows reports whether s reads the rows of every user in user
// and stream tables. When it returns false, s reads only its own rows.
func ReadsAllUsersRows(s Subject) bool {
	return readAllUsersRowsRoles.has(s.Role)
}

// CheckExecuteAs returns nil when actor may run a statement as the user
// targetName, whose role is targetRole. The target is actor itself when
// targetName equals actor.Name, so both must be the canonical user names. The
// caller checks that the target exists and is not deleted.
func CheckExecuteAs(actor Subject, targetName string, targetRole Role) error {
	if err := validateRole(actor.Role); err != nil {
		return err
	}
	if err := validateRole(targetRole); err != nil {
		return err
	}

	if actor.Name != "" && targetName == actor.Name {
		return nil
	}
	if executeAsTargets[actor.Role].has(targetRole) {
		return nil
	}

	// The detail lists the roles that may execute as a user of targetRole.
	var required roleSet
	for r := RoleUser; r <= RoleSystem; r++ {
		if executeAsTargets[r].has(targetRole) {
			required |= rolesOf(r)
		}
	}
	return permissionDenied(required.String(), actor.Role,
		`permission denied to execute as user "%s"`, targetName)
}

// CheckDDL returns nil when s may run a CREATE, ALTER or DROP statement on a
// schema, table, index or view. action is the statement's verb and object
// type in lower case, such as "create table" or "drop schema", and object is
// the object's name. The last word of action names the object type in the
// message, as in "permission denied for schema app". With an empty object
// the message names the action, as in "permission denied to drop table".
func CheckDDL(s Subject, action, object string) error {
	if err := validateRole(s.Role); err != nil {
		return err
	}
	words := strings.Fields(action)
	if len(words) == 0 {
		return pgerror.Internal("empty DDL action on %q", object)
	}

	if ddlRoles.has(s.Role) {
		return nil
	}
	if object == "" {
		return permissionDenied(ddlRoles.String(), s.Role, "permission denied to %s", strings.Join(words, " "))
	}
	return permissionDenied(ddlRoles.String(), s.Role,
		"permission denied for %s %s", words[len(words)-1], object)
}

// CheckSetAccessLevel returns nil when s may run ALTER TABLE … SET ACCESS
// LEVEL to move t from t.Level to the level to. It returns 22023 when t is
// not a shared table and 42501 when s may not make the change. Setting the
// level a table already has needs the same rights as changing it.
func CheckSetAccessLevel(s Subject, t Table, to AccessLevel) error {
	if err := validateRole(s.Role); err != nil {
		return err
	}
	if t.Kind != KindShared {
		if !t.Kind.valid() {
			return pgerror.Internal("invalid kind %d of table %s", int(t.Kind), t.Name)
		}
		return pgerror.New(pgcode.InvalidParameterValue, "access level applies only to shared tables").
			WithDetailf("Table %s is a %s table.", t.Name, t.Kind)
	}
	if !t.Level.valid() {
		return pgerror.Internal("invalid access level %d of table %s", int(t.Level), t.Name)
	}
	if !to.valid() {
		return pgerror.Internal("invalid target access level %d for table %s", int(to), t.Name)
	}

	if isOwner(s, t) {
		return nil
	}
	required := accessLevelChangeRoles[t.Level][to]
	if required.has(s.Role) && sharedAccess[t.Level][s.Role]&accessWrite != 0 {
		return nil
	}
	return permissionDenied(required.String()+", or table owner", s.Role,
		"permission denied to change the access level of table %s", t.Name)
}

// CheckUserChange returns nil when actor may make change to the user target.
// For Create, target holds the new user's name and role, and a non-nil
// NewRole is checked as a role of the new user too. For ALTER and DROP,
// target is the existing user with its current role, and target.UserID
// equal to actor.UserID means the actor changes itself.
// activeSystemUsers is the number of active (not deleted) users with role
// system, counting target when it is one of them.
//
// Denials are 42501, except that dropping oneself is 55006 "current user
// cannot be dropped", as in PostgreSQL, and dropping or demoting the last
// active system user is 55006 (object in use) for every actor, because no
// role can make that change.
func CheckUserChange(actor Subject, target Subject, change UserChange, activeSystemUsers int) error {
	if err := validateRole(actor.Role); err != nil {
		return err
	}
	if err := validateRole(target.Role); err != nil {
		return err
	}
	if change.NewRole != nil {
		if err := validateRole(*change.NewRole); err != nil {
			return err
		}
	}

	switch {
	case change.Create && change.Drop:
		return pgerror.Internal("user change for %s both creates and drops the user", target.Name)
	case change.Create:
		return checkCreateUser(actor, target, change)
	case change.Drop:
		return checkDropUser(actor, target, activeSystemUsers)
	default:
		return checkAlterUser(actor, target, change, activeSystemUsers)
	}
}

func checkCreateUser(actor, target Subject, change UserChange) error {
	required := userAdminRolesFor(target.Role, change.NewRole)
	if required.has(actor.Role) {
		return nil
	}
	return permissionDenied(required.String(), actor.Role, "permission denied to create user")
}

func checkDropUser(actor, target Subject, activeSystemUsers int) error {
	if isSelf(actor, target) {
		return pgerror.New(pgcode.ObjectInUse, "current user cannot be dropped")
	}

	required := userAdminRolesFor(target.Role, nil)
	if !required.has(actor.Role) {
		return permissionDenied(required.String(), actor.Role, `permission denied to drop user "%s"`, target.Name)
	}

	if target.Role == RoleSystem && activeSystemUsers <= 1 {
		return lastSystemUser(target.Name)
	}
	return nil
}

func checkAlterUser(actor, target Subject, change UserChange, activeSystemUsers int) error {
	self := isSelf(actor, target)

	// No user changes its own role, not even to the role it has, so a user
	// cannot grant itself more access or lock the others out.
	if self && change.NewRole != nil {
		required := userAdminRolesFor(target.Role, change.NewRole)
		return permissionDenied(required.String()+", held by another user", actor.Role,
			"permission denied to change own role")
	}

	// Every user may change its own password and email. Everything else,
	// and every change to another user, is user administration.
	if !self || change.AllowRemote {
		required := userAdminRolesFor(target.Role, change.NewRole)
		if !required.has(actor.Role) {
			return permissionDenied(required.String(), actor.Role, `permission denied to alter user "%s"`, target.Name)
		}
	}

	demotesSystemUser := change.NewRole != nil && target.Role == RoleSystem && *change.NewRole != RoleSystem
	if demotesSystemUser && activeSystemUsers <= 1 {
		return lastSystemUser(target.Name)
	}
	return nil
}

// userAdminRolesFor returns the roles that may manage a user of role
// current, changing it to newRole when that is not nil.
func userAdminRolesFor(current Role, newRole *Role) roleSet {
	if current == RoleSystem || (newRole != nil && *newRole == RoleSystem) {
		return systemUserAdminRoles
	}
	return userAdminRoles
}

func lastSystemUser(name string) *pgerror.Error {
	return pgerror.New(pgcode.ObjectInUse, "cannot drop or demote the last active system user").
		WithDetailf(`User "%s" is the only active user with role system.`, name).
		WithHint("Create another user with role system first.")
}

func isOwner(s Subject, t Table) bool {
	return t.OwnerID != 0 && s.UserID == t.OwnerID
}

func isSelf(actor, target Subject) bool {
	return actor.UserID != 0 && actor.UserID == target.UserID
}

// permissionDenied creates a 42501 error whose detail names the required and
// the current role.
func permissionDenied(required string, current Role, format string, args ...any) *pgerror.Error {
	return pgerror.Newf(pgcode.InsufficientPrivilege, format, args...).
		WithDetailf("Required role: %s; current role: %s.", required, current)
}

func tableDenied(table, required string, current Role) *pgerror.Error {
	return permissionDenied(required, current, "permission denied for table %s", table)
}

func validateRole(r Role) error {
	if !r.valid() {
		return pgerror.Internal("invalid role %d", int(r))
	}
	return nil
}

// accessMode returns the access that op needs. OpRestoreUser is a write.
func (op Operation) accessMode() accessMode {
	if op == OpSelect {
		return accessRead
	}
	return accessWrite
}

// roleSet is a set of roles, with bit r set for role r.
type roleSet uint8

func rolesOf(roles ...Role) roleSet {
	var s roleSet
	for _, r := range roles {
		s |= 1 << r
	}
	return s
}

func (s roleSet) has(r Role) bool {
	return r.valid() && s&(1<<r) != 0
}

// String lists the roles from least to most privileged, as in
// "service, dba or system".
func (s roleSet) String() string {
	var names []string
	for r := RoleUser; r <= RoleSystem; r++ {
		if s.has(r) {
			names = append(names, r.String())
		}
	}
	switch len(names) {
	case 0:
		return "none"
	case 1:
		return names[0]
	default:
		return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
	}
}

// rolesWithAccess returns the roles whose entry in access includes need.
func rolesWithAccess(access [RoleSystem + 1]accessMode, need accessMode) roleSet {
	var s roleSet
	for r := RoleUser; r <= RoleSystem; r++ {
		if access[r]&need != 0 {
			s |= rolesOf(r)
		}
	}
	return s
}

var (
	roleNames        = [...]string{RoleUser: "user", RoleService: "service", RoleDBA: "dba", RoleSystem: "system"}
	tableKindNames   = [...]string{KindUser: "user", KindShared: "shared", KindStream: "stream", KindSystem: "system"}
	accessLevelNames = [...]string{AccessPublic: "public", AccessPrivate: "private", AccessRestricted: "restricted"}
	operationNames   = [...]string{OpSelect: "select", OpInsert: "insert", OpUpdate: "update", OpDelete: "delete", OpRestoreUser: "restore user"}
)

func (r Role) valid() bool { return r >= RoleUser && r <= RoleSystem }

// String returns the role's name as SQL spells it, such as "dba".
func (r Role) String() string {
	if !r.valid() {
		return fmt.Sprintf("Role(%d)", int(r))
	}
	return roleNames[r]
}

func (k TableKind) valid() bool { return k >= KindUser && k <= KindSystem }

// String returns the kind's name as the table option type spells it, such
// as "shared".
func (k TableKind) String() string {
	if !k.valid() {
		return fmt.Sprintf("TableKind(%d)", int(k))
	}
	return tableKindNames[k]
}

func (l AccessLevel) valid() bool { return l >= AccessPublic && l <= AccessRestricted }

// String returns the level's name as SQL spells it, such as "private".
func (l AccessLevel) String() string {
	if !l.valid() {
		return fmt.Sprintf("AccessLevel(%d)", int(l))
	}
	return accessLevelNames[l]
}

// String returns the operation's name in lower case, such as "select".
func (op Operation) String() string {
	if op < OpSelect || op > OpRestoreUser {
		return fmt.Sprintf("Operation(%d)", int(op))
	}
	return operationNames[op]
}

// ParseRole returns the role named s, ignoring ASCII case. An unknown name
// is a 22023 error.
func ParseRole(s string) (Role, error) {
	for r := RoleUser; r <= RoleSystem; r++ {
		if strings.EqualFold(s, r.String()) {
			return r, nil
		}
	}
	return 0, invalidValue("role", s, "Valid roles are user, service, dba and system.")
}

// ParseTableKind returns the table kind named s, ignoring ASCII case. An
// unknown name is a 22023 error naming the table option type. It accepts
// "system", the kind of stored system table descriptors, so CREATE TABLE must
// reject KindSystem itself, and the error hint lists only the kinds that
// CREATE TABLE accepts.
func ParseTableKind(s string) (TableKind, error) {
	for k := KindUser; k <= KindSystem; k++ {
		if strings.EqualFold(s, k.String()) {
			return k, nil
		}
	}
	return 0, invalidValue("type", s, "Valid table types are user, shared and stream.")
}

// ParseAccessLevel returns the access level named s, ignoring ASCII case. An
// unknown name is a 22023 error.
func ParseAccessLevel(s string) (AccessLevel, error) {
	for l := AccessPublic; l <= AccessRestricted; l++ {
		if strings.EqualFold(s, l.String()) {
			return l, nil
		}
	}
	return 0, invalidValue("access_level", s, "Valid access levels are public, private and restricted.")
}

func invalidValue(field, value, hint string) *pgerror.Error {
	return pgerror.Newf(pgcode.InvalidParameterValue, `invalid value for %s: "%s"`, field, value).
		WithHint(hint)
}
