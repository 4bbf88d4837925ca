// What every page behind the login shares: the session (user and CSRF token), API calls that
// send the token on changes, the navigation (only the pages this node has) and the log-out
// button. Text goes into the page with textContent only, never as HTML.
"use strict";

const edgeway = (() => {
  let session = null;

  async function currentSession() {
    if (session) return session;
    const response = await fetch("/api/v1/session", { credentials: "same-origin" });
    if (response.status === 401) {
      window.location.assign("/login");
      throw new Error("not logged in");
    }
    session = await response.json();
    document.getElementById("who").textContent = session.user;
    return session;
  }

  // Returns {status, body}; a 401 (session expired) goes back to the login page.
  async function api(method, path, body) {
    const { csrf_token } = await currentSession();
    const options = { method, credentials: "same-origin", headers: {} };
    if (method !== "GET") options.headers["X-CSRF-Token"] = csrf_token;
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    if (response.status === 401) {
      window.location.assign("/login");
      throw new Error("session expired");
    }
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : {} };
  }

  function showError(id, message) {
    const element = document.getElementById(id);
    element.textContent = message || "";
    element.hidden = !message;
  }

  function cell(row, text, className) {
    const td = row.insertCell();
    td.textContent = text === undefined || text === null ? "" : String(text);
    if (className) td.className = className;
    return td;
  }

  function emptyRow(tbody, columns, text) {
    const row = tbody.insertRow();
    const td = cell(row, text, "empty");
    td.colSpan = columns;
  }

  // The navigation: [group, label, path, feature the node must have (or null)].
  const kPages = [
    [null, "HTTP allow list", "/rules", "rules"],
    [null, "Meeting Server web proxy", "/webproxy", "web_proxy"],
    ["Status", "Traversal links", "/status/links", "links"],
    ["Status", "Cluster", "/status/cluster", "cluster"],
    ["Status", "Relay usage", "/status/relay", "relay"],
    ["System", "Administration", "/system", null],
    [null, "Logs", "/logs", "logs"],
  ];

  let nodeInfo = null;
  async function node() {
    if (nodeInfo) return nodeInfo;
    const { status, body } = await api("GET", "/api/v1/node");
    if (status !== 200) throw new Error(body.error || `Loading the node failed (${status}).`);
    nodeInfo = body;
    return nodeInfo;
  }

  async function renderNavigation() {
    const nav = document.getElementById("nav");
    if (!nav) return;
    const info = await node();
    const role = document.getElementById("role");
    if (role) role.textContent = info.role;
    nav.replaceChildren();
    for (const [group, label, path, feature] of kPages) {
      if (feature && !info.features[feature]) continue;
      const link = document.createElement("a");
      link.href = path;
      link.textContent = group ? `${group} \u203a ${label}` : label;
      if (path === window.location.pathname) link.className = "current";
      nav.appendChild(link);
    }
  }

  // "1.2 MiB" for a byte count.
  function bytes(count) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let value = Number(count) || 0;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
  }

  // "3 min ago" for an ISO-8601 time.
  function ago(iso) {
    const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (!Number.isFinite(seconds)) return iso;
    if (seconds < 60) return `${seconds} s ago`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
    if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min ago`;
    return `${Math.floor(seconds / 86400)} d ago`;
  }

  // Shows a 422's message beside the field it names (a .field-error[data-field=...] in form),
  // else in the element with id fallback.
  function showFieldError(form, body, status, fallback) {
    const message = body.error || `The request failed (${status}).`;
    const field = body.field || "";
    // "web_proxy.join_urls[1]" goes to the slot for "web_proxy.join_urls".
    const slot =
      form.querySelector(`.field-error[data-field="${CSS.escape(field)}"]`) ||
      form.querySelector(`.field-error[data-field="${CSS.escape(field.replace(/\[\d+\]$/, ""))}"]`);
    if (slot) slot.textContent = message;
    else showError(fallback, message);
  }

  function clearFieldErrors(form, fallback) {
    for (const element of form.querySelectorAll(".field-error")) element.textContent = "";
    if (fallback) showError(fallback, "");
  }

  document.addEventListener("DOMContentLoaded", () => {
    renderNavigation().catch((e) => showError("page-error", e.message));
    document.getElementById("logout").addEventListener("click", async () => {
      await api("DELETE", "/api/v1/session").catch(() => {});
      window.location.assign("/login");
    });
  });

  return { api, currentSession, node, showError, cell, emptyRow, bytes, ago, showFieldError, clearFieldErrors };
})();
