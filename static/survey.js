// Progressive enhancement only: the survey works without JavaScript.
(function () {
  "use strict";
  var form = document.querySelector("form.survey");
  if (!form) return;

  function value(name) {
    var inputs = form.querySelectorAll('[name="' + name + '"]');
    for (var i = 0; i < inputs.length; i++) {
      var el = inputs[i];
      if ((el.type === "radio" || el.type === "checkbox") ? el.checked : el.value !== "") return el.value;
    }
    return null;
  }

  function holds(rule) {
    var v = value(rule.field);
    if (v === null) return form.querySelector('[name="' + rule.field + '"]') ? false : null;
    var n = Number(v), isNum = v !== "" && !isNaN(n);
    if (rule.in) return rule.in.some(function (x) { return String(x) === v; });
    if (rule.equals !== null) return String(rule.equals) === v;
    if (rule.min !== null && (!isNum || n < rule.min)) return false;
    if (rule.max !== null && (!isNum || n > rule.max)) return false;
    return true;
  }

  // Items whose condition reads an answer on this page are shown and hidden live; hidden
  // inputs are disabled so they are not sent (the server ignores them anyway).
  var conditional = form.querySelectorAll("[data-show-if]");
  function refresh() {
    conditional.forEach(function (el) {
      var shown = holds(JSON.parse(el.getAttribute("data-show-if")));
      if (shown === null) return; // the condition is on an earlier page: the server decided
      el.hidden = !shown;
      el.querySelectorAll("input, textarea").forEach(function (i) { i.disabled = !shown; });
    });
  }
  form.addEventListener("change", refresh);
  refresh();

  // An optional question answered by mistake can be cleared (a radio cannot be unticked).
  form.querySelectorAll("button.clear").forEach(function (button) {
    var name = button.getAttribute("data-clear");
    var radios = form.querySelectorAll('input[name="' + name + '"]');
    function sync() { button.hidden = value(name) === null; }
    button.addEventListener("click", function () {
      radios.forEach(function (r) { r.checked = false; });
      sync();
      refresh();
      if (radios.length) radios[0].focus();
    });
    radios.forEach(function (r) { r.addEventListener("change", sync); });
    sync();
  });

  // One submission per page view: a double click sends the form once.
  var sent = false;
  form.addEventListener("submit", function (event) {
    if (sent) { event.preventDefault(); return; }
    sent = true;
    setTimeout(function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    }, 0);
  });

  var summary = document.getElementById("errors");
  if (summary) summary.focus();
})();
