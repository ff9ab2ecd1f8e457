package io.obplay.plan;

import java.util.List;

/**
 * What narrows or labels a plan beyond the playbook: {@code --limit} patterns, {@code --tags},
 * {@code --skip-tags}, and the agent address its generic ids are made from.
 */
public record PlanOptions(List<String> limit, List<String> tags, List<String> skipTags, String agentIp, int agentPort) {

    public static final String DEFAULT_AGENT_IP = "127.0.0.1";
    public static final int DEFAULT_AGENT_PORT = 2886;

    public PlanOptions {
        limit = limit == null ? List.of() : List.copyOf(limit);
        tags = tags == null ? List.of() : List.copyOf(tags);
        skipTags = skipTags == null ? List.of() : List.copyOf(skipTags);
    }

    public static PlanOptions defaults() {
        return new PlanOptions(List.of(), List.of(), List.of(), DEFAULT_AGENT_IP, DEFAULT_AGENT_PORT);
    }

    public PlanOptions withLimit(List<String> l) {
        return new PlanOptions(l, tags, skipTags, agentIp, agentPort);
    }

    public PlanOptions withTags(List<String> t, List<String> skip) {
        return new PlanOptions(limit, t, skip, agentIp, agentPort);
    }
}
