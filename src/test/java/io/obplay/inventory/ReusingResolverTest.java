package io.obplay.inventory;

import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.nodes.NodeId;
import org.yaml.snakeyaml.nodes.Tag;
import org.yaml.snakeyaml.resolver.Resolver;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** ReusingResolver gives SnakeYAML's Resolver's tag for every value, kind and implicit flag. */
class ReusingResolverTest {

    @Test
    void everyValueGetsResolversTag() {
        List<String> values = new ArrayList<>(List.of("", " ", "~", "null", "Null", "NULL", "nUll", "yes", "Yes", "NO", "on",
                "off", "OFF", "true", "False", "y", "n", "0", "-0", "+7", "0b101", "0o17", "017", "0x1F", "0x_1f", "1_000",
                "1:20", "190:20:30", "1.5", "-.5", ".5", "1e10", "1.5e-3", ".inf", "-.Inf", ".NaN", "2001-12-14",
                "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5", "<<", "=", "!", "&", "*", "10.0.0.1",
                "fd00::1", "[::1]:22", "host", "/home/admin/oceanbase", "obs1.example.com", "10.0.0.1:2886", "\0",
                "\0x", "é", "😀", "1.2.3", "12:30", "0.", "._", "-", "+", "--", "1__", "0x", "0b", "a".repeat(2000),
                "1".repeat(1100)));
        Random r = new Random(14);
        String alphabet = "0123456789.:-+_eExXbBoOtTyYnN~ <=!&*aZ\0";
        for (int i = 0; i < 20_000; i++) {
            StringBuilder b = new StringBuilder();
            for (int k = r.nextInt(12); k > 0; k--) {
                b.append(alphabet.charAt(r.nextInt(alphabet.length())));
            }
            values.add(b.toString());
        }
        Resolver snake = new Resolver();
        ReusingResolver ours = new ReusingResolver();
        for (String v : values) {
            for (NodeId kind : NodeId.values()) {
                for (boolean implicit : new boolean[]{true, false}) {
                    assertEquals(snake.resolve(kind, v, implicit), ours.resolve(kind, v, implicit), kind + " " + implicit + " '" + v + "'");
                }
            }
        }
        // rules added later are tried as Resolver tries them
        snake.addImplicitResolver(new Tag("!host"), java.util.regex.Pattern.compile("^10\\..*$"), "1");
        ours.addImplicitResolver(new Tag("!host"), java.util.regex.Pattern.compile("^10\\..*$"), "1");
        for (String v : List.of("10.0.0.1", "1", "11.0.0.1", "10")) {
            assertEquals(snake.resolve(NodeId.scalar, v, true), ours.resolve(NodeId.scalar, v, true), v);
        }
        assertEquals(new Tag("!host"), ours.resolve(NodeId.scalar, "10.0.0.1", true));
    }
}
