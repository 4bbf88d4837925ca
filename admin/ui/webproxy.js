// The Meeting Server web proxy page: what the guest account client URIs resolved to.
"use strict";

async function loadTargets() {
  const { status, body } = await edgeway.api("GET", "/api/v1/status/targets");
  if (status !== 200) {
    edgeway.showError("page-error", body.error || `Loading the targets failed (${status}).`);
    return;
  }
  const tbody = document.querySelector("#targets tbody");
  tbody.replaceChildren();
  for (const target of body.targets) {
    const row = tbody.insertRow();
    edgeway.cell(row, target.uri);
    edgeway.cell(row, target.name);
    edgeway.cell(row, target.address);
    edgeway.cell(row, target.error, target.error ? "error" : "");
    edgeway.cell(row, target.checked_at);
  }
  if (body.targets.length === 0) edgeway.emptyRow(tbody, 5, "Not resolved yet.");
}

document.addEventListener("DOMContentLoaded", () => {
  loadTargets().catch((e) => edgeway.showError("page-error", e.message));
});
