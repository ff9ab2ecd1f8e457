package io.obplay.cli;

import io.obplay.plan.GenericId;

/** A DAG named on the command line: its generic id (as obshell shows it) or its plain dag_id. */
final class DagIds {
    private DagIds() {
    }

    static long parse(String id) {
        String s = id.trim();
        if (!s.matches("\\d+")) {
            throw new CliException(ExitCodes.INVALID, "'" + id + "' is not a DAG id; expected a generic id such as 22130706433028861 or a dag_id such as 1");
        }
        if (s.length() >= 17) {
            try {
                return GenericId.parse(s).localId();
            } catch (IllegalArgumentException e) {
                throw new CliException(ExitCodes.INVALID, "'" + id + "' is not a valid generic id: " + e.getMessage());
            }
        }
        return Long.parseLong(s);
    }
}
