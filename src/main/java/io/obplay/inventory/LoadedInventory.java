package io.obplay.inventory;

import java.util.List;

/**
 * An inventory as read from its file, with what the reader wants the user to know once.
 *
 * @param format      {@code obplay} or {@code obd} (an OBD deployment config)
 * @param ignoredKeys the file's keys obplay has no use for (OBD's start parameters, ...), each once
 * @param notes       other things worth saying once (components obplay does not manage, assumed layouts)
 */
public record LoadedInventory(Inventory inventory, String format, List<String> ignoredKeys, List<String> notes) {
    public LoadedInventory {
        ignoredKeys = List.copyOf(ignoredKeys);
        notes = List.copyOf(notes);
    }
}
