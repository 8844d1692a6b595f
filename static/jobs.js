// Progress of background jobs (exports and imports), as progressive enhancement.
// 1. A job's page asks for the job's status every second and reloads itself once the
//    job has finished (without JavaScript a <noscript> refresh does it).
// 2. An upload form marked data-upload-progress sends its file with XMLHttpRequest to
//    show how much has been sent, then follows the server's answer (the job's page).
(function () {
  "use strict";

  var panel = document.querySelector("[data-job-status]");
  if (panel) {
    var status = panel.getAttribute("data-status");
    if (status === "queued" || status === "running") {
      var url = panel.getAttribute("data-job-status");
      var bar = panel.querySelector(".job-progress");
      var percent = panel.querySelector(".job-percent");
      var poll = function () {
        fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
          .then(function (response) { return response.json(); })
          .then(function (job) {
            bar.max = Math.max(job.total, 1);
            bar.value = job.done;
            bar.textContent = job.done + " / " + job.total;
            percent.textContent = String(job.total ? Math.round(100 * job.done / job.total) : 0);
            if (job.status === "queued" || job.status === "running") {
              setTimeout(poll, 1000);
            } else {
              window.location.reload();
            }
          })
          .catch(function () { setTimeout(poll, 3000); });
      };
      setTimeout(poll, 500);
    }
  }

  var form = document.querySelector("form[data-upload-progress]");
  if (form && window.XMLHttpRequest && window.FormData) {
    var shown = form.querySelector(".upload-progress");
    var sent = shown.querySelector("progress");
    var label = shown.querySelector("span");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var request = new XMLHttpRequest();
      request.open("POST", form.getAttribute("action") || window.location.href);
      request.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) return;
        shown.hidden = false;
        sent.max = e.total;
        sent.value = e.loaded;
        label.textContent = Math.round(100 * e.loaded / e.total) + "%";
      });
      request.addEventListener("load", function () {
        if (request.status < 400 && request.responseURL) {
          window.location.assign(request.responseURL);  // the job's page
        } else {
          document.open();
          document.write(request.responseText);  // the form again, with its problem
          document.close();
        }
      });
      request.addEventListener("error", function () { form.submit(); });
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
      request.send(new FormData(form));
    });
  }
})();
