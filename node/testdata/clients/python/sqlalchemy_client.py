#!/usr/bin/python3
"""SQLAlchemy 1.4 client check, run by node/clients_e2e_test.go with Debian's
python3-sqlalchemy over psycopg2.

The URL "postgresql+psycopg2://" names no host or user, so libpq reads the
PG* environment variables. The script runs as a user that may create tables
(the dba): metadata.create_all makes sa_parent and sa_child, the inspector
reads them back, and an ORM session inserts, queries, updates and deletes.
Expected values are PostgreSQL 15's. It exits non-zero on the first failed
check and drops its tables on success.
"""
import datetime
import decimal

from sqlalchemy import (Column, DateTime, ForeignKey, Integer, MetaData, Numeric, String, Table, UniqueConstraint,
                        create_engine, func, inspect, select, text)
from sqlalchemy.orm import Session, registry


def check(what, got, want):
    assert got == want, f"{what}:\n got  {got!r}\n want {want!r}"


engine = create_engine("postgresql+psycopg2://", future=True)

with engine.connect() as conn:
    major = engine.dialect.server_version_info[0]
    assert major >= 12, f"server_version_info: {engine.dialect.server_version_info}"
    check("bound parameter", conn.execute(text("SELECT :a + 1 AS n"), {"a": 41}).scalar(), 42)
    check("current_schema", conn.execute(text("SELECT current_schema()")).scalar(), "public")

metadata = MetaData()
parent = Table(
    "sa_parent", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(50), nullable=False),
    UniqueConstraint("name", name="sa_parent_name_key"),
)
child = Table(
    "sa_child", metadata,
    Column("id", Integer, primary_key=True),
    Column("parent_id", Integer, ForeignKey("sa_parent.id", ondelete="CASCADE")),
    Column("price", Numeric(10, 2), nullable=False, server_default=text("0")),
    Column("created", DateTime(timezone=True), server_default=func.now()),
    Column("label", String(20), index=True),
)
metadata.create_all(engine)
# A second create_all finds both tables and creates nothing.
metadata.create_all(engine)

insp = inspect(engine)
tables = insp.get_table_names()
for name in ("sa_parent", "sa_child"):
    assert name in tables, f"get_table_names: {name} missing from {tables}"
assert insp.has_table("sa_child"), "has_table(sa_child) is false"
assert not insp.has_table("sa_missing"), "has_table(sa_missing) is true"

columns = [
    (c["name"], str(c["type"]), c["nullable"], c["default"], c.get("autoincrement"))
    for c in insp.get_columns("sa_child")
]
check("get_columns(sa_child)", columns, [
    ("id", "INTEGER", False, "nextval('sa_child_id_seq'::regclass)", True),
    ("parent_id", "INTEGER", True, None, False),
    ("price", "NUMERIC(10, 2)", False, "0", False),
    ("created", "TIMESTAMP", True, "now()", False),
    ("label", "VARCHAR(20)", True, None, False),
])
check("created is timezone-aware", insp.get_columns("sa_child")[3]["type"].timezone, True)
check("get_pk_constraint(sa_child)", insp.get_pk_constraint("sa_child"),
      {"constrained_columns": ["id"], "name": "sa_child_pkey"})
check("get_foreign_keys(sa_child)", insp.get_foreign_keys("sa_child"), [{
    "name": "sa_child_parent_id_fkey",
    "constrained_columns": ["parent_id"],
    "referred_schema": None,
    "referred_table": "sa_parent",
    "referred_columns": ["id"],
    "options": {"ondelete": "CASCADE"},
}])
check("get_foreign_keys(sa_parent)", insp.get_foreign_keys("sa_parent"), [])
indexes = [(ix["name"], ix["column_names"], ix["unique"]) for ix in insp.get_indexes("sa_child")]
check("get_indexes(sa_child)", indexes, [("ix_sa_child_label", ["label"], False)])
parent_indexes = [(ix["name"], ix["column_names"], ix["unique"]) for ix in insp.get_indexes("sa_parent")]
check("get_indexes(sa_parent)", parent_indexes, [("sa_parent_name_key", ["name"], True)])
check("get_unique_constraints(sa_parent)", insp.get_unique_constraints("sa_parent"),
      [{"column_names": ["name"], "name": "sa_parent_name_key"}])
check("get_unique_constraints(sa_child)", insp.get_unique_constraints("sa_child"), [])

# Reflection builds the same tables from the catalog.
reflected = MetaData()
reflected.reflect(engine, only=["sa_parent", "sa_child"])
check("reflected columns", [c.name for c in reflected.tables["sa_child"].columns],
      ["id", "parent_id", "price", "created", "label"])
check("reflected foreign key", [fk.target_fullname for fk in reflected.tables["sa_child"].foreign_keys],
      ["sa_parent.id"])

# The ORM: a unit of work inserts with RETURNING, then queries, updates and
# deletes.
mapper_registry = registry()


class Parent:
    pass


class Child:
    pass


mapper_registry.map_imperatively(Parent, parent)
mapper_registry.map_imperatively(Child, child)

with Session(engine, future=True) as session:
    p = Parent()
    p.name = "tools"
    session.add(p)
    session.flush()
    assert p.id is not None, "no primary key after flush"
    for i, label in enumerate(["hammer", "saw", "drill"]):
        c = Child()
        c.parent_id, c.price, c.label = p.id, decimal.Decimal(i + 1) * decimal.Decimal("1.25"), label
        session.add(c)
    session.commit()

    rows = session.execute(select(Child.label, Child.price).where(Child.price > 2).order_by(Child.label)).all()
    check("ORM query", [tuple(r) for r in rows], [("drill", decimal.Decimal("3.75")), ("saw", decimal.Decimal("2.50"))])
    saw = session.execute(select(Child).where(Child.label == "saw")).scalar_one()
    assert isinstance(saw.created, datetime.datetime) and saw.created.tzinfo is not None, saw.created
    saw.price = decimal.Decimal("9.99")
    session.commit()
    check("ORM update", session.execute(select(Child.price).where(Child.label == "saw")).scalar_one(),
          decimal.Decimal("9.99"))

    session.delete(saw)
    session.commit()
    check("ORM delete", session.execute(select(func.count()).select_from(Child)).scalar_one(), 2)

    # A failed flush rolls the session back.
    dup = Parent()
    dup.name = "tools"
    session.add(dup)
    try:
        session.commit()
    except Exception as e:  # sqlalchemy.exc.IntegrityError
        check("duplicate name error", type(e).__name__, "IntegrityError")
        session.rollback()
    else:
        raise AssertionError("duplicate sa_parent.name was accepted")
    check("parents after rollback", session.execute(select(func.count()).select_from(Parent)).scalar_one(), 1)

    # ON DELETE CASCADE removes the children.
    session.execute(parent.delete())
    session.commit()
    check("children after cascade", session.execute(select(func.count()).select_from(Child)).scalar_one(), 0)

metadata.drop_all(engine)
assert not inspect(engine).has_table("sa_child"), "sa_child still exists after drop_all"
print("sqlalchemy: ok")
