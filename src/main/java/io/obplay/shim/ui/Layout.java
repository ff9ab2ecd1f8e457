package io.obplay.shim.ui;

import io.obplay.plan.Dag;
import io.obplay.plan.Html;

/** What every page of the DAG page has around its content: the header, the live part, the logs dialog; and the error page. */
final class Layout {
    private final String agentAddress;

    Layout(String agentAddress) {
        this.agentAddress = agentAddress;
    }

    static void item(StringBuilder b, String term, String html) {
        b.append("<dt>").append(term).append("</dt><dd>").append(html).append("</dd>\n");
    }

    Page missing(DagPages.Request r, String why) {
        return error(r, 404, "Not found", why, null);
    }

    Page notFound(DagPages.Request r) {
        return error(r, 404, "Not found", "no page " + r.path() + " on this server", null);
    }

    Page error(DagPages.Request r, int status, String title, String message, Dag back) {
        String body = "<h1>" + Html.text(title) + "</h1>\n<p class=\"notice error\" role=\"alert\" id=\"error\">" + Html.text(message) + "</p>\n"
                + "<p>" + (back == null ? "" : "<a href=\"/ui/dags/" + back.dagId() + "\">Back to DAG " + Html.text(back.id()) + "</a> · ")
                + "<a href=\"/ui\">All DAGs</a></p>\n";
        return Page.html(status, page(title + " · obplay serve", r, null, "", body));
    }

    /**
     * The page around the content: the header, and {@code <main id="live">} whose content {@code page.js} replaces
     * by {@code live}'s answer (null: not live).
     */
    String page(String title, DagPages.Request r, String live, String notice, String content) {
        StringBuilder b = new StringBuilder(content.length() + 2048);
        b.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
                .append("<title>").append(Html.text(title)).append("</title>\n")
                .append("<link rel=\"icon\" href=\"data:,\">\n")
                .append("<link rel=\"stylesheet\" href=\"/ui/static/dag.css\">\n")
                .append("<script src=\"/ui/static/page.js\" defer></script>\n</head>\n<body>\n")
                .append("<header class=\"top\"><a href=\"/ui\" id=\"home\">obplay serve</a><span>").append(Html.text(agentAddress))
                .append("</span><span class=\"live\" id=\"live-status\" role=\"status\" aria-live=\"polite\"></span>")
                .append("<span class=\"who\">").append(Html.text(r.user())).append("</span></header>\n");
        b.append(notice);
        b.append("<main id=\"live\"");
        if (live != null) {
            b.append(" data-live=\"").append(Html.text(live)).append("\"");
        }
        b.append(">\n").append(content).append("</main>\n");
        b.append("<dialog id=\"logs\" aria-labelledby=\"logs-title\"><div id=\"logs-body\"></div>")
                .append("<form method=\"dialog\"><button type=\"submit\" id=\"logs-close\">Close</button></form></dialog>\n");
        b.append("</body>\n</html>\n");
        return b.toString();
    }
}
