// Logs: the node's recent requests, newest first, filtered by the form (refused only, status,
// text). The filter is kept in the page's URL so a view can be shared or reloaded.
"use strict";

function queryFromForm(form) {
  const query = new URLSearchParams();
  if (form.refused.checked) query.set("refused", "1");
  if (form.status.value.trim() !== "") query.set("status", form.status.value.trim());
  if (form.q.value !== "") query.set("q", form.q.value);
  return query;
}

async function loadRequests(form) {
  edgeway.clearFieldErrors(form, "filter-error");
  const query = queryFromForm(form);
  const { status, body } = await edgeway.api("GET", `/api/v1/logs?${query}`);
  if (status !== 200) {
    edgeway.showFieldError(form, body, status, "filter-error");
    return;
  }
  history.replaceState(null, "", query.toString() ? `/logs?${query}` : "/logs");
  const tbody = document.querySelector("#requests tbody");
  tbody.replaceChildren();
  for (const request of body.requests) {
    const row = tbody.insertRow();
    edgeway.cell(row, request.at);
    edgeway.cell(row, request.client);
    edgeway.cell(row, request.method);
    edgeway.cell(row, request.host);
    edgeway.cell(row, request.path);
    edgeway.cell(row, request.status, request.refused ? "error" : "");
    edgeway.cell(row, request.refusal);
    edgeway.cell(row, request.detail);
    edgeway.cell(row, edgeway.bytes(request.bytes_in));
    edgeway.cell(row, edgeway.bytes(request.bytes_out));
    edgeway.cell(row, request.duration_ms);
  }
  if (body.requests.length === 0) edgeway.emptyRow(tbody, 11, "No requests match.");
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("log-filter");
  const initial = new URLSearchParams(window.location.search);
  form.refused.checked = initial.get("refused") === "1";
  form.status.value = initial.get("status") || "";
  form.q.value = initial.get("q") || "";
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    loadRequests(form).catch((e) => edgeway.showError("page-error", e.message));
  });
  loadRequests(form).catch((e) => edgeway.showError("page-error", e.message));
});
