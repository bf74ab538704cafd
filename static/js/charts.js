// Draws every <div data-figure="ID"> from the JSON in <script type="application/json" id="ID">.
// The figures are plain dicts built on the server; no inline script is needed (CSP).
(function () {
  function draw(root) {
    if (!window.Plotly) return;
    root.querySelectorAll("[data-figure]").forEach(function (el) {
      var source = document.getElementById(el.dataset.figure);
      if (!source) return;
      var figure = JSON.parse(source.textContent);
      window.Plotly.react(el, figure.data, figure.layout, { displayModeBar: false, responsive: true });
      // A point whose customdata is a page of ours (a service map's function) opens it.
      if (el.dataset.clickLinks && !el.dataset.clickBound) {
        el.dataset.clickBound = "1";
        el.on("plotly_click", function (event) {
          var point = event.points && event.points[0];
          var url = point && point.customdata;
          if (typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/") window.location.href = url;
        });
      }
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (event) { draw(event.target); });
})();
