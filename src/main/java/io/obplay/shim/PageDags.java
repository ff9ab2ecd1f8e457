package io.obplay.shim;

import io.obplay.plan.Dag;
import io.obplay.shim.ui.DagPages;
import io.obplay.shim.ui.DagSource;
import io.obplay.store.Store;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The DAG page's view of the server: the DAGs of {@link DagService} read through reconcile, and its operators, on
 * the code path of {@code POST /api/v1/task/dag/{id}} (same transitions, same refusals). {@link #handle} is the
 * route of {@link DagPages#PATHS}.
 */
final class PageDags implements DagSource {
    private final DagService dags;
    private final Store store;
    private final DagPages pages;

    PageDags(DagService dags, boolean tls) {
        this.dags = dags;
        this.store = dags.store();
        this.pages = new DagPages(this, tls);
    }

    /** The route: the page's answer as the data of the exchange (ShimServer writes a {@link io.obplay.shim.ui.Page} as it is). */
    Api.Response handle(Api.Call c, String method) {
        io.obplay.shim.ui.Page page = pages.handle(new DagPages.Request(method, c.param(0), c.query(), c.headers(), c.body(),
                c.user() == null ? "anonymous" : c.user()));
        return new Api.Response(page.status(), page);
    }

    /** Whether a path is one of the page's (a refused login there gets {@code WWW-Authenticate}, so a browser asks). */
    static boolean isPage(String path) {
        return PAGE_PATHS.matcher(path).matches();
    }

    private static final java.util.regex.Pattern PAGE_PATHS = java.util.regex.Pattern.compile(DagPages.PATHS);

    @Override
    public List<Dag> dags(int limit) {
        List<Dag> out = new ArrayList<>();
        for (Dag d : store.dags(limit)) {
            out.add(d.finished() ? d : dags.dag(d.dagId()).map(x -> x.withNodes(List.of())).orElse(d));
        }
        return out;
    }

    @Override
    public Optional<Dag> dag(long dagId) {
        return dags.dag(dagId);
    }

    @Override
    public Optional<Long> dagOfSubTask(long taskId) {
        return store.nodeOfSubTask(taskId).flatMap(store::dagOfNode);
    }

    @Override
    public Optional<String> owner(long dagId) {
        return store.owner(dagId);
    }

    @Override
    public void operate(long dagId, String operator) throws Refusal {
        try {
            dags.operate(dagId, operator);
        } catch (ApiException e) {
            throw new Refusal(e.status(), e.errCode(), e.getMessage());
        }
    }

    @Override
    public String agentAddress() {
        return dags.agentAddress();
    }
}
