// pgjdbc client check, run by node/clients_e2e_test.go with Debian's
// libpostgresql-jdbc-java. It reads the PG* environment variables and
// expects the empty tables that the test creates:
//   jdbc_parent (id int PRIMARY KEY, name text UNIQUE)
//   jdbc_items (id bigint PRIMARY KEY, parent_id int REFERENCES jdbc_parent,
//       name varchar(100) NOT NULL, price numeric(10,2) NOT NULL DEFAULT 0),
//       with the index jdbc_items_name_idx on jdbc_items (name)
//   jdbc_pair (a int, b text, c int, PRIMARY KEY (b, a))
//   jdbc_types (id int PRIMARY KEY, big bigint, label text,
//       amount numeric(12,3), at timestamp, flag bool, data bytea)
// It exits non-zero on the first failed check and prints "pgjdbc: ok"
// after the last.
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.sql.Types;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

import org.postgresql.PGStatement;

public class JdbcClient {
    static String env(String key, String fallback) {
        String v = System.getenv(key);
        return v == null || v.isEmpty() ? fallback : v;
    }

    static void check(String what, Object got, Object want) {
        if (!Objects.equals(got, want)) {
            throw new AssertionError(what + ":\n got  " + got + "\n want " + want);
        }
    }

    /** Reads the named columns of every row as "a|b|c" strings. */
    static List<String> rows(ResultSet rs, String... columns) throws SQLException {
        List<String> out = new ArrayList<>();
        try (rs) {
            while (rs.next()) {
                StringBuilder sb = new StringBuilder();
                for (int i = 0; i < columns.length; i++) {
                    if (i > 0) sb.append('|');
                    sb.append(rs.getString(columns[i]));
                }
                out.add(sb.toString());
            }
        }
        return out;
    }

    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://" + env("PGHOST", "127.0.0.1") + ":" + env("PGPORT", "5432") + "/"
                + env("PGDATABASE", "postgres") + "?sslmode=disable";
        try (Connection c = DriverManager.getConnection(url, env("PGUSER", ""), env("PGPASSWORD", ""))) {
            metadata(c.getMetaData());
            preparedStatements(c);
            binaryResults(c);
            batchAndTransactions(c);
        }
        System.out.println("pgjdbc: ok");
    }

    static void metadata(DatabaseMetaData md) throws SQLException {
        check("product", md.getDatabaseProductName(), "PostgreSQL");
        check("tables", rows(md.getTables(null, "public", "jdbc_%", new String[] {"TABLE"}), "TABLE_NAME", "TABLE_TYPE"),
                List.of("jdbc_items|TABLE", "jdbc_pair|TABLE", "jdbc_parent|TABLE", "jdbc_types|TABLE"));
        check("columns", rows(md.getColumns(null, "public", "jdbc_items", "%"),
                        "COLUMN_NAME", "DATA_TYPE", "TYPE_NAME", "COLUMN_SIZE", "DECIMAL_DIGITS", "IS_NULLABLE", "COLUMN_DEF", "ORDINAL_POSITION"),
                List.of("id|-5|int8|19|0|NO|null|1",
                        "parent_id|4|int4|10|0|YES|null|2",
                        "name|12|varchar|100|0|NO|null|3",
                        "price|2|numeric|10|2|NO|0|4"));
        check("primary keys", rows(md.getPrimaryKeys(null, "public", "jdbc_items"), "COLUMN_NAME", "KEY_SEQ", "PK_NAME"),
                List.of("id|1|jdbc_items_pkey"));
        check("two-column primary key", rows(md.getPrimaryKeys(null, "public", "jdbc_pair"), "TABLE_NAME", "COLUMN_NAME", "KEY_SEQ", "PK_NAME"),
                List.of("jdbc_pair|b|1|jdbc_pair_pkey", "jdbc_pair|a|2|jdbc_pair_pkey"));
        check("imported keys", rows(md.getImportedKeys(null, "public", "jdbc_items"),
                        "PKTABLE_NAME", "PKCOLUMN_NAME", "FKTABLE_NAME", "FKCOLUMN_NAME", "KEY_SEQ", "UPDATE_RULE", "DELETE_RULE", "FK_NAME", "PK_NAME"),
                List.of("jdbc_parent|id|jdbc_items|parent_id|1|3|3|jdbc_items_parent_id_fkey|jdbc_parent_pkey"));
        check("exported keys", rows(md.getExportedKeys(null, "public", "jdbc_parent"), "FKTABLE_NAME", "FKCOLUMN_NAME"),
                List.of("jdbc_items|parent_id"));
        check("imported keys of a table without foreign keys", rows(md.getImportedKeys(null, "public", "jdbc_parent"), "FK_NAME"),
                List.of());
        check("index info", rows(md.getIndexInfo(null, "public", "jdbc_items", false, false),
                        "INDEX_NAME", "NON_UNIQUE", "ORDINAL_POSITION", "COLUMN_NAME"),
                List.of("jdbc_items_pkey|f|1|id", "jdbc_items_name_idx|t|1|name"));
        check("unique index info", rows(md.getIndexInfo(null, "public", "jdbc_parent", true, false), "INDEX_NAME", "COLUMN_NAME"),
                List.of("jdbc_parent_name_key|name", "jdbc_parent_pkey|id"));
        check("two-column index info", rows(md.getIndexInfo(null, "public", "jdbc_pair", false, false),
                        "INDEX_NAME", "NON_UNIQUE", "ORDINAL_POSITION", "COLUMN_NAME", "ASC_OR_DESC"),
                List.of("jdbc_pair_pkey|f|1|b|A", "jdbc_pair_pkey|f|2|a|A"));
    }

    static void preparedStatements(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            check("current_user", rows(st.executeQuery("SELECT current_user AS u"), "u"), List.of(env("PGUSER", "")));
            check("parents", st.executeUpdate("INSERT INTO jdbc_parent (id, name) VALUES (1, 'one'), (2, 'two')"), 2);
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO jdbc_items (id, parent_id, name, price) VALUES (?, ?, ?, ?)")) {
            for (int i = 1; i <= 8; i++) {
                ps.setLong(1, i);
                ps.setInt(2, 1 + i % 2);
                ps.setString(3, "item " + i);
                ps.setBigDecimal(4, new BigDecimal(i).movePointLeft(1));
                check("insert count", ps.executeUpdate(), 1);
            }
        }
        // pgjdbc names the server-side statement from the fifth execution
        // on (prepareThreshold 5) and then asks for binary results.
        try (PreparedStatement ps = c.prepareStatement("SELECT id, name, price FROM jdbc_items WHERE parent_id = ? AND price >= ? ORDER BY id")) {
            for (int i = 0; i < 8; i++) {
                ps.setInt(1, 2);
                ps.setBigDecimal(2, new BigDecimal("0.3"));
                List<String> got = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        got.add(rs.getLong(1) + "|" + rs.getString(2) + "|" + rs.getBigDecimal(3));
                    }
                }
                check("prepared select #" + (i + 1), got, List.of("3|item 3|0.30", "5|item 5|0.50", "7|item 7|0.70"));
            }
        }
    }

    static final LocalDateTime TYPED_AT = LocalDateTime.of(2024, 2, 29, 13, 45, 6, 789012000);
    static final byte[] TYPED_BYTES = {0, 1, 127, (byte) 128, (byte) 255};

    /**
     * Reads each column type through a server-side prepared statement.
     * With prepareThreshold 1, pgjdbc names the statement on its first
     * execution. From the second on, it has the result types and requests
     * binary results for int, bigint, numeric, timestamp and bytea, while
     * text and bool stay text.
     */
    static void binaryResults(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO jdbc_types (id, big, label, amount, at, flag, data) VALUES (?, ?, ?, ?, ?, ?, ?)")) {
            ps.setInt(1, 1);
            ps.setLong(2, 9007199254740993L);
            ps.setString(3, "h\u00e9llo, w\u00f6rld");
            ps.setBigDecimal(4, new BigDecimal("-12345.678"));
            ps.setObject(5, TYPED_AT);
            ps.setBoolean(6, true);
            ps.setBytes(7, TYPED_BYTES);
            check("insert typed row", ps.executeUpdate(), 1);
            ps.setInt(1, 2);
            ps.setNull(2, Types.BIGINT);
            ps.setNull(3, Types.VARCHAR);
            ps.setNull(4, Types.NUMERIC);
            ps.setNull(5, Types.TIMESTAMP);
            ps.setNull(6, Types.BOOLEAN);
            ps.setNull(7, Types.BINARY);
            check("insert NULL row", ps.executeUpdate(), 1);
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT id, big, label, amount, at, flag, data FROM jdbc_types WHERE id = ?")) {
            PGStatement pgStatement = ps.unwrap(PGStatement.class);
            pgStatement.setPrepareThreshold(1);
            for (int i = 1; i <= 6; i++) {
                String run = "typed select #" + i + " ";
                ps.setInt(1, 1);
                try (ResultSet rs = ps.executeQuery()) {
                    check(run + "has a row", rs.next(), true);
                    check(run + "int", rs.getInt("id"), 1);
                    check(run + "bigint", rs.getLong("big"), 9007199254740993L);
                    check(run + "text", rs.getString("label"), "h\u00e9llo, w\u00f6rld");
                    check(run + "numeric", rs.getBigDecimal("amount"), new BigDecimal("-12345.678"));
                    check(run + "timestamp", rs.getObject("at", LocalDateTime.class), TYPED_AT);
                    check(run + "bool", rs.getBoolean("flag"), true);
                    check(run + "bytea", Arrays.toString(rs.getBytes("data")), Arrays.toString(TYPED_BYTES));
                    check(run + "row count", rs.next(), false);
                }
                ps.setInt(1, 2);
                try (ResultSet rs = ps.executeQuery()) {
                    check(run + "has the NULL row", rs.next(), true);
                    for (String col : List.of("big", "label", "amount", "at", "flag", "data")) {
                        check(run + "NULL " + col, rs.getObject(col), null);
                    }
                }
            }
            check("server-side prepare", pgStatement.isUseServerPrepare(), true);
        }
    }

    static void batchAndTransactions(Connection c) throws SQLException {
        c.setAutoCommit(false);
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO jdbc_items (id, parent_id, name) VALUES (?, ?, ?)")) {
            for (int i = 100; i < 110; i++) {
                ps.setLong(1, i);
                ps.setInt(2, 1);
                ps.setString(3, "batch " + i);
                ps.addBatch();
            }
            int[] counts = ps.executeBatch();
            check("batch size", counts.length, 10);
            for (int n : counts) {
                check("batch count", n, 1);
            }
        }
        c.commit();
        check("after commit", count(c), 18L);

        try (PreparedStatement ps = c.prepareStatement("DELETE FROM jdbc_items WHERE id >= ?")) {
            ps.setLong(1, 100);
            check("deleted", ps.executeUpdate(), 10);
        }
        c.rollback();
        check("after rollback", count(c), 18L);

        // A savepoint undoes part of a transaction.
        try (Statement st = c.createStatement()) {
            check("insert before savepoint", st.executeUpdate("INSERT INTO jdbc_items (id, parent_id, name) VALUES (200, 1, 'kept')"), 1);
            Savepoint savepoint = c.setSavepoint("jdbc_sp");
            check("insert after savepoint", st.executeUpdate("INSERT INTO jdbc_items (id, parent_id, name) VALUES (201, 1, 'undone')"), 1);
            c.rollback(savepoint);
        }
        c.commit();
        check("after savepoint rollback", rows(c.createStatement().executeQuery("SELECT name FROM jdbc_items WHERE id >= 200 ORDER BY id"), "name"),
                List.of("kept"));

        // A Statement batch sends several statements and counts each.
        try (Statement st = c.createStatement()) {
            st.addBatch("UPDATE jdbc_items SET name = 'batch even' WHERE id IN (100, 102, 104)");
            st.addBatch("DELETE FROM jdbc_items WHERE id = 200");
            check("statement batch counts", Arrays.toString(st.executeBatch()), "[3, 1]");
        }
        c.commit();
        check("after statement batch", count(c), 18L);

        try (Statement st = c.createStatement()) {
            st.executeQuery("SELECT 1 / 0");
            throw new AssertionError("SELECT 1 / 0 did not fail");
        } catch (SQLException e) {
            check("division by zero SQLSTATE", e.getSQLState(), "22012");
        }
        // pgjdbc does not roll back on its own (autosave is off), so the
        // failed transaction rejects statements until the rollback.
        try (Statement st = c.createStatement()) {
            st.executeQuery("SELECT 1");
            throw new AssertionError("SELECT 1 in a failed transaction did not fail");
        } catch (SQLException e) {
            check("failed transaction SQLSTATE", e.getSQLState(), "25P02");
        }
        c.rollback();
        check("after failed transaction", count(c), 18L);
        c.setAutoCommit(true);
        try (PreparedStatement ps = c.prepareStatement("UPDATE jdbc_items SET price = price + ? WHERE id = ?")) {
            ps.setBigDecimal(1, new BigDecimal("1.00"));
            ps.setLong(2, 1);
            check("updated", ps.executeUpdate(), 1);
        }
        try (Statement st = c.createStatement()) {
            check("updated price", rows(st.executeQuery("SELECT price FROM jdbc_items WHERE id = 1"), "price"), List.of("1.10"));
        }
    }

    static long count(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM jdbc_items")) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
