package io.obplay.store;

import io.obplay.store.mysql.MariaDbServer;
import io.obplay.store.mysql.MysqlStore;
import io.obplay.store.sqlite.SqliteStore;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/** The stores the shared behaviour suite runs against: SQLite in a temp directory, MySQL protocol on a real MariaDB. */
public enum StoreKind {
    SQLITE {
        @Override
        public Backing backing(Path tmp) {
            return new Backing() {
                @Override
                public Store open() {
                    return SqliteStore.open(tmp);
                }

                @Override
                public Connection raw() throws SQLException {
                    Connection c = DriverManager.getConnection("jdbc:sqlite:" + tmp.resolve(SqliteStore.FILE_NAME));
                    try (Statement s = c.createStatement()) {
                        s.execute("PRAGMA busy_timeout = 30000");
                    }
                    return c;
                }

                @Override
                public void close() {
                }
            };
        }
    },
    MARIADB {
        @Override
        public Backing backing(Path tmp) {
            MariaDbServer server = MariaDbServer.shared();
            String db = server.newDatabase();
            return new Backing() {
                @Override
                public Store open() {
                    return MysqlStore.open(server.adminUrl(db), MariaDbServer.USER, MariaDbServer.PASSWORD.toCharArray(),
                            server.storeUrl(db));
                }

                @Override
                public Connection raw() throws SQLException {
                    return DriverManager.getConnection(server.adminUrl(db), MariaDbServer.USER, MariaDbServer.PASSWORD);
                }

                @Override
                public void close() {
                    server.dropDatabase(db);
                }
            };
        }
    };

    /** A fresh, empty store's backing: open it (again) as often as a test likes. */
    public abstract Backing backing(Path tmp);

    /** Where a store keeps its data, with raw SQL access for tests. */
    public interface Backing extends AutoCloseable {
        Store open();

        Connection raw() throws SQLException;

        default List<String> query(String sql) throws SQLException {
            try (Connection c = raw(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
                List<String> out = new ArrayList<>();
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
                return out;
            }
        }

        default void exec(String sql) throws SQLException {
            try (Connection c = raw(); Statement s = c.createStatement()) {
                s.execute(sql);
            }
        }

        @Override
        void close();
    }
}
