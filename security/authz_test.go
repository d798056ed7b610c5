package security

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// The expected results below restate the access rules as literal grids, in
// a form independent of the tables in authz.go, so a wrong entry there fails
// a named case here.

var allRoles = []Role{RoleUser, RoleService, RoleDBA, RoleSystem}

var allLevels = []AccessLevel{AccessPublic, AccessPrivate, AccessRestricted}

var tableOps = []Operation{OpSelect, OpInsert, OpUpdate, OpDelete}

const (
	actorID   uint32 = 10
	otherID   uint32 = 20
	actorName        = "alice"
	otherName        = "bob"
)

func actor(r Role) Subject { return Subject{Role: r, UserID: actorID, Name: actorName} }

// assertError checks that err is a *pgerror.Error with the given SQLSTATE,
// message and detail.
func assertError(t *testing.T, err error, code pgcode.Code, message, detail string) *pgerror.Error {
	t.Helper()
	var pe *pgerror.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *pgerror.Error", err, err)
	}
	if pe.Code != code {
		t.Errorf("SQLSTATE = %s, want %s (message %q)", pe.Code, code, pe.Message)
	}
	if pe.Message != message {
		t.Errorf("message = %q, want %q", pe.Message, message)
	}
	if pe.Detail != detail {
		t.Errorf("detail = %q, want %q", pe.Detail, detail)
	}
	return pe
}

func assertAllowed(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("denied: %v", err)
	}
}

func assertInternal(t *testing.T, err error) {
	t.Helper()
	if code := pgerror.GetCode(err); err == nil || code != pgcode.InternalError {
		t.Fatalf("error = %v with SQLSTATE %s, want XX000", err, code)
	}
}

func TestSharedTable(t *testing.T) {
	// Access of a role that does not own the table: "r" read, "w" write.
	grid := map[AccessLevel]map[Role]string{
		AccessPublic:     {RoleUser: "r", RoleService: "rw", RoleDBA: "rw", RoleSystem: "rw"},
		AccessPrivate:    {RoleUser: "", RoleService: "rw", RoleDBA: "rw", RoleSystem: "rw"},
		AccessRestricted: {RoleUser: "", RoleService: "", RoleDBA: "rw", RoleSystem: "rw"},
	}
	required := map[AccessLevel]string{
		AccessPublic:     "service, dba or system, or table owner",
		AccessPrivate:    "service, dba or system, or table owner",
		AccessRestricted: "dba or system, or table owner",
	}

	for _, level := range allLevels {
		for _, role := range allRoles {
			for _, owner := range []bool{false, true} {
				for _, op := range tableOps {
					label := role.String()
					table := Table{Name: "orders", Kind: KindShared, Level: level, OwnerID: otherID}
					if owner {
						label = "owner-" + label
						table.OwnerID = actorID
					}
					need := "w"
					if op == OpSelect {
						need = "r"
					}
					allowed := owner || strings.Contains(grid[level][role], need)

					t.Run(fmt.Sprintf("shared/%s/%s/%s", level, label, op), func(t *testing.T) {
						err := CheckTable(actor(role), table, op)
						if allowed {
							assertAllowed(t, err)
							return
						}
						assertError(t, err, pgcode.InsufficientPrivilege, "permission denied for table orders",
							fmt.Sprintf("Required role: %s; current role: %s.", required[level], role))
					})
				}
			}
		}
	}
}

func TestSharedTableOwnerIDZero(t *testing.T) {
	// A table without owner must not match a subject whose ID is unset.
	s := Subject{Role: RoleUser, Name: "nobody"}
	table := Table{Name: "orders", Kind: KindShared, Level: AccessPrivate}
	assertError(t, CheckTable(s, table, OpSelect), pgcode.InsufficientPrivilege, "permission denied for table orders",
		"Required role: service, dba or system, or table owner; current role: user.")
}

func TestPerUserTables(t *testing.T) {
	for _, kind := range []TableKind{KindUser, KindStream} {
		for _, role := range allRoles {
			for _, op := range tableOps {
				t.Run(fmt.Sprintf("%s/%s/%s", kind, role, op), func(t *testing.T) {
					table := Table{Name: "notes", Kind: kind, OwnerID: otherID}
					assertAllowed(t, CheckTable(actor(role), table, op))
				})
			}
		}
	}
}

func TestReadsAllUsersRows(t *testing.T) {
	want := map[Role]bool{RoleUser: false, RoleService: true, RoleDBA: true, RoleSystem: true}
	for _, role := range allRoles {
		if got := ReadsAllUsersRows(actor(role)); got != want[role] {
			t.Errorf("ReadsAllUsersRows(%s) = %v, want %v", role, got, want[role])
		}
	}
	if ReadsAllUsersRows(Subject{}) {
		t.Error("ReadsAllUsersRows of the zero Subject = true, want false")
	}
}

func TestSystemTable(t *testing.T) {
	usersTable := Table{Name: "system.users", Kind: KindSystem}
	restoreRoles := map[Role]bool{RoleDBA: true, RoleSystem: true}

	for _, role := range allRoles {
		for _, op := range append(tableOps, OpRestoreUser) {
			t.Run(fmt.Sprintf("system/%s/%s", role, op), func(t *testing.T) {
				err := CheckTable(actor(role), usersTable, op)
				switch {
				case op == OpSelect:
					assertAllowed(t, err)
				case op == OpRestoreUser && restoreRoles[role]:
					assertAllowed(t, err)
				case op == OpRestoreUser:
					assertError(t, err, pgcode.InsufficientPrivilege, "permission denied for table system.users",
						fmt.Sprintf("Required role: dba or system; current role: %s.", role))
				default:
					pe := assertError(t, err, pgcode.InsufficientPrivilege, "permission denied for table system.users",
						fmt.Sprintf("System tables are read-only; current role: %s.", role))
					if !strings.Contains(pe.Hint, "UPDATE system.users SET deleted_at = NULL") {
						t.Errorf("hint = %q, want the restore statement", pe.Hint)
					}
				}
			})
		}
	}
}

func TestSystemTableOtherNames(t *testing.T) {
	catalogTable := Table{Name: "pg_catalog.pg_class", Kind: KindSystem}
	assertAllowed(t, CheckTable(actor(RoleUser), catalogTable, OpSelect))
	assertError(t, CheckTable(actor(RoleSystem), catalogTable, OpDelete), pgcode.InsufficientPrivilege,
		"permission denied for table pg_catalog.pg_class", "System tables are read-only; current role: system.")
}

func TestRestoreUserOnUserTables(t *testing.T) {
	// The restore operation names a statement on system.users only.
	assertInternal(t, CheckTable(actor(RoleSystem), Table{Name: "notes", Kind: KindUser}, OpRestoreUser))
	assertInternal(t, CheckTable(actor(RoleSystem), Table{Name: "events", Kind: KindStream}, OpRestoreUser))
	assertInternal(t, CheckTable(actor(RoleSystem), Table{Name: "orders", Kind: KindShared, Level: AccessPublic}, OpRestoreUser))
}

func TestCheckTableInvalidInput(t *testing.T) {
	shared := Table{Name: "orders", Kind: KindShared, Level: AccessPublic}
	cases := []struct {
		name  string
		s     Subject
		table Table
		op    Operation
	}{
		{"zero role", Subject{UserID: actorID}, shared, OpSelect},
		{"role too large", actor(RoleSystem + 1), shared, OpSelect},
		{"zero operation", actor(RoleSystem), shared, 0},
		{"operation too large", actor(RoleSystem), shared, OpRestoreUser + 1},
		{"zero kind", actor(RoleSystem), Table{Name: "t", Level: AccessPublic}, OpSelect},
		{"zero level", actor(RoleSystem), Table{Name: "t", Kind: KindShared}, OpSelect},
		{"level too large", actor(RoleSystem), Table{Name: "t", Kind: KindShared, Level: AccessRestricted + 1}, OpSelect},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assertInternal(t, CheckTable(tc.s, tc.table, tc.op))
		})
	}
}

func TestExecuteAs(t *testing.T) {
	// Targets each actor role may execute as, in the order user, service,
	// dba, system: "y" allowed, "-" denied.
	grid := map[Role]string{
		RoleUser:    "----",
		RoleService: "yy--",
		RoleDBA:     "yyy-",
		RoleSystem:  "yyyy",
	}
	required := map[Role]string{
		RoleUser:    "service, dba or system",
		RoleService: "service, dba or system",
		RoleDBA:     "dba or system",
		RoleSystem:  "system",
	}

	for _, actorRole := range allRoles {
		for i, targetRole := range allRoles {
			t.Run(fmt.Sprintf("execute-as/%s/%s", actorRole, targetRole), func(t *testing.T) {
				err := CheckExecuteAs(actor(actorRole), otherName, targetRole)
				if grid[actorRole][i] == 'y' {
					assertAllowed(t, err)
					return
				}
				assertError(t, err, pgcode.InsufficientPrivilege, `permission denied to execute as user "bob"`,
					fmt.Sprintf("Required role: %s; current role: %s.", required[targetRole], actorRole))
			})
		}
		t.Run(fmt.Sprintf("execute-as/%s/self", actorRole), func(t *testing.T) {
			assertAllowed(t, CheckExecuteAs(actor(actorRole), actorName, actorRole))
		})
	}
}

func TestExecuteAsEmptyName(t *testing.T) {
	// An actor without a name is never its own target.
	err := CheckExecuteAs(Subject{Role: RoleUser, UserID: actorID}, "", RoleUser)
	assertError(t, err, pgcode.InsufficientPrivilege, `permission denied to execute as user ""`,
		"Required role: service, dba or system; current role: user.")
}

func TestExecuteAsInvalidRole(t *testing.T) {
	assertInternal(t, CheckExecuteAs(Subject{Name: actorName}, otherName, RoleUser))
	assertInternal(t, CheckExecuteAs(actor(RoleSystem), otherName, 0))
}

func TestDDL(t *testing.T) {
	actions := []struct{ action, object, message string }{
		{"create schema", "app", "permission denied for schema app"},
		{"alter schema", "app", "permission denied for schema app"},
		{"drop schema", "app", "permission denied for schema app"},
		{"create table", "orders", "permission denied for table orders"},
		{"alter table", "orders", "permission denied for table orders"},
		{"drop table", "orders", "permission denied for table orders"},
		{"create index", "orders_pkey", "permission denied for index orders_pkey"},
		{"drop index", "orders_pkey", "permission denied for index orders_pkey"},
		{"create view", "recent", "permission denied for view recent"},
		{"drop view", "recent", "permission denied for view recent"},
	}
	allowed := map[Role]bool{RoleDBA: true, RoleSystem: true}

	for _, a := range actions {
		for _, role := range allRoles {
			t.Run(fmt.Sprintf("ddl/%s/%s", a.action, role), func(t *testing.T) {
				err := CheckDDL(actor(role), a.action, a.object)
				if allowed[role] {
					assertAllowed(t, err)
					return
				}
				assertError(t, err, pgcode.InsufficientPrivilege, a.message,
					fmt.Sprintf("Required role: dba or system; current role: %s.", role))
			})
		}
	}
}

func TestDDLWithoutObjectName(t *testing.T) {
	assertError(t, CheckDDL(actor(RoleService), "drop table", ""), pgcode.InsufficientPrivilege,
		"permission denied to drop table", "Required role: dba or system; current role: service.")
	assertAllowed(t, CheckDDL(actor(RoleDBA), "drop table", ""))
}

func TestDDLInvalidInput(t *testing.T) {
	assertInternal(t, CheckDDL(actor(RoleSystem), " ", "orders"))
	assertInternal(t, CheckDDL(Subject{}, "create table", "orders"))
}

func TestSetAccessLevel(t *testing.T) {
	// Level changes a role may make on a table it does not own, indexed by
	// the current level (rows public, private, restricted) and the new level
	// (columns in the same order).
	grid := map[Role][3]string{
		RoleUser:    {"---", "---", "---"},
		RoleService: {"yy-", "yy-", "---"},
		RoleDBA:     {"yyy", "yyy", "yyy"},
		RoleSystem:  {"yyy", "yyy", "yyy"},
	}

	for _, role := range allRoles {
		for _, owner := range []bool{false, true} {
			for i, from := range allLevels {
				for j, to := range allLevels {
					label := role.String()
					table := Table{Name: "orders", Kind: KindShared, Level: from, OwnerID: otherID}
					if owner {
						label = "owner-" + label
						table.OwnerID = actorID
					}
					allowed := owner || grid[role][i][j] == 'y'
					required := "service, dba or system, or table owner"
					if from == AccessRestricted || to == AccessRestricted {
						required = "dba or system, or table owner"
					}

					t.Run(fmt.Sprintf("set-level/%s/%s-to-%s", label, from, to), func(t *testing.T) {
						err := CheckSetAccessLevel(actor(role), table, to)
						if allowed {
							assertAllowed(t, err)
							return
						}
						assertError(t, err, pgcode.InsufficientPrivilege,
							"permission denied to change the access level of table orders",
							fmt.Sprintf("Required role: %s; current role: %s.", required, role))
					})
				}
			}
		}
	}
}

func TestSetAccessLevelNotShared(t *testing.T) {
	for _, kind := range []TableKind{KindUser, KindStream, KindSystem} {
		for _, role := range allRoles {
			t.Run(fmt.Sprintf("set-level/%s/%s", kind, role), func(t *testing.T) {
				table := Table{Name: "notes", Kind: kind, OwnerID: actorID}
				err := CheckSetAccessLevel(actor(role), table, AccessPublic)
				assertError(t, err, pgcode.InvalidParameterValue, "access level applies only to shared tables",
					fmt.Sprintf("Table notes is a %s table.", kind))
			})
		}
	}
}

func TestSetAccessLevelInvalidInput(t *testing.T) {
	assertInternal(t, CheckSetAccessLevel(actor(RoleSystem), Table{Name: "t", Kind: KindShared}, AccessPublic))
	assertInternal(t, CheckSetAccessLevel(actor(RoleSystem), Table{Name: "t", Kind: KindShared, Level: AccessPublic}, 0))
	assertInternal(t, CheckSetAccessLevel(actor(RoleSystem), Table{Name: "t"}, AccessPublic))
	assertInternal(t, CheckSetAccessLevel(Subject{}, Table{Name: "t", Kind: KindShared, Level: AccessPublic}, AccessPublic))
}

// Outcomes of user changes in the grids below.
const (
	outAllowed     = '.'
	outNeedsDBA    = 'D' // 42501, "Required role: dba or system"
	outNeedsSystem = 'S' // 42501, "Required role: system"
	outOwnRoleDBA  = 'd' // 42501 own role, "dba or system, held by another user"
	outOwnRoleSys  = 's' // 42501 own role, "system, held by another user"
	outLastSystem  = 'L' // 55006, last active system user
	outDropSelf    = 'X' // 55006, current user cannot be dropped
)

type userChangeCase struct {
	name       string
	actor      Role
	target     Subject
	change     UserChange
	systems    int
	outcome    byte
	denyFormat string // message of a 42501 denial other than own role
}

func runUserChangeCases(t *testing.T, cases []userChangeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckUserChange(actor(tc.actor), tc.target, tc.change, tc.systems)
			current := tc.actor.String()
			switch tc.outcome {
			case outAllowed:
				assertAllowed(t, err)
			case outNeedsDBA:
				assertError(t, err, pgcode.InsufficientPrivilege, tc.denyFormat,
					"Required role: dba or system; current role: "+current+".")
			case outNeedsSystem:
				assertError(t, err, pgcode.InsufficientPrivilege, tc.denyFormat,
					"Required role: system; current role: "+current+".")
			case outOwnRoleDBA:
				assertError(t, err, pgcode.InsufficientPrivilege, "permission denied to change own role",
					"Required role: dba or system, held by another user; current role: "+current+".")
			case outOwnRoleSys:
				assertError(t, err, pgcode.InsufficientPrivilege, "permission denied to change own role",
					"Required role: system, held by another user; current role: "+current+".")
			case outLastSystem:
				assertError(t, err, pgcode.ObjectInUse, "cannot drop or demote the last active system user",
					fmt.Sprintf(`User "%s" is the only active user with role system.`, tc.target.Name))
			case outDropSelf:
				assertError(t, err, pgcode.ObjectInUse, "current user cannot be dropped", "")
			default:
				t.Fatalf("unknown outcome %q", tc.outcome)
			}
		})
	}
}

func other(r Role) Subject { return Subject{Role: r, UserID: otherID, Name: otherName} }

func rolePtr(r Role) *Role { return &r }

func TestCreateUser(t *testing.T) {
	// Outcome by actor role and the new user's role, in the order user,
	// service, dba, system.
	grid := map[Role]string{
		RoleUser:    "DDDS",
		RoleService: "DDDS",
		RoleDBA:     "...S",
		RoleSystem:  "....",
	}
	var cases []userChangeCase
	for _, actorRole := range allRoles {
		for i, newRole := range allRoles {
			cases = append(cases, userChangeCase{
				name:   fmt.Sprintf("create/%s/%s", actorRole, newRole),
				actor:  actorRole,
				target: Subject{Role: newRole, Name: otherName},
				change: UserChange{Create: true, Password: true, Email: true, AllowRemote: true},
				// The count does not matter for CREATE USER.
				systems: 1, outcome: grid[actorRole][i], denyFormat: "permission denied to create user",
			})
		}
	}

	// A NewRole given with Create is checked as well.
	cases = append(cases, userChangeCase{
		name: "create/dba/user-with-new-role-system", actor: RoleDBA, target: Subject{Role: RoleUser, Name: otherName},
		change: UserChange{Create: true, NewRole: rolePtr(RoleSystem)}, systems: 1,
		outcome: outNeedsSystem, denyFormat: "permission denied to create user",
	})
	runUserChangeCases(t, cases)
}

func TestDropUser(t *testing.T) {
	// Outcome by actor role and the target's role, in the order user,
	// service, dba, system, with two active system users.
	grid := map[Role]string{
		RoleUser:    "DDDS",
		RoleService: "DDDS",
		RoleDBA:     "...S",
		RoleSystem:  "....",
	}
	const denied = `permission denied to drop user "bob"`
	var cases []userChangeCase
	for _, actorRole := range allRoles {
		for i, targetRole := range allRoles {
			cases = append(cases, userChangeCase{
				name:  fmt.Sprintf("drop/%s/other-%s", actorRole, targetRole),
				actor: actorRole, target: other(targetRole), change: UserChange{Drop: true},
				systems: 2, outcome: grid[actorRole][i], denyFormat: denied,
			})
		}
		cases = append(cases, userChangeCase{
			name:  fmt.Sprintf("drop/%s/self", actorRole),
			actor: actorRole, target: actor(actorRole), change: UserChange{Drop: true},
			systems: 2, outcome: outDropSelf,
		})
	}

	cases = append(cases,
		userChangeCase{name: "drop/system/last-system", actor: RoleSystem, target: other(RoleSystem),
			change: UserChange{Drop: true}, systems: 1, outcome: outLastSystem},
		userChangeCase{name: "drop/system/no-active-system", actor: RoleSystem, target: other(RoleSystem),
			change: UserChange{Drop: true}, systems: 0, outcome: outLastSystem},
		userChangeCase{name: "drop/system/last-system-self", actor: RoleSystem, target: actor(RoleSystem),
			change: UserChange{Drop: true}, systems: 1, outcome: outDropSelf},
		// The role rule comes before the count.
		userChangeCase{name: "drop/dba/last-system", actor: RoleDBA, target: other(RoleSystem),
			change: UserChange{Drop: true}, systems: 1, outcome: outNeedsSystem, denyFormat: denied},
		// The count matters only for system targets.
		userChangeCase{name: "drop/system/dba-without-system-users", actor: RoleSystem, target: other(RoleDBA),
			change: UserChange{Drop: true}, systems: 1, outcome: outAllowed},
	)
	runUserChangeCases(t, cases)
}

func TestAlterUserFields(t *testing.T) {
	// Outcome of changing another user's field, by actor role and the
	// target's role in the order user, service, dba, system.
	otherGrid := map[Role]string{
		RoleUser:    "DDDS",
		RoleService: "DDDS",
		RoleDBA:     "...S",
		RoleSystem:  "....",
	}
	// Outcome of changing one's own field, by actor role.
	selfGrid := map[string]map[Role]byte{
		"password":     {RoleUser: '.', RoleService: '.', RoleDBA: '.', RoleSystem: '.'},
		"email":        {RoleUser: '.', RoleService: '.', RoleDBA: '.', RoleSystem: '.'},
		"allow-remote": {RoleUser: 'D', RoleService: 'D', RoleDBA: '.', RoleSystem: '.'},
	}
	fields := map[string]UserChange{
		"password":     {Password: true},
		"email":        {Email: true},
		"allow-remote": {AllowRemote: true},
	}

	var cases []userChangeCase
	for field, change := range fields {
		for _, actorRole := range allRoles {
			for i, targetRole := range allRoles {
				cases = append(cases, userChangeCase{
					name:  fmt.Sprintf("alter-%s/%s/other-%s", field, actorRole, targetRole),
					actor: actorRole, target: other(targetRole), change: change, systems: 2,
					outcome: otherGrid[actorRole][i], denyFormat: `permission denied to alter user "bob"`,
				})
			}
			cases = append(cases, userChangeCase{
				name:  fmt.Sprintf("alter-%s/%s/self", field, actorRole),
				actor: actorRole, target: actor(actorRole), change: change, systems: 2,
				outcome: selfGrid[field][actorRole], denyFormat: `permission denied to alter user "alice"`,
			})
		}
	}

	cases = append(cases,
		userChangeCase{name: "alter-password-email/user/self", actor: RoleUser, target: actor(RoleUser),
			change: UserChange{Password: true, Email: true}, systems: 1, outcome: outAllowed},
		userChangeCase{name: "alter-password-allow-remote/user/self", actor: RoleUser, target: actor(RoleUser),
			change: UserChange{Password: true, AllowRemote: true}, systems: 1,
			outcome: outNeedsDBA, denyFormat: `permission denied to alter user "alice"`},
		userChangeCase{name: "alter-nothing/service/other-user", actor: RoleService, target: other(RoleUser),
			systems: 1, outcome: outNeedsDBA, denyFormat: `permission denied to alter user "bob"`},
		// Changing fields other than the role never demotes.
		userChangeCase{name: "alter-password/system/last-system", actor: RoleSystem, target: other(RoleSystem),
			change: UserChange{Password: true}, systems: 1, outcome: outAllowed},
	)
	runUserChangeCases(t, cases)
}

func TestAlterUserRole(t *testing.T) {
	// Outcome of setting another user's role, by actor role, then the
	// target's current role (rows user, service, dba, system), then the new
	// role (columns in the same order), with two active system users.
	otherGrid := map[Role][4]string{
		RoleUser:    {"DDDS", "DDDS", "DDDS", "SSSS"},
		RoleService: {"DDDS", "DDDS", "DDDS", "SSSS"},
		RoleDBA:     {"...S", "...S", "...S", "SSSS"},
		RoleSystem:  {"....", "....", "....", "...."},
	}
	// Outcome of setting one's own role, by actor role and the new role.
	selfGrid := map[Role]string{
		RoleUser:    "ddds",
		RoleService: "ddds",
		RoleDBA:     "ddds",
		RoleSystem:  "ssss",
	}

	var cases []userChangeCase
	for _, actorRole := range allRoles {
		for i, targetRole := range allRoles {
			for j, newRole := range allRoles {
				cases = append(cases, userChangeCase{
					name:  fmt.Sprintf("alter-role/%s/other-%s-to-%s", actorRole, targetRole, newRole),
					actor: actorRole, target: other(targetRole), change: UserChange{NewRole: rolePtr(newRole)},
					systems: 2, outcome: otherGrid[actorRole][i][j], denyFormat: `permission denied to alter user "bob"`,
				})
			}
		}
		for j, newRole := range allRoles {
			cases = append(cases, userChangeCase{
				name:  fmt.Sprintf("alter-role/%s/self-to-%s", actorRole, newRole),
				actor: actorRole, target: actor(actorRole), change: UserChange{NewRole: rolePtr(newRole)},
				systems: 2, outcome: selfGrid[actorRole][j],
			})
		}
	}

	// Demoting the last active system user, by the outcome per new role.
	lastGrid := "LLL."
	for j, newRole := range allRoles {
		cases = append(cases, userChangeCase{
			name:  fmt.Sprintf("alter-role/system/last-system-to-%s", newRole),
			actor: RoleSystem, target: other(RoleSystem), change: UserChange{NewRole: rolePtr(newRole)},
			systems: 1, outcome: lastGrid[j],
		})
	}
	cases = append(cases,
		userChangeCase{name: "alter-role/dba/last-system-to-user", actor: RoleDBA, target: other(RoleSystem),
			change: UserChange{NewRole: rolePtr(RoleUser)}, systems: 1,
			outcome: outNeedsSystem, denyFormat: `permission denied to alter user "bob"`},
		userChangeCase{name: "alter-role/system/self-last-system", actor: RoleSystem, target: actor(RoleSystem),
			change: UserChange{NewRole: rolePtr(RoleUser)}, systems: 1, outcome: outOwnRoleSys},
	)
	runUserChangeCases(t, cases)
}

func TestUserChangeInvalidInput(t *testing.T) {
	assertInternal(t, CheckUserChange(actor(RoleSystem), other(RoleUser), UserChange{Create: true, Drop: true}, 2))
	assertInternal(t, CheckUserChange(Subject{}, other(RoleUser), UserChange{Drop: true}, 2))
	assertInternal(t, CheckUserChange(actor(RoleSystem), other(0), UserChange{Drop: true}, 2))
	assertInternal(t, CheckUserChange(actor(RoleSystem), other(RoleUser), UserChange{NewRole: rolePtr(0)}, 2))
}

func TestParseRole(t *testing.T) {
	for _, role := range allRoles {
		got, err := ParseRole(role.String())
		if err != nil || got != role {
			t.Errorf("ParseRole(%q) = %v, %v, want %v", role.String(), got, err, role)
		}
	}
	if got, err := ParseRole("DBA"); err != nil || got != RoleDBA {
		t.Errorf(`ParseRole("DBA") = %v, %v, want dba`, got, err)
	}

	pe := assertError(t, mustFail(ParseRole("root")), pgcode.InvalidParameterValue, `invalid value for role: "root"`, "")
	if want := "Valid roles are user, service, dba and system."; pe.Hint != want {
		t.Errorf("hint = %q, want %q", pe.Hint, want)
	}
}

func TestParseTableKind(t *testing.T) {
	for _, kind := range []TableKind{KindUser, KindShared, KindStream, KindSystem} {
		got, err := ParseTableKind(kind.String())
		if err != nil || got != kind {
			t.Errorf("ParseTableKind(%q) = %v, %v, want %v", kind.String(), got, err, kind)
		}
	}
	if got, err := ParseTableKind("Shared"); err != nil || got != KindShared {
		t.Errorf(`ParseTableKind("Shared") = %v, %v, want shared`, got, err)
	}

	for _, name := range []string{"", "temp", "systems"} {
		pe := assertError(t, mustFail(ParseTableKind(name)), pgcode.InvalidParameterValue,
			fmt.Sprintf(`invalid value for type: "%s"`, name), "")
		if want := "Valid table types are user, shared and stream."; pe.Hint != want {
			t.Errorf("hint = %q, want %q", pe.Hint, want)
		}
	}
}

func TestParseAccessLevel(t *testing.T) {
	for _, level := range allLevels {
		got, err := ParseAccessLevel(level.String())
		if err != nil || got != level {
			t.Errorf("ParseAccessLevel(%q) = %v, %v, want %v", level.String(), got, err, level)
		}
	}
	if got, err := ParseAccessLevel("RESTRICTED"); err != nil || got != AccessRestricted {
		t.Errorf(`ParseAccessLevel("RESTRICTED") = %v, %v, want restricted`, got, err)
	}

	pe := assertError(t, mustFail(ParseAccessLevel("secret")), pgcode.InvalidParameterValue,
		`invalid value for access_level: "secret"`, "")
	if want := "Valid access levels are public, private and restricted."; pe.Hint != want {
		t.Errorf("hint = %q, want %q", pe.Hint, want)
	}
}

func mustFail[T any](_ T, err error) error { return err }

func TestEnumStrings(t *testing.T) {
	cases := []struct{ got, want string }{
		{RoleUser.String(), "user"},
		{RoleService.String(), "service"},
		{RoleDBA.String(), "dba"},
		{RoleSystem.String(), "system"},
		{Role(0).String(), "Role(0)"},
		{KindUser.String(), "user"},
		{KindShared.String(), "shared"},
		{KindStream.String(), "stream"},
		{KindSystem.String(), "system"},
		{TableKind(9).String(), "TableKind(9)"},
		{AccessPublic.String(), "public"},
		{AccessPrivate.String(), "private"},
		{AccessRestricted.String(), "restricted"},
		{AccessLevel(0).String(), "AccessLevel(0)"},
		{OpSelect.String(), "select"},
		{OpRestoreUser.String(), "restore user"},
		{Operation(0).String(), "Operation(0)"},
	}
	for _, tc := range cases {
		if tc.got != tc.want {
			t.Errorf("String() = %q, want %q", tc.got, tc.want)
		}
	}
	if !(RoleUser < RoleService && RoleService < RoleDBA && RoleDBA < RoleSystem) {
		t.Error("roles are not ordered by privilege")
	}
}
