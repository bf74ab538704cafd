// Progressive enhancement only: every page works without this file.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el instanceof HTMLSelectElement && el.hasAttribute("data-autosubmit") && el.form) {
    el.form.requestSubmit();
  }
});

// On narrow screens the main navigation folds behind a "Menu" button. Without this script the
// button stays hidden and the navigation shows as a row of links that wraps (see app.css).
(function () {
  var toggle = document.querySelector(".menu-toggle");
  var nav = document.getElementById("sidenav");
  if (!toggle || !nav) return;
  document.documentElement.classList.add("js-menu");
  toggle.hidden = false;
  toggle.addEventListener("click", function () {
    var open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    nav.classList.toggle("open", open);
  });
})();

// Copy buttons (ARNs, request ids): <button data-copy="text">. Without the clipboard API
// (plain HTTP, old browsers) the button selects the text next to it instead.
document.addEventListener("click", function (event) {
  var button = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
  if (!button) return;
  var text = button.getAttribute("data-copy") || "";
  var label = button.getAttribute("aria-label") || "Copy";
  var done = function () {
    button.classList.add("copied");
    button.setAttribute("aria-label", "Copied");
    setTimeout(function () { button.classList.remove("copied"); button.setAttribute("aria-label", label); }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, function () {});
  } else {
    var target = button.previousElementSibling;
    if (target) { var range = document.createRange(); range.selectNodeContents(target); var sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range); }
  }
});
