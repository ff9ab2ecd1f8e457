package io.obplay.inventory;

import java.nio.file.Path;
import java.util.List;

/**
 * Reads an inventory in any format obplay accepts: its own ({@link InventoryLoader}) or an OBD deployment
 * config ({@link ObdConfigLoader}), told apart by their top-level keys.
 */
public final class Inventories {
    private Inventories() {
    }

    public static Inventory load(Path file) throws InvalidInputException {
        return read(file).inventory();
    }

    public static LoadedInventory read(Path file) throws InvalidInputException {
        return read(YamlSource.read(file));
    }

    public static LoadedInventory read(YamlSource src) throws InvalidInputException {
        if (ObdConfigLoader.isObdConfig(src.root())) {
            return ObdConfigLoader.load(src);
        }
        return new LoadedInventory(InventoryLoader.load(src), "obplay", List.of(), List.of());
    }
}
