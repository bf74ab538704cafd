// Log search in the page (progressive enhancement: without this file the form and its links
// load the whole page). Each search is fetched as a fragment under an id of its own; when
// another search starts or the page is left, the request is aborted and the server is asked
// to cancel that search's query in the database (POST logs/cancel/, sent as a beacon).
(function () {
  var form = document.querySelector("form[data-log-search-form]");
  var results = document.getElementById("log-results");
  if (!form || !results || !window.fetch || !window.AbortController || !window.URLSearchParams) return;
  var resultsUrl = form.getAttribute("data-results-url");
  var cancelUrl = form.getAttribute("data-cancel-url");
  var csrf = form.getAttribute("data-csrf");
  var running = null; // {id, controller}

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(16) + "-" + Math.random().toString(16).slice(2, 14);
  }

  function cancel() {
    if (!running) return;
    var stopped = running;
    running = null;
    stopped.controller.abort();
    var body = new FormData();
    body.append("search", stopped.id);
    body.append("csrfmiddlewaretoken", csrf);
    if (navigator.sendBeacon) {
      navigator.sendBeacon(cancelUrl, body);
    } else {
      fetch(cancelUrl, { method: "POST", body: body, credentials: "same-origin", keepalive: true }).catch(function () {});
    }
  }

  function show(html) {
    results.innerHTML = html;
    results.removeAttribute("aria-busy");
  }

  function search(query, push) {
    cancel();
    var current = { id: newId(), controller: new AbortController() };
    running = current;
    results.setAttribute("aria-busy", "true");
    results.setAttribute("data-search-id", current.id);
    var status = results.querySelector(".search-status");
    if (!status) {
      status = document.createElement("p");
      status.className = "muted search-status";
      results.insertBefore(status, results.firstChild);
    }
    status.textContent = "Searching…";
    if (push) history.pushState(null, "", "?" + query);
    var params = new URLSearchParams(query);
    params.set("search", current.id);
    fetch(resultsUrl + "?" + params.toString(), { signal: current.controller.signal, credentials: "same-origin" })
      .then(function (response) {
        return response.text().then(function (text) { return { status: response.status, text: text }; });
      })
      .then(function (answer) {
        if (running !== current) return; // another search took over
        running = null;
        if (answer.status === 204) return;
        if (answer.status >= 500) {
          show('<p class="message message-error" role="alert">The search failed on the server. Try again in a moment.</p>');
        } else {
          show(answer.text);
        }
      })
      .catch(function (error) {
        if (error && error.name === "AbortError") return;
        if (running !== current) return;
        running = null;
        show('<p class="message message-error" role="alert">The search could not reach the server. Check the connection and search again.</p>');
      });
  }

  // Set the form from a link's query, so that the fields say what is shown.
  function fill(params) {
    Array.prototype.forEach.call(form.elements, function (field) {
      if (field.name && params.has(field.name)) field.value = params.get(field.name);
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    search(new URLSearchParams(new FormData(form)).toString(), true);
  });
  results.addEventListener("click", function (event) {
    var link = event.target instanceof Element ? event.target.closest("a[data-log-search]") : null;
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    var query = link.search.replace(/^\?/, "");
    fill(new URLSearchParams(query));
    search(query, true);
  });
  window.addEventListener("popstate", function () {
    var query = location.search.replace(/^\?/, "");
    fill(new URLSearchParams(query));
    search(query, false);
  });
  window.addEventListener("pagehide", cancel);
})();
