#!/usr/bin/python3
"""psycopg2 client check, run by node/clients_e2e_test.go as an unprivileged
user with Debian's python3-psycopg2.

psycopg2.connect("") lets libpq read the PG* environment variables. The
script expects the empty table py_items (id int PRIMARY KEY, name text NOT
NULL, price numeric(10,2), created timestamptz) and exits non-zero on the
first failed check.
"""
import datetime
import decimal

import psycopg2
import psycopg2.errors
import psycopg2.extras


def expect_error(cur, sql, params, error_class):
    try:
        cur.execute(sql, params)
    except error_class as e:
        return e
    raise AssertionError(f"{sql}: no {error_class.__name__}")


conn = psycopg2.connect("")
cur = conn.cursor()

cur.execute("SELECT version()")
version = cur.fetchone()[0]
assert version.startswith("PostgreSQL "), version

# psycopg2 interpolates parameters on the client and sends simple queries.
cur.execute("SELECT %s::int8 + 1, %s::text, %s::numeric, %s::date", (41, "it's", decimal.Decimal("1.5"), "2024-01-02"))
assert cur.fetchone() == (42, "it's", decimal.Decimal("1.5"), datetime.date(2024, 1, 2))
assert [d.name for d in cur.description] == ["?column?", "text", "numeric", "date"], cur.description

created = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
cur.executemany(
    "INSERT INTO py_items (id, name, price, created) VALUES (%s, %s, %s, %s)",
    [(i, f"item {i}", decimal.Decimal(i) / 4, created) for i in range(1, 6)],
)
assert cur.rowcount == 5, cur.rowcount
conn.commit()

cur.execute("SELECT id, name, price, created FROM py_items WHERE id = %(id)s", {"id": 2})
assert cur.fetchone() == (2, "item 2", decimal.Decimal("0.50"), created)

# A rolled back transaction leaves no trace.
cur.execute("DELETE FROM py_items WHERE id > %s", (3,))
assert cur.rowcount == 2, cur.rowcount
conn.rollback()
cur.execute("SELECT count(*) FROM py_items")
assert cur.fetchone()[0] == 5

# An error aborts the transaction until rollback.
expect_error(cur, "SELECT 1 / %s", (0,), psycopg2.errors.DivisionByZero)
expect_error(cur, "SELECT 1", None, psycopg2.errors.InFailedSqlTransaction)
conn.rollback()
e = expect_error(cur, "INSERT INTO py_items (id, name) VALUES (%s, %s)", (1, "dup"), psycopg2.errors.UniqueViolation)
assert e.pgcode == "23505", e.pgcode
assert e.diag.constraint_name == "py_items_pkey", e.diag.constraint_name
conn.rollback()

# The context manager commits.
with conn:
    with conn.cursor() as c2:
        c2.execute("UPDATE py_items SET price = price * 2 WHERE id = %s", (4,))
        assert c2.rowcount == 1
cur.execute("SELECT price FROM py_items WHERE id = 4")
assert cur.fetchone()[0] == decimal.Decimal("2.00")

# DictCursor and execute_values, two common helpers.
dict_cur = conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor)
dict_cur.execute("SELECT id, name FROM py_items WHERE id IN %s ORDER BY id", ((1, 3),))
assert dict_cur.fetchall() == [{"id": 1, "name": "item 1"}, {"id": 3, "name": "item 3"}]
psycopg2.extras.execute_values(cur, "INSERT INTO py_items (id, name) VALUES %s", [(10, "ten"), (11, "eleven")])
conn.commit()
cur.execute("SELECT count(*) FROM py_items")
assert cur.fetchone()[0] == 7
conn.commit()

# Autocommit mode sends statements without BEGIN.
conn.autocommit = True
cur.execute("DELETE FROM py_items WHERE id >= 10")
assert cur.rowcount == 2
conn.close()
print("psycopg2: ok")
