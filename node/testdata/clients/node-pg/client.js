// node-postgres client check, run by node/clients_e2e_test.go as an
// unprivileged user. It connects with the PG* environment variables and
// expects the table node_items (id int PRIMARY KEY, name text NOT NULL,
// qty int NOT NULL), empty. It exits non-zero on the first failed check.
'use strict';
const assert = require('assert/strict');
const { Client } = require('pg');

async function expectError(client, sql, values, code) {
  try {
    await client.query(sql, values);
  } catch (e) {
    assert.equal(e.code, code, `${sql}: SQLSTATE ${e.code} (${e.message}), want ${code}`);
    return e;
  }
  assert.fail(`${sql}: no error, want SQLSTATE ${code}`);
}

async function main() {
  const client = new Client();
  await client.connect();

  // Simple protocol: a query without parameters.
  const version = await client.query('SELECT version()');
  assert.match(version.rows[0].version, /^PostgreSQL \d+\.\d+/);

  // Extended protocol with an unnamed statement.
  const sum = await client.query('SELECT $1::int8 + 1 AS n, $2::text AS s', [41, 'hello']);
  assert.deepEqual(sum.rows, [{ n: '42', s: 'hello' }]);
  assert.deepEqual(sum.fields.map((f) => f.dataTypeID), [20, 25]);

  for (let id = 1; id <= 5; id++) {
    const r = await client.query('INSERT INTO node_items (id, name, qty) VALUES ($1, $2, $3)', [id, `item ${id}`, id * 10]);
    assert.equal(r.rowCount, 1, 'INSERT rowCount');
    assert.equal(r.command, 'INSERT');
  }

  // A named prepared statement, parsed once and bound again on each use.
  const byId = { name: 'node-items-by-id', text: 'SELECT name, qty FROM node_items WHERE id = $1', values: [0] };
  for (let id = 1; id <= 5; id++) {
    byId.values = [id];
    const r = await client.query(byId);
    assert.deepEqual(r.rows, [{ name: `item ${id}`, qty: id * 10 }], `named statement, id ${id}`);
  }

  // Committed transaction.
  await client.query('BEGIN');
  const upd = await client.query('UPDATE node_items SET qty = qty + $1 WHERE id <= $2', [1, 2]);
  assert.equal(upd.rowCount, 2, 'UPDATE rowCount');
  await client.query('COMMIT');
  const after = await client.query('SELECT id, qty FROM node_items WHERE id <= 2 ORDER BY id');
  assert.deepEqual(after.rows, [{ id: 1, qty: 11 }, { id: 2, qty: 21 }]);

  // Rolled back transaction.
  await client.query('BEGIN');
  const del = await client.query('DELETE FROM node_items WHERE id > $1', [0]);
  assert.equal(del.rowCount, 5, 'DELETE rowCount');
  await client.query('ROLLBACK');
  const count = await client.query('SELECT count(*)::int AS n FROM node_items');
  assert.equal(count.rows[0].n, 5, 'rows after ROLLBACK');

  // A failed statement aborts the transaction until ROLLBACK.
  await client.query('BEGIN');
  await expectError(client, 'SELECT 1 / $1::int', [0], '22012');
  await expectError(client, 'SELECT 1', [], '25P02');
  await client.query('ROLLBACK');

  // Errors carry PostgreSQL's SQLSTATE and message.
  const dup = await expectError(client, 'INSERT INTO node_items (id, name, qty) VALUES ($1, $2, $3)', [1, 'dup', 0], '23505');
  assert.match(dup.message, /^duplicate key value violates unique constraint/);

  // Text results of common types, parsed by node-postgres.
  const types = await client.query(
    `SELECT 7::int4 AS i4, true AS b, 1.50::numeric(4,2) AS num, 2.5::float8 AS f8,
            '2024-01-02 03:04:05+00'::timestamptz AS ts, '{"a": [1, 2]}'::jsonb AS js,
            '\\xdeadbeef'::bytea AS by, $1::text AS t`, ['x']);
  const row = types.rows[0];
  assert.equal(row.i4, 7);
  assert.equal(row.b, true);
  assert.equal(row.num, '1.50');
  assert.equal(row.f8, 2.5);
  assert.equal(row.ts.toISOString(), '2024-01-02T03:04:05.000Z');
  assert.deepEqual(row.js, { a: [1, 2] });
  assert.equal(row.by.toString('hex'), 'deadbeef');
  assert.equal(row.t, 'x');

  await client.end();
  console.log('node-postgres: ok');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
