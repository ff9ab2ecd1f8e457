// obplay serve, the DAG page: live updates on top of server-rendered HTML. Without this script every page still
// shows everything (reload to update); with it, <main id="live"> is replaced every second by the server's own
// rendering of it (?fragment=1, escaped by the server), and a cell's logs open in a dialog.
(function () {
  'use strict';
  var live = document.getElementById('live');
  var status = document.getElementById('live-status');
  var dialog = document.getElementById('logs');
  var logsBody = document.getElementById('logs-body');
  var logsSrc = null;
  var lastTag = null;

  // the page's URL may hold credentials (http://user:pw@host/): fetch needs URLs without them
  function url(path) {
    return new URL(path, window.location.origin).toString();
  }

  function get(path, etag) {
    var headers = { 'X-Obplay-UI': 'fragment' };
    if (etag) { headers['If-None-Match'] = etag; }
    return fetch(url(path), { headers: headers, cache: 'no-store', credentials: 'same-origin' })
      .then(function (r) {
        if (r.status === 304) { return null; } // unchanged since the last update
        if (!r.ok) { throw new Error('HTTP ' + r.status); }
        if (etag !== undefined) { lastTag = r.headers.get('ETag'); }
        return r.text();
      });
  }

  function say(text) {
    if (status) { status.textContent = text; }
  }

  function refresh() {
    var src = live.getAttribute('data-live');
    get(src, lastTag || null).then(function (html) {
      if (html !== null) { // null: unchanged, the DOM (focus, selection, scroll) is left alone
        var focused = document.activeElement && document.activeElement.id;
        live.innerHTML = html;
        if (focused) {
          var again = document.getElementById(focused);
          if (again) { again.focus(); }
        }
      }
      var frag = live.firstElementChild;
      var finished = frag && frag.getAttribute('data-finished') === 'true';
      say('live · updated ' + new Date().toLocaleTimeString());
      if (dialog && dialog.open && logsSrc) { loadLogs(logsSrc); }
      window.setTimeout(refresh, finished ? 5000 : 1000);
    }).catch(function (e) {
      say('live updates stopped (' + e.message + '): reload the page');
    });
  }

  function loadLogs(href) {
    logsSrc = href;
    return get(href + (href.indexOf('?') < 0 ? '?' : '&') + 'fragment=1').then(function (html) {
      logsBody.innerHTML = html;
    });
  }

  if (live && live.getAttribute('data-live')) {
    var first = live.firstElementChild;
    window.setTimeout(refresh, first && first.getAttribute('data-finished') === 'true' ? 5000 : 1000);
  }

  if (dialog && typeof dialog.showModal === 'function') {
    document.addEventListener('click', function (e) {
      var a = e.target.closest ? e.target.closest('a.sub') : null;
      if (!a || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) { return; }
      e.preventDefault();
      loadLogs(a.getAttribute('href')).then(function () {
        if (!dialog.open) { dialog.showModal(); }
      }).catch(function (err) {
        window.location.href = a.href;
      });
    });
    dialog.addEventListener('close', function () { logsSrc = null; });
  }
}());
