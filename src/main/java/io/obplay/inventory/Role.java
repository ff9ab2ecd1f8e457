package io.obplay.inventory;

/** What kind of server process an inventory entry is. */
public enum Role {
    OBSERVER("observer"),
    OBPROXY("obproxy");

    private final String processName;

    Role(String processName) {
        this.processName = processName;
    }

    public String processName() {
        return processName;
    }
}
