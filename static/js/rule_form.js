// The alert rule form: offer only the statistics the chosen metric is collected with, and
// show only the fields the chosen condition, comparison and target use. The server validates all
// of it again; without JavaScript every field stays visible.
(function () {
  "use strict";
  var data = document.getElementById("metric-statistics");
  var form = document.getElementById("rule-form");
  if (!data || !form) return;
  var statistics = JSON.parse(data.textContent);
  var metric = form.querySelector("#id_metric");
  var statistic = form.querySelector("#id_statistic");
  var operator = form.querySelector("#id_operator");
  var condition = form.querySelector("#id_condition");
  var target = form.querySelector("#id_target");
  var TARGETS = { account: "target_account", kind: "target_kind", project: "target_project",
    resources: "target_resources" };
  var FIELDS = {
    threshold: ["metric", "statistic", "operator", "threshold", "threshold_upper", "window_minutes",
      "evaluation_periods", "breaching_periods", "missing_data", "min_interval_minutes"],
    new_error_group: ["error_kinds", "min_interval_minutes"],
    error_occurrence: ["error_kinds", "max_notifications_per_hour"],
    new_finding: ["finding_severity", "min_interval_minutes"],
    anomaly: ["metric", "statistic", "min_interval_minutes"],
  };
  var CONDITIONAL = ["metric", "statistic", "operator", "threshold", "threshold_upper", "window_minutes",
    "evaluation_periods", "breaching_periods", "missing_data", "error_kinds", "finding_severity",
    "max_notifications_per_hour", "min_interval_minutes"];

  function row(name) {  // the field's <div> (the form is rendered with as_div)
    var input = form.querySelector("#id_" + name);
    while (input && input.parentElement !== form) input = input.parentElement;
    return input;
  }

  function syncStatistics() {
    var allowed = statistics[metric.value] || [];
    Array.prototype.forEach.call(statistic.options, function (option) {
      var ok = option.value === "" ? allowed.length === 0 : allowed.indexOf(option.value) !== -1;
      option.hidden = !ok;
      option.disabled = !ok;
    });
    if (statistic.selectedOptions.length && statistic.selectedOptions[0].disabled) {
      statistic.value = allowed.length ? allowed[0] : "";
    }
  }

  function syncRows() {
    var shown = FIELDS[condition.value] || CONDITIONAL;
    CONDITIONAL.forEach(function (name) {
      var r = row(name);
      if (r) r.hidden = shown.indexOf(name) === -1;
    });
    Object.keys(TARGETS).forEach(function (value) {
      var r = row(TARGETS[value]);
      if (r && target) r.hidden = target.value !== value;
    });
    var upper = row("threshold_upper");
    if (upper && condition.value === "threshold") upper.hidden = operator.value !== "outside";
  }

  metric.addEventListener("change", syncStatistics);
  condition.addEventListener("change", syncRows);
  operator.addEventListener("change", syncRows);
  if (target) target.addEventListener("change", syncRows);
  syncStatistics();
  syncRows();
})();
