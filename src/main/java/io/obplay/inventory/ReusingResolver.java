package io.obplay.inventory;

import org.yaml.snakeyaml.nodes.NodeId;
import org.yaml.snakeyaml.nodes.Tag;
import org.yaml.snakeyaml.resolver.Resolver;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * SnakeYAML's {@link Resolver}: the same implicit rules (YAML 1.1's booleans, numbers, nulls, timestamps, merge
 * keys), tried in the same order with the same regular expressions, each through one {@link Matcher} that is
 * reset for every scalar instead of a new one (and its match state) per rule per scalar. Every plain scalar of a
 * 100,000-server inventory goes through here, most of them hosts that three rules try and reject; the new matchers
 * were a quarter of the time of reading it. For one composer (one thread) at a time.
 */
final class ReusingResolver extends Resolver {
    private record Rule(Tag tag, Matcher matcher, int limit) {
    }

    /** The rules by first character as {@code Resolver} keeps them (null: for any value). Filled during super(). */
    private Map<Character, List<Rule>> rules;

    /** Resolver's constructor adds its rules through here; so does any later call. */
    @Override
    public void addImplicitResolver(Tag tag, Pattern regexp, String first, int limit) {
        super.addImplicitResolver(tag, regexp, first, limit);  // checks its arguments first
        if (rules == null) {
            rules = new HashMap<>();  // no field initializer: it would run after super() and drop these
        }
        Rule rule = new Rule(tag, regexp.matcher(""), limit);
        if (first == null) {
            rules.computeIfAbsent(null, c -> new ArrayList<>()).add(rule);
        } else {
            for (char c : first.toCharArray()) {
                rules.computeIfAbsent(c == 0 ? null : c, k -> new ArrayList<>()).add(rule);  // '\0': for any value, as there
            }
        }
    }

    /** {@link Resolver#resolve}'s steps, with the matchers reused. */
    @Override
    public Tag resolve(NodeId kind, String value, boolean implicit) {
        if (kind == NodeId.scalar && implicit && rules != null) {
            Tag tag = first(rules.get(value.isEmpty() ? Character.valueOf('\0') : Character.valueOf(value.charAt(0))), value);
            if (tag == null) {
                tag = first(rules.get(null), value);
            }
            if (tag != null) {
                return tag;
            }
        }
        return super.resolve(kind, value, false);  // the kind's default tag: what is left of Resolver's steps
    }

    private static Tag first(List<Rule> list, String value) {
        if (list != null) {
            for (Rule r : list) {
                if (value.length() <= r.limit() && r.matcher().reset(value).matches()) {
                    return r.tag();
                }
            }
        }
        return null;
    }
}
