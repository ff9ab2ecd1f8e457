package io.obplay.shim;

import java.math.BigInteger;

/**
 * Generic ids in a request path, read as obshell's {@code task.ConvertGenericID} reads them
 * ({@code ob/agent/engine/task/task_dto.go}): {@code 1}+id (cluster task), {@code 2}/{@code 4} + IPv4 as 10
 * digits + port as 5 digits + id (agent / obproxy task), {@code 3}/{@code 5} the same with a 39-digit IPv6.
 * Anything else is 400 {@code Task.GenericID.Invalid} "Invalid ID: ...".
 */
final class GenericIds {
    private static final BigInteger TWO_24 = BigInteger.ONE.shiftLeft(24);
    private static final BigInteger TWO_32 = BigInteger.ONE.shiftLeft(32);
    private static final BigInteger TWO_120 = BigInteger.ONE.shiftLeft(120);
    private static final BigInteger TWO_128 = BigInteger.ONE.shiftLeft(128);

    private GenericIds() {
    }

    /** The local id (the number after the agent part); throws {@code Task.GenericID.Invalid}. */
    static long localId(String id) throws ApiException {
        if (id == null || id.isEmpty() || !id.chars().allMatch(ch -> ch >= '0' && ch <= '9')) {
            throw Errors.genericIdInvalid(id == null ? "" : id);
        }
        char kind = id.charAt(0);
        int ipEnd;
        boolean v6 = false;
        switch (kind) {
            case '1' -> ipEnd = 1;
            case '2', '4' -> ipEnd = 11;
            case '3', '5' -> {
                ipEnd = 40;
                v6 = true;
            }
            default -> throw Errors.genericIdInvalid(id);
        }
        int idStart = kind == '1' ? 1 : ipEnd + 5;
        if (id.length() <= idStart) {
            throw Errors.genericIdInvalid(id);
        }
        if (kind != '1') {
            // obshell turns the number into IP bytes and needs exactly 4 (or 16) of them
            BigInteger ip = new BigInteger(id.substring(1, ipEnd));
            boolean ok = v6 ? (ip.compareTo(TWO_120) >= 0 && ip.compareTo(TWO_128) < 0) || (ip.compareTo(TWO_24) >= 0 && ip.compareTo(TWO_32) < 0)
                    : ip.compareTo(TWO_24) >= 0 && ip.compareTo(TWO_32) < 0;
            if (!ok) {
                throw Errors.genericIdInvalid(id);
            }
        }
        try {
            return Long.parseLong(id.substring(idStart));
        } catch (NumberFormatException e) {
            throw Errors.genericIdInvalid(id);
        }
    }

    /** True for obproxy task ids ({@code 4...}, {@code 5...}), which need the agent password. */
    static boolean isObproxy(String id) {
        return id != null && !id.isEmpty() && (id.charAt(0) == '4' || id.charAt(0) == '5');
    }
}
