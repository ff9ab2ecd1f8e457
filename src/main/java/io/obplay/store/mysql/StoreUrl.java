package io.obplay.store.mysql;

import io.obplay.store.StoreException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A MySQL-protocol store URL as the user gives it ({@code --store} or {@code OBPLAY_STORE}):
 * {@code jdbc:mysql://HOST:PORT/DATABASE?user=USER[&passwordFile=FILE][&driver options]} or the same with
 * {@code jdbc:mariadb://}. The password never travels in the URL (it would show in {@code ps} and in logs): it
 * comes from the file named by {@code passwordFile=} (its first line), or else from {@code OBPLAY_STORE_PASSWORD}.
 *
 * @param driverUrl the URL for MariaDB Connector/J, without obplay's own options
 * @param user      the login
 * @param password  the password, or null for none
 * @param shown     the URL as messages show it: without options beyond the user
 */
public record StoreUrl(String driverUrl, String user, char[] password, String shown) {

    public static boolean isMysql(String url) {
        return url.startsWith("jdbc:mysql://") || url.startsWith("jdbc:mariadb://");
    }

    /**
     * @throws StoreException for a URL without a user, with a password in it, or whose password file cannot be read
     */
    public static StoreUrl parse(String url, Map<String, String> env) {
        String rest = url.startsWith("jdbc:mysql://") ? url.substring("jdbc:mysql://".length())
                : url.substring("jdbc:mariadb://".length());
        int q = rest.indexOf('?');
        String hostAndDb = q < 0 ? rest : rest.substring(0, q);
        String user = null;
        String passwordFile = null;
        List<String> options = new ArrayList<>();
        if (q >= 0) {
            for (String kv : rest.substring(q + 1).split("&")) {
                if (kv.isEmpty()) {
                    continue;
                }
                int eq = kv.indexOf('=');
                String k = eq < 0 ? kv : kv.substring(0, eq);
                String v = eq < 0 ? "" : kv.substring(eq + 1);
                switch (k) {
                    case "user" -> user = v;
                    case "passwordFile" -> passwordFile = v;
                    case "password" -> throw new StoreException("the store URL must not hold the password (it would show in ps"
                            + " and in logs): put it in OBPLAY_STORE_PASSWORD or in a file named by passwordFile=FILE");
                    default -> options.add(kv);
                }
            }
        }
        if (hostAndDb.indexOf('@') >= 0) {
            throw new StoreException("the store URL must not hold credentials before the host: give user=USER as an option");
        }
        if (user == null || user.isEmpty()) {
            throw new StoreException("the store URL " + "jdbc:mysql://" + hostAndDb + " names no user: add ?user=USER"
                    + " (for OceanBase, USER@TENANT or USER@TENANT#CLUSTER through OBProxy)");
        }
        if (!hostAndDb.contains("/") || hostAndDb.endsWith("/")) {
            throw new StoreException("the store URL jdbc:mysql://" + hostAndDb + " names no database: jdbc:mysql://HOST:PORT/DATABASE?user=USER");
        }
        char[] password;
        if (passwordFile != null) {
            try {
                String text = Files.readString(Path.of(passwordFile), StandardCharsets.UTF_8);
                int nl = text.indexOf('\n');
                password = (nl < 0 ? text : text.substring(0, nl)).replace("\r", "").toCharArray();
            } catch (IOException e) {
                throw new StoreException("cannot read the store's password file " + passwordFile + ": " + e.getMessage(), e);
            }
        } else {
            String p = env.get("OBPLAY_STORE_PASSWORD");
            password = p == null ? null : p.toCharArray();
        }
        String driver = "jdbc:mariadb://" + hostAndDb + (options.isEmpty() ? "" : "?" + String.join("&", options));
        String scheme = url.startsWith("jdbc:mysql://") ? "jdbc:mysql://" : "jdbc:mariadb://";
        return new StoreUrl(driver, user, password, scheme + hostAndDb + "?user=" + user);
    }

    @Override
    public String toString() {
        return shown;
    }
}
