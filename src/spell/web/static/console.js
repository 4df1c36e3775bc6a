// Progressive enhancement only: every page works without this file (forms post, pages reload).
// No inline script anywhere (the CSP forbids it): behaviour hangs off data- attributes.
"use strict";

function followCast(box) {
  const url = box.dataset.castEvents;
  const status = box.querySelector("[data-cast-status]");
  const bar = box.querySelector("progress");
  const log = box.querySelector("[data-cast-log]");
  const steps = box.querySelector("[data-cast-step]");
  const source = new EventSource(url);
  const terminal = ["succeeded", "failed", "timeout", "canceled", "aborted"];
  const show = (text) => { if (status) { status.textContent = text; status.className = "status status-" + text; } };
  const line = (text) => {
    if (!log) { return; }
    log.hidden = false;
    log.textContent += text.endsWith("\n") ? text : text + "\n";
    log.scrollTop = log.scrollHeight;
  };
  for (const type of ["queued", "running"]) {
    source.addEventListener(type, () => show(type));
  }
  source.addEventListener("progress", (event) => {
    const data = JSON.parse(event.data);
    if (steps) { steps.textContent = `${data.step}: ${data.event}${data.detail ? " (" + data.detail + ")" : ""}`; }
  });
  source.addEventListener("log", (event) => {
    const data = JSON.parse(event.data);
    line(`[${data.step || "cast"} ${data.stream || ""}] ${data.text || ""}`);
  });
  for (const type of terminal) {
    source.addEventListener(type, () => {
      show(type);
      source.close();
      if (bar) { bar.value = bar.max; }  // indeterminate while it runs: the step count is not known here
      // The result and artifact links are rendered by the server: fetch the finished page.
      window.location.reload();
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-cast-events]").forEach(followCast);
});
