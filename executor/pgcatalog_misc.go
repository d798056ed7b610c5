package executor

import (
	"sort"

	"github.com/pgkeep/pgkeep/catalog"
)

func pgTypeRows(_ *evalContext, out *catalogRows) error {
	for _, t := range builtinTypes {
		out.add(map[string]any{
			"oid": int64(t.oid), "typname": t.name, "typnamespace": int64(catalog.PgCatalogSchemaID),
			"typowner": int64(catalog.RootUserID), "typlen": int64(t.length), "typbyval": t.byValue,
			"typtype": string(t.kind), "typcategory": string(t.category), "typispreferred": t.preferred,
			"typisdefined": true, "typdelim": string(t.delimiter), "typelem": int64(t.elem), "typarray": int64(t.array),
			"typinput": t.input, "typoutput": t.output, "typreceive": t.receive, "typsend": t.send,
			"typalign": string(t.align), "typstorage": string(t.storage), "typtypmod": int64(-1),
			"typcollation": int64(t.collation),
			// typsubscript, typmodin and friends are regproc; 0 prints as "-".
			"typsubscript": "-", "typmodin": "-", "typmodout": "-", "typanalyze": "-",
		})
	}
	return nil
}

// pgRolesRows lists the users as roles for pg_roles and pg_user, whose
// password columns show "********" as in PostgreSQL.
func pgRolesRows(ec *evalContext, out *catalogRows) error {
	return roleRows(ec, out, "********")
}

// pgAuthidRows lists the users for pg_authid, with rolpassword NULL: no
// table ever shows a password hash or SCRAM verifier.
func pgAuthidRows(ec *evalContext, out *catalogRows) error {
	return roleRows(ec, out, nil)
}

// roleRows lists the users as roles: every user for dba and system, only
// the acting user for user and service, like system.users.
func roleRows(ec *evalContext, out *catalogRows, password any) error {
	actor := ec.actor()
	seeAll := actor.Role == catalog.RoleDBA || actor.Role == catalog.RoleSystem
	users, err := ec.sess.srv.cat.Users(ec.sess.txn.kv)
	if err != nil {
		return err
	}
	for _, u := range users {
		if !u.Active() || (!seeAll && u.ID != actor.ID) {
			continue
		}
		super := u.Role == catalog.RoleSystem
		createRole := u.Role == catalog.RoleDBA || super
		out.addPresent(map[string]any{
			// pg_roles and pg_authid
			"oid": int64(u.ID), "rolname": u.Name, "rolsuper": super, "rolinherit": true, "rolcreaterole": createRole,
			"rolcreatedb": createRole, "rolcanlogin": true, "rolconnlimit": int64(-1), "rolpassword": password,
			// pg_user
			"usename": u.Name, "usesysid": int64(u.ID), "usecreatedb": createRole, "usesuper": super, "passwd": password,
		})
	}
	return nil
}

func pgDatabaseRows(ec *evalContext, out *catalogRows) error {
	db, err := ec.sess.srv.cat.Database(ec.sess.txn.kv)
	if err != nil {
		return err
	}
	out.add(map[string]any{
		"oid": int64(db.ID), "datname": ec.sess.database, "datdba": int64(catalog.RootUserID), "encoding": int64(6),
		"datlocprovider": "c", "datallowconn": true, "datconnlimit": int64(-1), "datcollate": "C.UTF-8", "datctype": "C.UTF-8",
		// pg_default, the only row of pg_tablespace.
		"dattablespace": int64(1663),
	})
	return nil
}

// sortedBuiltinNames returns the builtin function names in order.
func sortedBuiltinNames() []string {
	seen := map[string]bool{}
	var names []string
	for _, table := range builtinTables {
		for name := range table {
			if !seen[name] {
				seen[name] = true
				names = append(names, name)
			}
		}
	}
	sort.Strings(names)
	return names
}

// builtinProc is one overload of a builtin as pg_proc lists it.
type builtinProc struct {
	oid  int64
	name string
	fn   *builtin
}

// builtinProcs numbers the builtin overloads in name order, from 0x20000000.
func builtinProcs() []builtinProc {
	var out []builtinProc
	for _, name := range sortedBuiltinNames() {
		overloads := lookupBuiltin(name)
		for i := range overloads {
			out = append(out, builtinProc{oid: int64(0x20000000 + len(out)), name: name, fn: &overloads[i]})
		}
	}
	return out
}

func pgProcRows(_ *evalContext, out *catalogRows) error {
	for _, p := range builtinProcs() {
		args := make([]any, len(p.fn.argTypes))
		for i, oid := range p.fn.argTypes {
			if oid == 0 {
				oid = oidAnyarray
			}
			args[i] = int64(oid)
		}
		volatility := "i"
		if p.fn.volatile {
			volatility = "v"
		}
		out.add(map[string]any{
			"oid": p.oid, "proname": p.name, "pronamespace": int64(catalog.PgCatalogSchemaID), "proowner": int64(catalog.RootUserID),
			"prolang": int64(12), "procost": float64(1), "prokind": "f", "proisstrict": p.fn.strict, "provolatile": volatility,
			"proparallel": "s", "pronargs": int64(len(args)), "prorettype": int64(procResultType(p.fn)),
			"proargtypes": oidList(args), "prosrc": p.name, "provariadic": int64(0),
			"prosupport": "-",
		})
	}
	return nil
}

// procResultType is the result type of a builtin for its declared
// argument types, or 0 when it depends on the arguments.
func procResultType(fn *builtin) (oid uint32) {
	defer func() {
		if recover() != nil {
			oid = 0
		}
	}()
	args := make([]expr, len(fn.argTypes))
	for i, t := range fn.argTypes {
		args[i] = &constExpr{typ: plainType(t)}
	}
	return fn.result(args).OID
}

func oidList(ids []any) string {
	out := make([]uint32, len(ids))
	for i, v := range ids {
		out[i] = uint32(v.(int64))
	}
	return int2vector(out)
}

func pgAmRows(_ *evalContext, out *catalogRows) error {
	out.add(map[string]any{"oid": int64(amHeap), "amname": "heap", "amhandler": "heap_tableam_handler", "amtype": "t"})
	out.add(map[string]any{"oid": int64(amBtree), "amname": "btree", "amhandler": "bthandler", "amtype": "i"})
	return nil
}

// pgLanguageRows lists PostgreSQL 15's built-in languages with their
// OIDs and validator functions. pgkeep's functions are all internal
// (prolang 12), and it has no procedural language, so plpgsql is absent.
func pgLanguageRows(_ *evalContext, out *catalogRows) error {
	for _, l := range []struct {
		oid, validator int64
		name           string
		trusted        bool
	}{{12, 2246, "internal", false}, {13, 2247, "c", false}, {14, 2248, "sql", true}} {
		out.add(map[string]any{
			"oid": l.oid, "lanname": l.name, "lanowner": int64(catalog.RootUserID), "lanpltrusted": l.trusted, "lanvalidator": l.validator,
		})
	}
	return nil
}

func pgCollationRows(_ *evalContext, out *catalogRows) error {
	common := map[string]any{"collnamespace": int64(catalog.PgCatalogSchemaID), "collowner": int64(catalog.RootUserID), "collisdeterministic": true, "collencoding": int64(-1)}
	for _, c := range []struct {
		oid      int64
		name     string
		provider string
		collate  any
	}{{collationDefault, "default", "d", nil}, {collationC, "C", "c", "C"}} {
		row := map[string]any{"oid": c.oid, "collname": c.name, "collprovider": c.provider, "collcollate": c.collate, "collctype": c.collate}
		for k, v := range common {
			row[k] = v
		}
		out.add(row)
	}
	return nil
}

func pgTablespaceRows(_ *evalContext, out *catalogRows) error {
	out.add(map[string]any{"oid": int64(1663), "spcname": "pg_default", "spcowner": int64(catalog.RootUserID)})
	return nil
}

func pgSettingsRows(ec *evalContext, out *catalogRows) error {
	for _, d := range settingDefs {
		context := "user"
		if d.readOnly {
			context = "internal"
		}
		value := ec.sess.settings.values[d.name]
		out.add(map[string]any{
			"name": d.name, "setting": value, "category": "Ungrouped", "context": context, "vartype": "string",
			"source": "default", "boot_val": d.def, "reset_val": d.def, "pending_restart": false,
		})
	}
	return nil
}
