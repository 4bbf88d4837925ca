// Status > Traversal links: one row per link and domain, refreshed every 2.5 seconds.
"use strict";

const kRefreshMs = 2500;

function badge(state) {
  const span = document.createElement("span");
  span.className = `badge ${state.toLowerCase()}`;
  span.textContent = state;
  return span;
}

async function loadLinks() {
  const { status, body } = await edgeway.api("GET", "/api/v1/status/links");
  if (status !== 200) {
    edgeway.showError("page-error", body.error || `Loading the links failed (${status}).`);
    return;
  }
  edgeway.showError("page-error", "");
  const tbody = document.querySelector("#links tbody");
  tbody.replaceChildren();
  for (const link of body.links) {
    // One row per domain, as on the appliance's tunnels page.
    const domains = link.domains.length > 0 ? link.domains : [""];
    for (const domain of domains) {
      const row = tbody.insertRow();
      row.dataset.state = link.state;
      edgeway.cell(row, link.peer);
      edgeway.cell(row, link.name);
      edgeway.cell(row, domain);
      const state = row.insertCell();
      state.className = "state";
      state.appendChild(badge(link.state));
      if (link.reason) {
        const reason = document.createElement("span");
        reason.className = "reason";
        reason.textContent = link.reason;
        state.appendChild(reason);
      }
      edgeway.cell(row, edgeway.ago(link.since)).title = link.since;
      edgeway.cell(row, link.streams_open);
      edgeway.cell(row, link.streams_total);
      edgeway.cell(row, edgeway.bytes(link.bytes_in)).title = `${link.bytes_in} bytes`;
      edgeway.cell(row, edgeway.bytes(link.bytes_out)).title = `${link.bytes_out} bytes`;
    }
  }
  if (body.links.length === 0) edgeway.emptyRow(tbody, 9, "No traversal links configured.");
  document.getElementById("updated").textContent = new Date().toLocaleTimeString();
}

document.addEventListener("DOMContentLoaded", () => {
  const refresh = () => loadLinks().catch((e) => edgeway.showError("page-error", e.message));
  refresh();
  setInterval(refresh, kRefreshMs);
});
