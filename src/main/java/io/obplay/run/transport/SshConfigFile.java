package io.obplay.run.transport;

import com.jcraft.jsch.ConfigRepository;
import com.jcraft.jsch.OpenSSHConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One OpenSSH client configuration file ({@code ~/.ssh/config}), read by JSch's {@link OpenSSHConfig}: JSch
 * decides which {@code Host} blocks apply to a host and which value wins (the first one obtained, as in
 * OpenSSH). To say where a value came from, the file is also cut into its blocks (the lines before the first
 * {@code Host}, then one block per {@code Host} line), each given to JSch alone: the first block that gives the
 * host a value for a keyword holds the line it came from.
 */
final class SshConfigFile {
    /** One {@code Keyword value} line of the file. */
    record Line(int number, String keyword, String text) {
    }

    private record Block(List<Line> lines, OpenSSHConfig alone) {
    }

    private final String name;
    private final OpenSSHConfig config;
    private final List<Block> blocks = new ArrayList<>();
    private final Line match;

    private SshConfigFile(String name, String text) throws IOException {
        this.name = name;
        this.config = OpenSSHConfig.parse(text);
        List<Line> current = new ArrayList<>();
        StringBuilder currentText = new StringBuilder();
        Line firstMatch = null;
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String t = lines[i].strip();
            if (t.isEmpty() || t.startsWith("#")) {
                continue;
            }
            String keyword = t.split("[\\s=]+", 2)[0];
            Line line = new Line(i + 1, keyword, t);
            if (keyword.equalsIgnoreCase("Host") || keyword.equalsIgnoreCase("Match")) {
                if (!current.isEmpty() || currentText.length() > 0) {
                    blocks.add(new Block(current, OpenSSHConfig.parse(currentText.toString())));
                }
                current = new ArrayList<>();
                currentText = new StringBuilder();
                if (keyword.equalsIgnoreCase("Match") && firstMatch == null) {
                    firstMatch = line;
                }
            }
            current.add(line);
            currentText.append(t).append('\n');
        }
        if (!current.isEmpty()) {
            blocks.add(new Block(current, OpenSSHConfig.parse(currentText.toString())));
        }
        this.match = firstMatch;
    }

    static SshConfigFile read(Path file) throws IOException {
        return new SshConfigFile(file.toString(), Files.readString(file));
    }

    static SshConfigFile of(String name, String text) throws IOException {
        return new SshConfigFile(name, text);
    }

    String name() {
        return name;
    }

    /** The first {@code Match} line: JSch reads none, so a file with one is refused. */
    Line match() {
        return match;
    }

    ConfigRepository.Config forHost(String host) {
        return config.getConfig(host);
    }

    /** The line a host's value for a keyword came from, or null. */
    Line lineOf(String host, String keyword) {
        for (Block b : blocks) {
            ConfigRepository.Config c = b.alone().getConfig(host);
            if (value(c, keyword) != null) {
                for (Line l : b.lines()) {
                    if (l.keyword().equalsIgnoreCase(keyword)) {
                        return l;
                    }
                }
            }
        }
        return null;
    }

    /** Every setting line of the blocks that apply to a host (its {@code Host} lines excluded), in file order. */
    List<Line> linesFor(String host) {
        List<Line> out = new ArrayList<>();
        for (Block b : blocks) {
            boolean applies = false;
            for (Line l : b.lines()) {
                if (!isHeader(l) && value(b.alone().getConfig(host), l.keyword()) != null) {
                    applies = true;
                    break;
                }
            }
            if (applies) {
                b.lines().stream().filter(l -> !isHeader(l)).forEach(out::add);
            }
        }
        return out;
    }

    String where(Line l) {
        return name + ":" + l.number();
    }

    private static boolean isHeader(Line l) {
        return l.keyword().equalsIgnoreCase("Host") || l.keyword().equalsIgnoreCase("Match");
    }

    private static String value(ConfigRepository.Config c, String keyword) {
        String k = keyword.toLowerCase(Locale.ROOT);
        if (k.equals("hostname")) {
            return c.getHostname();
        }
        if (k.equals("user")) {
            return c.getUser();
        }
        if (k.equals("port")) {
            return c.getPort() > 0 ? Integer.toString(c.getPort()) : null;
        }
        String[] all = c.getValues(keyword);
        if (all != null && all.length > 0) {
            return all[0];
        }
        return c.getValue(keyword);
    }
}
