// Status > Cluster: the store's health, every core, and the link matrix (rows cores, columns
// edges), refreshed every 2.5 seconds.
"use strict";

const kRefreshMs = 2500;

// A badge whose class gives its colour: up/serving green, connecting/draining amber, the rest red.
function badge(text, kind) {
  const span = document.createElement("span");
  span.className = `badge ${kind}`;
  span.textContent = text;
  return span;
}

const kKinds = { up: "active", serving: "active", connecting: "connecting", draining: "connecting" };
const kind = (state) => kKinds[state] || "failed";

function stateCell(row, text, kindName, detail) {
  const td = row.insertCell();
  td.className = "state";
  td.appendChild(badge(text, kindName));
  if (detail) {
    const reason = document.createElement("span");
    reason.className = "reason";
    reason.textContent = detail;
    td.appendChild(reason);
  }
  return td;
}

function showStore(store) {
  const summary = document.getElementById("store-summary");
  summary.replaceChildren();
  const name = store.backend === "etcd" ? "etcd" : "SQLite (this core alone)";
  summary.appendChild(badge(store.healthy ? "Healthy" : "Unreachable", store.healthy ? "active" : "failed"));
  summary.append(` ${name}`);
  if (store.revision) summary.append(`, revision ${store.revision}`);
  if (store.last_error) summary.append(`: ${store.last_error}`);
  const table = document.getElementById("store");
  table.hidden = store.backend !== "etcd";
  const tbody = table.querySelector("tbody");
  tbody.replaceChildren();
  for (const member of store.endpoints) {
    const row = tbody.insertRow();
    row.dataset.state = member.healthy ? "healthy" : "unhealthy";
    edgeway.cell(row, member.url);
    stateCell(row, member.healthy ? "Healthy" : "Unhealthy", member.healthy ? "active" : "failed", member.error);
    edgeway.cell(row, member.leader ? "leader" : "");
    edgeway.cell(row, member.revision || "");
    edgeway.cell(row, member.version);
  }
  if (store.backend === "etcd" && store.endpoints.length === 0) edgeway.emptyRow(tbody, 5, "Not checked yet.");
}

function coreState(core) {
  if (core.lost) return ["lost", `no record since ${core.last_seen}`];
  if (core.stale) return [core.state, "as last read: the store cannot be read"];
  return [core.state, core.self ? "this core" : ""];
}

function showCores(cores) {
  const tbody = document.querySelector("#cores tbody");
  tbody.replaceChildren();
  for (const core of cores) {
    const row = tbody.insertRow();
    row.dataset.core = core.id;
    edgeway.cell(row, core.name);
    const [state, detail] = coreState(core);
    stateCell(row, state, kind(state), detail);
    edgeway.cell(row, core.version);
    edgeway.cell(row, edgeway.ago(core.started)).title = core.started;
    edgeway.cell(row, edgeway.ago(core.updated)).title = core.updated;
    const admin = row.insertCell();
    if (core.admin_url) {
      const link = document.createElement("a");
      link.href = core.admin_url;
      link.textContent = core.admin_url;
      admin.appendChild(link);
    }
  }
}

function showMatrix(body) {
  const head = document.querySelector("#matrix thead tr");
  head.replaceChildren();
  const corner = document.createElement("th");
  corner.textContent = "Core \\ edge";
  head.appendChild(corner);
  for (const edge of body.edges) {
    const th = document.createElement("th");
    th.textContent = edge.address;
    th.title = `${edge.name}: linked to ${edge.cores_up.length} of ${edge.cores.length} cores`;
    head.appendChild(th);
  }
  const tbody = document.querySelector("#matrix tbody");
  tbody.replaceChildren();
  for (const core of body.cores) {
    const row = tbody.insertRow();
    row.dataset.core = core.id;
    edgeway.cell(row, core.name);
    for (const edge of body.edges) {
      const link = body.links.find((l) => l.core === core.id && l.edge === edge.address);
      if (!link) {
        edgeway.cell(row, "not in its list", "empty");
        continue;
      }
      const streams = `${link.streams_open} streams open, ${link.links_up}/${link.links} links up`;
      const td = stateCell(row, link.state, kind(link.state), link.state === "up" ? streams : link.last_error);
      td.dataset.edge = edge.address;
      td.dataset.state = link.state;
      td.title = `since ${link.since}; ${link.requests} requests served`;
    }
  }
  if (body.edges.length === 0) edgeway.emptyRow(tbody, 1, "No edge configured on any core.");
}

async function loadCluster() {
  const { status, body } = await edgeway.api("GET", "/api/v1/status/cluster");
  if (status !== 200) {
    edgeway.showError("page-error", body.error || `Loading the cluster failed (${status}).`);
    return;
  }
  edgeway.showError("page-error", "");
  showStore(body.store);
  showCores(body.cores);
  showMatrix(body);
  document.getElementById("updated").textContent = new Date().toLocaleTimeString();
}

document.addEventListener("DOMContentLoaded", () => {
  const refresh = () => loadCluster().catch((e) => edgeway.showError("page-error", e.message));
  refresh();
  setInterval(refresh, kRefreshMs);
});
