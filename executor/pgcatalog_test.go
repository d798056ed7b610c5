package executor

import (
	"strings"
	"testing"
)

// newCatalogFixture creates a small schema: two tables with serial keys,
// a unique constraint, a unique index and a view, plus the user bob.
func newCatalogFixture(t *testing.T) (*Server, *Session) {
	t.Helper()
	srv := newTestServer(t)
	root := newTestSession(t, srv, "root")
	run(t, root, "CREATE TABLE authors (id serial PRIMARY KEY, name varchar(100) NOT NULL, email varchar(200) UNIQUE) WITH (access_level = 'public')")
	run(t, root, "CREATE TABLE books (id serial PRIMARY KEY, author_id integer NOT NULL, title text NOT NULL, price numeric(10,2) DEFAULT 0)")
	run(t, root, "CREATE UNIQUE INDEX books_title_idx ON books (title)")
	run(t, root, "CREATE VIEW cheap_books AS SELECT id, title FROM books WHERE price < 10")
	run(t, root, "CREATE USER bob WITH PASSWORD 'Bob-pass-123' ROLE user")
	return srv, root
}

func TestCatalogTablesReadable(t *testing.T) {
	_, root := newCatalogFixture(t)
	for _, ct := range catalogTableList {
		if len(catalogColumnLists[ct.schema+"."+ct.name]) == 0 {
			t.Errorf("%s.%s has no columns", ct.schema, ct.name)
			continue
		}
		run(t, root, "SELECT * FROM "+ct.schema+"."+ct.name)
	}
}

func TestPgClassRelkinds(t *testing.T) {
	_, root := newCatalogFixture(t)
	got := run(t, root, `SELECT c.relname, c.relkind, c.relhasindex, c.relam, n.nspname
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' ORDER BY 1`)
	expectLines(t, got, "cols: relname,relkind,relhasindex,relam,nspname",
		"authors|r|t|2|public", "authors_email_key|i|f|403|public", "authors_id_seq|S|f|0|public", "authors_pkey|i|f|403|public",
		"books|r|t|2|public", "books_id_seq|S|f|0|public", "books_pkey|i|f|403|public", "books_title_idx|i|f|403|public",
		"cheap_books|v|f|0|public", "tag: SELECT 9")

	// A table's OID is its table ID, so it survives restarts.
	id := run(t, root, "SELECT table_id FROM system.tables WHERE name = 'books'")[1]
	expectLines(t, run(t, root, "SELECT oid FROM pg_class WHERE relname = 'books'"), "cols: oid", id, "tag: SELECT 1")
	expectLines(t, run(t, root, "SELECT 'books'::regclass::oid = "+id), "cols: ?column?", "t", "tag: SELECT 1")
}

func TestPgAttributeColumns(t *testing.T) {
	_, root := newCatalogFixture(t)
	got := run(t, root, `SELECT a.attnum, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
		(SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true) FROM pg_catalog.pg_attrdef d
		 WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef), a.attidentity
		FROM pg_catalog.pg_attribute a WHERE a.attrelid = 'books'::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`)
	expectLines(t, got, "cols: attnum,attname,format_type,attnotnull,pg_get_expr,attidentity",
		"1|id|integer|t|nextval('books_id_seq'::regclass)|",
		"2|author_id|integer|t|NULL|",
		"3|title|text|t|NULL|",
		"4|price|numeric(10,2)|f|0|",
		"tag: SELECT 4")
}

func TestPgIndexAndConstraints(t *testing.T) {
	_, root := newCatalogFixture(t)
	got := run(t, root, `SELECT c2.relname, i.indisprimary, i.indisunique, i.indkey, pg_catalog.pg_get_indexdef(i.indexrelid, 0, true),
		pg_catalog.pg_get_constraintdef(con.oid, true), contype
		FROM pg_catalog.pg_class c, pg_catalog.pg_class c2, pg_catalog.pg_index i
		LEFT JOIN pg_catalog.pg_constraint con ON (conrelid = i.indrelid AND conindid = i.indexrelid AND contype IN ('p','u','x'))
		WHERE c.oid = 'authors'::regclass AND c.oid = i.indrelid AND i.indexrelid = c2.oid
		ORDER BY i.indisprimary DESC, c2.relname`)
	expectLines(t, got, "cols: relname,indisprimary,indisunique,indkey,pg_get_indexdef,pg_get_constraintdef,contype",
		"authors_pkey|t|t|1|CREATE UNIQUE INDEX authors_pkey ON authors USING btree (id)|PRIMARY KEY (id)|p",
		"authors_email_key|f|t|3|CREATE UNIQUE INDEX authors_email_key ON authors USING btree (email)|UNIQUE (email)|u",
		"tag: SELECT 2")
	// A plain unique index has no constraint row.
	expectLines(t, run(t, root, "SELECT count(*) FROM pg_constraint WHERE conname = 'books_title_idx'"), "cols: count", "0", "tag: SELECT 1")
	expectLines(t, run(t, root, "SELECT conkey FROM pg_constraint WHERE conname = 'books_pkey'"), "cols: conkey", "{1}", "tag: SELECT 1")
}

func TestPgRolesFilteredByRole(t *testing.T) {
	srv, root := newCatalogFixture(t)
	expectLines(t, run(t, root, "SELECT rolname, rolsuper, rolcreaterole, rolpassword FROM pg_roles ORDER BY 1"),
		"cols: rolname,rolsuper,rolcreaterole,rolpassword", "bob|f|f|********", "root|t|t|********", "tag: SELECT 2")
	bob := newTestSession(t, srv, "bob")
	expectLines(t, run(t, bob, "SELECT rolname FROM pg_roles"), "cols: rolname", "bob", "tag: SELECT 1")
	expectLines(t, run(t, bob, "SELECT usename, passwd FROM pg_user"), "cols: usename,passwd", "bob|********", "tag: SELECT 1")
	expectLines(t, run(t, root, "SELECT rolname, rolpassword FROM pg_authid WHERE rolname = 'bob'"),
		"cols: rolname,rolpassword", "bob|NULL", "tag: SELECT 1")
	for _, table := range []string{"pg_roles", "pg_user", "pg_authid"} {
		for _, line := range run(t, root, "SELECT * FROM "+table) {
			if strings.Contains(line, "bcrypt:") || strings.Contains(line, "scram:") || strings.Contains(line, "SCRAM-SHA-256$") {
				t.Errorf("%s exposes a password hash: %s", table, line)
			}
		}
	}
}

func TestInformationSchemaFiltersByAccess(t *testing.T) {
	srv, root := newCatalogFixture(t)
	const q = "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"
	expectLines(t, run(t, root, q), "cols: table_name,table_type",
		"authors|BASE TABLE", "books|BASE TABLE", "cheap_books|VIEW", "tag: SELECT 3")
	// books is a private shared table, which a user role may not read, and
	// so is the view over it.
	bob := newTestSession(t, srv, "bob")
	expectLines(t, run(t, bob, q), "cols: table_name,table_type", "authors|BASE TABLE", "tag: SELECT 1")
	expectLines(t, run(t, bob, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'books'"), "cols: count", "0", "tag: SELECT 1")

	expectLines(t, run(t, root, `SELECT column_name, data_type, character_maximum_length, numeric_precision, numeric_scale, is_nullable
		FROM information_schema.columns WHERE table_name = 'authors' OR table_name = 'books' AND column_name = 'price' ORDER BY table_name, ordinal_position`),
		"cols: column_name,data_type,character_maximum_length,numeric_precision,numeric_scale,is_nullable",
		"id|integer|NULL|32|0|NO", "name|character varying|100|NULL|NULL|NO", "email|character varying|200|NULL|NULL|YES",
		"price|numeric|NULL|10|2|YES", "tag: SELECT 4")
	expectLines(t, run(t, root, `SELECT tc.constraint_name, tc.constraint_type, k.column_name, k.ordinal_position
		FROM information_schema.table_constraints tc JOIN information_schema.key_column_usage k ON k.constraint_name = tc.constraint_name
		WHERE tc.table_name = 'authors' ORDER BY 1`),
		"cols: constraint_name,constraint_type,column_name,ordinal_position",
		"authors_email_key|UNIQUE|email|1", "authors_pkey|PRIMARY KEY|id|1", "tag: SELECT 2")
}

func TestRegCasts(t *testing.T) {
	_, root := newCatalogFixture(t)
	expectLines(t, run(t, root, `SELECT 'public.books'::regclass::text, 'int4'::regtype::text, 'varchar(3)'::regtype::text,
		'pg_catalog'::regnamespace::oid, '0'::regclass::text, 'pg_class'::regclass::oid = (SELECT oid FROM pg_class WHERE relname = 'pg_class')`),
		"cols: text,text,text,oid,text,?column?", "books|integer|character varying|4|-|t", "tag: SELECT 1")
	for sql, code := range map[string]string{
		"SELECT 'nosuch'::regclass":           "42P01",
		"SELECT 'nosuch'::regtype":            "42704",
		"SELECT 'nosuch'::regnamespace":       "3F000",
		"SELECT 1 WHERE 'a' = 'a' COLLATE de": "42704",
	} {
		if e := runErr(t, root, sql); string(e.Code) != code {
			t.Errorf("%s: %s %q, want %s", sql, e.Code, e.Message, code)
		}
	}
}

func TestPgCatalogSearchedFirst(t *testing.T) {
	_, root := newCatalogFixture(t)
	run(t, root, "CREATE TABLE pg_am (id int PRIMARY KEY)")
	// PostgreSQL finds pg_catalog.pg_am before public.pg_am.
	expectLines(t, run(t, root, "SELECT amname FROM pg_am ORDER BY 1"), "cols: amname", "btree", "heap", "tag: SELECT 2")
	expectLines(t, run(t, root, "SELECT count(*) FROM public.pg_am"), "cols: count", "0", "tag: SELECT 1")
	expectLines(t, run(t, root, "SELECT pg_table_is_visible('public.pg_am'::regclass), pg_table_is_visible('books'::regclass)"),
		"cols: pg_table_is_visible,pg_table_is_visible", "f|t", "tag: SELECT 1")
}

func TestCatalogArrayExpressions(t *testing.T) {
	_, root := newCatalogFixture(t)
	expectLines(t, run(t, root, `SELECT ARRAY(SELECT relname FROM pg_class WHERE relname LIKE 'author%' ORDER BY 1)::text,
		pg_catalog.array_to_string(ARRAY(SELECT amname FROM pg_am ORDER BY 1), ','),
		2 = ANY('{1,2}'::int4[]), 3 = ANY('{1,2}'::int4[]), 'x' = ALL('{x,x}'::text[]),
		('{a,b}'::text[] || ARRAY(SELECT 'c'))[3], current_schemas(true)::text, '{"a b",NULL}'::text[]::text`),
		"cols: array,array_to_string,?column?,?column?,?column?,?column?,current_schemas,text",
		`{authors,authors_email_key,authors_id_seq,authors_pkey}|btree,heap|t|f|t|c|{pg_catalog,public}|{"a b",NULL}`, "tag: SELECT 1")
	expectLines(t, run(t, root, `SELECT a.attname FROM pg_index i, pg_attribute a
		WHERE i.indrelid = 'authors'::regclass AND i.indisprimary AND a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)`),
		"cols: attname", "id", "tag: SELECT 1")
	expectLines(t, run(t, root, "SELECT s, u.x, u.n FROM generate_series(1, 2) s, unnest('{a,b}'::text[]) WITH ORDINALITY AS u(x, n) ORDER BY 1, 3"),
		"cols: s,x,n", "1|a|1", "1|b|2", "2|a|1", "2|b|2", "tag: SELECT 4")
	expectLines(t, run(t, root, `SELECT r.relname, (SELECT count(*) FROM pg_catalog.pg_partition_ancestors(r.oid) a(relid) WHERE a.relid = r.oid)
		FROM pg_class r WHERE r.relname IN ('authors', 'books') ORDER BY 1`),
		"cols: relname,count", "authors|1", "books|1", "tag: SELECT 2")
}

func TestCatalogFunctions(t *testing.T) {
	srv, root := newCatalogFixture(t)
	expectLines(t, run(t, root, `SELECT pg_get_userbyid(1), pg_get_userbyid(999), pg_encoding_to_char(6),
		pg_get_serial_sequence('books', 'id'), pg_get_serial_sequence('books', 'title'), obj_description(1, 'pg_class'),
		pg_size_pretty(0::int8), pg_size_pretty(10240::int8), pg_size_pretty(123456789::int8), format_type(1009, -1), format_type(1043, 24)`),
		"cols: pg_get_userbyid,pg_get_userbyid,pg_encoding_to_char,pg_get_serial_sequence,pg_get_serial_sequence,obj_description,pg_size_pretty,pg_size_pretty,pg_size_pretty,format_type,format_type",
		"root|unknown (OID=999)|UTF8|public.books_id_seq|NULL|NULL|0 bytes|10 kB|118 MB|text[]|character varying(20)", "tag: SELECT 1")
	expectLines(t, run(t, root, "SELECT relname FROM pg_class WHERE relname OPERATOR(pg_catalog.~) '^(books)$' COLLATE pg_catalog.default"),
		"cols: relname", "books", "tag: SELECT 1")

	bob := newTestSession(t, srv, "bob")
	expectLines(t, run(t, bob, `SELECT has_table_privilege('books', 'SELECT'), has_table_privilege('authors', 'SELECT'),
		has_table_privilege('authors', 'INSERT'), has_schema_privilege('public', 'USAGE'), has_schema_privilege('public', 'CREATE')`),
		"cols: has_table_privilege,has_table_privilege,has_table_privilege,has_schema_privilege,has_schema_privilege", "f|t|f|t|f", "tag: SELECT 1")
	expectLines(t, run(t, root, "SELECT has_table_privilege('bob', 'books', 'select'), has_table_privilege('books', 'select')"),
		"cols: has_table_privilege,has_table_privilege", "f|t", "tag: SELECT 1")
	if e := runErr(t, root, "SELECT has_table_privilege('books', 'fly')"); e.Code != "22023" {
		t.Errorf("unknown privilege: %s %q, want 22023", e.Code, e.Message)
	}
}

func TestPgStatActivitySessions(t *testing.T) {
	srv, root := newCatalogFixture(t)
	bob := newTestSession(t, srv, "bob")
	expectLines(t, run(t, root, "SELECT usename, state FROM pg_stat_activity ORDER BY 1"),
		"cols: usename,state", "bob|idle", "root|active", "tag: SELECT 2")
	expectLines(t, run(t, bob, "SELECT usename FROM pg_stat_activity"), "cols: usename", "bob", "tag: SELECT 1")
	bob.Close()
	expectLines(t, run(t, root, "SELECT usename FROM pg_stat_activity"), "cols: usename", "root", "tag: SELECT 1")
}

func TestPgSettingsFromSession(t *testing.T) {
	_, root := newCatalogFixture(t)
	run(t, root, "SET application_name = 'catalog-test'")
	expectLines(t, run(t, root, "SELECT setting FROM pg_settings WHERE name = 'application_name'"), "cols: setting", "catalog-test", "tag: SELECT 1")
}

func TestPgTypeArrays(t *testing.T) {
	_, root := newCatalogFixture(t)
	expectLines(t, run(t, root, `SELECT t.typname, t.typcategory, e.typname FROM pg_type t LEFT JOIN pg_type e ON e.oid = t.typelem
		WHERE t.oid IN (23, 1007, 1043, 2205) ORDER BY t.oid`),
		"cols: typname,typcategory,typname", "int4|N|NULL", "_int4|A|int4", "varchar|S|NULL", "regclass|N|NULL", "tag: SELECT 4")
	// SQLAlchemy's hstore probe needs an empty result.
	expectLines(t, run(t, root, "SELECT t.oid, typarray FROM pg_type t JOIN pg_namespace ns ON typnamespace = ns.oid WHERE typname = 'hstore'"),
		"cols: oid,typarray", "tag: SELECT 0")
}

func TestPgClassHidesOtherSessionsTempTables(t *testing.T) {
	srv := newTestServer(t)
	a, b := newTestSession(t, srv, "root"), newTestSession(t, srv, "root")
	run(t, a, "CREATE TEMP TABLE scratch (id int)")
	expectLines(t, run(t, a, "SELECT count(*) FROM pg_class WHERE relname = 'scratch'"), "cols: count", "1", "tag: SELECT 1")
	expectLines(t, run(t, b, "SELECT count(*) FROM pg_class WHERE relname = 'scratch'"), "cols: count", "0", "tag: SELECT 1")
}

func TestConstraintViewsFilterByAccess(t *testing.T) {
	srv, root := newCatalogFixture(t)
	run(t, root, `CREATE TABLE reviews (id int PRIMARY KEY, book_id int REFERENCES books (id), author_id int REFERENCES authors (id),
		stars int CHECK (stars BETWEEN 1 AND 5)) WITH (access_level = 'public')`)
	bob := newTestSession(t, srv, "bob")

	// bob reads reviews and authors but not books, so the view lists no
	// constraint of books and no column of books that a foreign key uses.
	const usage = `SELECT table_name, column_name, constraint_name FROM information_schema.constraint_column_usage
		WHERE constraint_name LIKE 'reviews%' ORDER BY 1, 2, 3`
	expectLines(t, run(t, root, usage), "cols: table_name,column_name,constraint_name",
		"authors|id|reviews_author_id_fkey", "books|id|reviews_book_id_fkey", "reviews|id|reviews_pkey", "reviews|stars|reviews_stars_check", "tag: SELECT 4")
	expectLines(t, run(t, bob, usage), "cols: table_name,column_name,constraint_name",
		"authors|id|reviews_author_id_fkey", "reviews|id|reviews_pkey", "reviews|stars|reviews_stars_check", "tag: SELECT 3")

	for _, view := range []string{"table_constraints", "key_column_usage", "constraint_column_usage", "constraint_table_usage"} {
		q := "SELECT count(*) FROM information_schema." + view + " WHERE table_name = 'books'"
		expectLines(t, run(t, bob, q), "cols: count", "0", "tag: SELECT 1")
	}
	expectLines(t, run(t, bob, "SELECT count(*) FROM information_schema.check_constraints WHERE check_clause = 'title IS NOT NULL'"),
		"cols: count", "0", "tag: SELECT 1")

	const fks = `SELECT constraint_name, unique_constraint_name, match_option, update_rule, delete_rule
		FROM information_schema.referential_constraints ORDER BY 1`
	expectLines(t, run(t, bob, fks), "cols: constraint_name,unique_constraint_name,match_option,update_rule,delete_rule",
		"reviews_author_id_fkey|authors_pkey|NONE|NO ACTION|NO ACTION", "reviews_book_id_fkey|books_pkey|NONE|NO ACTION|NO ACTION", "tag: SELECT 2")
	expectLines(t, run(t, bob, "SELECT check_clause FROM information_schema.check_constraints WHERE constraint_name = 'reviews_stars_check'"),
		"cols: check_clause", "(((stars >= 1) AND (stars <= 5)))", "tag: SELECT 1")
}
