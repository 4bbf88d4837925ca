// The Meeting Server web proxy page: enable/disable and the guest account client URIs (with the
// API's validation messages beside the field), and what the URIs resolved to.
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
    // The web bridge's health as this core's requests and checks find it.
    const state = target.reason ? `${target.state}: ${target.reason}` : target.state || "";
    edgeway.cell(row, state, target.state === "Down" ? "error" : "");
    edgeway.cell(row, target.since || "");
    edgeway.cell(row, target.address ? String(target.requests) : "");
  }
  if (body.targets.length === 0) edgeway.emptyRow(tbody, 8, "Not resolved yet.");
}

async function loadSettings() {
  const { status, body } = await edgeway.api("GET", "/api/v1/config");
  if (status !== 200 || !body.web_proxy) {
    edgeway.showError("page-error", body.error || `Loading the settings failed (${status}).`);
    return;
  }
  document.getElementById("enabled").checked = body.web_proxy.enabled;
  document.getElementById("join-urls").value = body.web_proxy.join_urls.join("\n");
  document.getElementById("webproxy-source").textContent = body.web_proxy.source;
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("webproxy-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    edgeway.clearFieldErrors(form, "webproxy-error");
    edgeway.showError("webproxy-saved", "");
    const joinUrls = form.join_urls.value
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line !== "");
    const { status, body } = await edgeway.api("PUT", "/api/v1/config", {
      web_proxy: { enabled: form.enabled.checked, join_urls: joinUrls },
    });
    if (status !== 200) {
      edgeway.showFieldError(form, body, status, "webproxy-error");
      return;
    }
    edgeway.showError("webproxy-saved", "Saved. The core applies it within a few seconds.");
    await loadSettings();
    await loadTargets();
  });
  loadSettings().catch((e) => edgeway.showError("page-error", e.message));
  loadTargets().catch((e) => edgeway.showError("page-error", e.message));
});
