package io.obplay.plan;

/** The DAG as Graphviz: one cluster per stage, a box per sub-task, edges from each stage to the next. */
public final class DotRenderer {
    private DotRenderer() {
    }

    public static String render(Dag d) {
        StringBuilder b = new StringBuilder();
        b.append("digraph ").append(q("dag " + d.id())).append(" {\n");
        b.append("  label=").append(q(d.name() + " (" + d.maxStage() + " stages)")).append(";\n");
        b.append("  rankdir=TB;\n  node [shape=box, fontname=\"monospace\"];\n");
        for (int i = 0; i < d.nodes().size(); i++) {
            Node n = d.nodes().get(i);
            b.append("  subgraph ").append(q("cluster_" + (i + 1))).append(" {\n");
            b.append("    label=").append(q("stage " + (i + 1) + ": " + n.name())).append(";\n");
            b.append("    ").append(q("s" + (i + 1))).append(" [shape=point, label=\"\"];\n");
            for (SubTask t : n.subTasks()) {
                TaskData data = t.data();
                String label = (data == null ? t.name() : data.server()) + "\\n" + t.state();
                b.append("    ").append(q("t" + t.taskId())).append(" [label=").append(q(label)).append("];\n");
                b.append("    ").append(q("s" + (i + 1))).append(" -> ").append(q("t" + t.taskId())).append(";\n");
            }
            b.append("  }\n");
            if (i + 1 < d.nodes().size()) {
                for (SubTask t : n.subTasks()) {
                    b.append("  ").append(q("t" + t.taskId())).append(" -> ").append(q("s" + (i + 2))).append(";\n");
                }
            }
        }
        b.append("}\n");
        return b.toString();
    }

    private static String q(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\\\\n", "\\n") + "\"";
    }
}
