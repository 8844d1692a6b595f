// Progress of a background job (an export or an import): the page asks for the job's
// status every second and reloads itself once the job has finished. Without JavaScript
// the page refreshes itself (a <noscript> refresh) instead.
(function () {
  "use strict";
  var panel = document.querySelector("[data-job-status]");
  if (!panel) return;
  var status = panel.getAttribute("data-status");
  if (status !== "queued" && status !== "running") return;
  var url = panel.getAttribute("data-job-status");
  var bar = panel.querySelector(".job-progress");
  var done = panel.querySelector(".job-done");
  var total = panel.querySelector(".job-total");

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (job) {
        bar.max = Math.max(job.total, 1);
        bar.value = job.done;
        bar.textContent = job.done + " / " + job.total;
        done.textContent = String(job.done);
        total.textContent = String(job.total);
        if (job.status === "queued" || job.status === "running") {
          setTimeout(poll, 1000);
        } else {
          window.location.reload();
        }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
