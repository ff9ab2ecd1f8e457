package io.obplay.cli;

import io.obplay.plan.Dag;
import io.obplay.plan.Node;
import io.obplay.plan.SubTask;
import io.obplay.plan.Times;

import java.time.Duration;

/** {@code --junit FILE}: the run as JUnit XML, a test suite per stage and a test case per server. */
final class JUnitReport {
    private JUnitReport() {
    }

    static String render(Dag dag) {
        StringBuilder b = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        int tests = dag.subTaskCount();
        long failures = dag.nodes().stream().flatMap(n -> n.subTasks().stream()).filter(t -> isFailure(t)).count();
        b.append("<testsuites name=").append(attr("obplay " + dag.name())).append(" tests=\"").append(tests)
                .append("\" failures=\"").append(failures).append("\">\n");
        int i = 0;
        for (Node n : dag.nodes()) {
            i++;
            long nf = n.subTasks().stream().filter(JUnitReport::isFailure).count();
            long skipped = n.subTasks().stream().filter(t -> !Recap.word(t).equals("ok") && !isFailure(t)).count();
            b.append("  <testsuite name=").append(attr("stage " + i + ": " + n.name())).append(" tests=\"").append(n.subTasks().size())
                    .append("\" failures=\"").append(nf).append("\" skipped=\"").append(skipped).append("\" timestamp=")
                    .append(attr(Times.format(n.startTime()))).append(">\n");
            for (SubTask t : n.subTasks()) {
                double secs = t.startTime().equals(Times.UNSET) || t.endTime().equals(Times.UNSET) ? 0
                        : Duration.between(t.startTime(), t.endTime()).toMillis() / 1000.0;
                b.append("    <testcase classname=").append(attr(n.name())).append(" name=").append(attr(t.data().server()))
                        .append(" time=\"").append(String.format("%.3f", secs)).append("\">\n");
                String w = Recap.word(t);
                String logs = String.join("\n", t.taskLogs());
                if (isFailure(t)) {
                    String last = t.taskLogs().isEmpty() ? w : t.taskLogs().get(t.taskLogs().size() - 1);
                    b.append("      <failure message=").append(attr(last)).append(" type=").append(attr(w)).append(">")
                            .append(text(logs)).append("</failure>\n");
                } else if (!w.equals("ok")) {
                    b.append("      <skipped message=").append(attr(w)).append("/>\n");
                }
                b.append("      <system-out>").append(text(logs)).append("</system-out>\n");
                b.append("    </testcase>\n");
            }
            b.append("  </testsuite>\n");
        }
        b.append("</testsuites>\n");
        return b.toString();
    }

    private static boolean isFailure(SubTask t) {
        String w = Recap.word(t);
        return w.equals("FAILED") || w.equals("UNREACHABLE") || w.equals("CANCELLED");
    }

    private static String text(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                default -> {
                    if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') {
                        b.append('?');
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.toString();
    }

    private static String attr(String s) {
        return "\"" + text(s).replace("\n", "&#10;") + "\"";
    }
}
