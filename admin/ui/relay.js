// Status > Relay usage: the TURN relay's allocations, refreshed every 3 seconds.
"use strict";

async function loadAllocations() {
  const { status, body } = await edgeway.api("GET", "/api/v1/status/relay");
  if (status !== 200) {
    edgeway.showError("page-error", body.error || `Loading the allocations failed (${status}).`);
    return;
  }
  const tbody = document.querySelector("#allocations tbody");
  tbody.replaceChildren();
  for (const allocation of body.allocations) {
    const row = tbody.insertRow();
    edgeway.cell(row, allocation.user);
    edgeway.cell(row, allocation.client);
    edgeway.cell(row, allocation.relayed);
    edgeway.cell(row, allocation.peers.join(", "));
    edgeway.cell(row, edgeway.bytes(allocation.bytes_in));
    edgeway.cell(row, edgeway.bytes(allocation.bytes_out));
    edgeway.cell(row, edgeway.ago(allocation.created)).title = allocation.created;
  }
  if (body.allocations.length === 0) edgeway.emptyRow(tbody, 7, "No allocations in progress.");
}

document.addEventListener("DOMContentLoaded", () => {
  const refresh = () => loadAllocations().catch((e) => edgeway.showError("page-error", e.message));
  refresh();
  setInterval(refresh, 3000);
});
