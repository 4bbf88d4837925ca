// System > Administration: the admin listener's address (moved live), the local accounts, the
// certificates (shown, and replaced by an upload) and the audit log.
"use strict";

async function loadListen() {
  const { status, body } = await edgeway.api("GET", "/api/v1/config");
  if (status !== 200) throw new Error(body.error || `Loading the settings failed (${status}).`);
  document.getElementById("listen").value = body.admin.listen;
  document.getElementById("bound").textContent = body.admin.bound;
  document.getElementById("listen-source").textContent = body.admin.source;
}

async function loadAccounts() {
  const { status, body } = await edgeway.api("GET", "/api/v1/accounts");
  if (status !== 200) throw new Error(body.error || `Loading the accounts failed (${status}).`);
  const tbody = document.querySelector("#accounts tbody");
  tbody.replaceChildren();
  for (const account of body.accounts) {
    const row = tbody.insertRow();
    row.dataset.name = account.name;
    edgeway.cell(row, account.name);
    edgeway.cell(row, account.created_at);
    edgeway.cell(row, account.password_changed_at);
    const button = document.createElement("button");
    button.className = "danger";
    button.textContent = "Delete";
    button.addEventListener("click", () => deleteAccount(account.name));
    row.insertCell().appendChild(button);
  }
}

async function deleteAccount(name) {
  edgeway.showError("accounts-error", "");
  const { status, body } = await edgeway.api("DELETE", `/api/v1/accounts/${encodeURIComponent(name)}`);
  if (status !== 200) edgeway.showError("accounts-error", body.error || `Delete failed (${status}).`);
  await loadAccounts();
  await loadAudit();
}

function describe(list, label, value) {
  const dt = document.createElement("dt");
  dt.textContent = label;
  const dd = document.createElement("dd");
  dd.textContent = value;
  list.append(dt, dd);
}

// The certificates that take a private key with them (a CA slot takes the certificate alone).
const withKey = new Map();

function showKeyField() {
  const which = document.getElementById("certificate-name").value;
  document.getElementById("key-field").hidden = withKey.get(which) === false;
}

async function loadCertificates() {
  const { status, body } = await edgeway.api("GET", "/api/v1/certificates");
  if (status !== 200) throw new Error(body.error || `Loading the certificates failed (${status}).`);
  const box = document.getElementById("certificates");
  const select = document.getElementById("certificate-name");
  box.replaceChildren();
  select.replaceChildren();
  for (const certificate of body.certificates) {
    const item = document.createElement("div");
    item.className = "certificate";
    item.dataset.name = certificate.name;
    const title = document.createElement("h3");
    title.textContent = `${certificate.name}: ${certificate.purpose}`;
    const list = document.createElement("dl");
    if (certificate.error) {
      describe(list, "Error", certificate.error);
    } else {
      describe(list, "Subject", certificate.subject);
      describe(list, "Names", certificate.names.join(", "));
      describe(list, "Issuer", certificate.issuer);
      describe(list, "Valid", `${certificate.not_before} to ${certificate.not_after}`);
      describe(list, "SHA-256", certificate.sha256);
    }
    item.append(title, list);
    for (const warning of certificate.warnings || []) {
      const p = document.createElement("p");
      p.className = "warning";
      p.textContent = warning;
      item.appendChild(p);
    }
    box.appendChild(item);
    const option = document.createElement("option");
    option.value = certificate.name;
    option.textContent = certificate.purpose;
    select.appendChild(option);
    withKey.set(certificate.name, certificate.private_key !== false);
  }
  showKeyField();
}

async function loadAudit() {
  const { status, body } = await edgeway.api("GET", "/api/v1/audit?limit=50");
  if (status !== 200) throw new Error(body.error || `Loading the audit log failed (${status}).`);
  const tbody = document.querySelector("#audit tbody");
  tbody.replaceChildren();
  for (const entry of body.entries) {
    const row = tbody.insertRow();
    edgeway.cell(row, entry.at);
    edgeway.cell(row, entry.who);
    edgeway.cell(row, entry.action);
    edgeway.cell(row, entry.detail);
  }
  if (body.entries.length === 0) edgeway.emptyRow(tbody, 4, "No changes yet.");
}

// Fills a textarea from a chosen file (read in the browser; nothing is sent until Upload).
function fillFromFile(inputId, textareaId) {
  document.getElementById(inputId).addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (file) document.getElementById(textareaId).value = await file.text();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const fail = (e) => edgeway.showError("page-error", e.message);

  const listenForm = document.getElementById("listen-form");
  listenForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    edgeway.clearFieldErrors(listenForm, "listen-error");
    edgeway.showError("listen-saved", "");
    const { status, body } = await edgeway.api("PUT", "/api/v1/config", {
      admin: { listen: listenForm.listen.value.trim() },
    });
    if (status !== 200) {
      edgeway.showFieldError(listenForm, body, status, "listen-error");
      return;
    }
    const port = body.admin.bound.slice(body.admin.bound.lastIndexOf(":") + 1);
    const here = window.location.port || "443";
    edgeway.showError(
      "listen-saved",
      port === here
        ? "Saved."
        : `Saved: the administration now answers on port ${port}: https://${window.location.hostname}:${port}/`,
    );
    document.getElementById("bound").textContent = body.admin.bound;
    document.getElementById("listen-source").textContent = body.admin.source;
  });

  const accountForm = document.getElementById("account-form");
  accountForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    edgeway.clearFieldErrors(accountForm, "accounts-error");
    edgeway.showError("account-saved", "");
    const name = accountForm.name.value.trim();
    const password = accountForm.password.value;
    const exists = document.querySelector(`#accounts tr[data-name="${CSS.escape(name)}"]`);
    const { status, body } = exists
      ? await edgeway.api("PUT", `/api/v1/accounts/${encodeURIComponent(name)}`, { password })
      : await edgeway.api("POST", "/api/v1/accounts", { name, password });
    if (status !== 200 && status !== 201) {
      edgeway.showFieldError(accountForm, body, status, "accounts-error");
      return;
    }
    accountForm.password.value = "";
    edgeway.showError("account-saved", exists ? `Password of ${name} changed.` : `Account ${name} added.`);
    await loadAccounts();
    await loadAudit();
  });

  fillFromFile("certificate-file", "certificate-pem");
  fillFromFile("key-file", "key-pem");
  const certificateForm = document.getElementById("certificate-form");
  document.getElementById("certificate-name").addEventListener("change", showKeyField);
  certificateForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    edgeway.clearFieldErrors(certificateForm, "certificate-error");
    edgeway.showError("certificate-saved", "");
    const which = certificateForm.which.value;
    const { status, body } = await edgeway.api("PUT", `/api/v1/certificates/${which}`, {
      certificate: certificateForm.certificate.value,
      private_key: certificateForm.private_key.value,
    });
    if (status !== 200) {
      edgeway.showFieldError(certificateForm, body, status, "certificate-error");
      return;
    }
    certificateForm.private_key.value = "";
    edgeway.showError("certificate-saved", `Replaced: new connections get ${body.subject} (SHA-256 ${body.sha256}).`);
    await loadCertificates();
    await loadAudit();
  });

  loadListen().catch(fail);
  loadAccounts().catch(fail);
  loadCertificates().catch(fail);
  loadAudit().catch(fail);
});
