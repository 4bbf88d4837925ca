// Status > Relay usage: the TURN relay's allocations, refreshed every 3 seconds, and its users.
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

async function loadUsers() {
  const { status, body } = await edgeway.api("GET", "/api/v1/turn/users");
  if (status !== 200) {
    edgeway.showError("turn-users-error", body.error || `Loading the users failed (${status}).`);
    return;
  }
  const tbody = document.querySelector("#turn-users tbody");
  tbody.replaceChildren();
  for (const user of body.users) {
    const row = tbody.insertRow();
    row.dataset.name = user.name;
    edgeway.cell(row, user.name);
    edgeway.cell(row, user.realm);
    edgeway.cell(row, user.created_at);
    edgeway.cell(row, user.changed_at);
    const button = document.createElement("button");
    button.className = "danger";
    button.textContent = "Delete";
    button.addEventListener("click", () => deleteUser(user.name));
    row.insertCell().appendChild(button);
  }
  if (body.users.length === 0) edgeway.emptyRow(tbody, 5, "No TURN users yet.");
}

async function deleteUser(name) {
  edgeway.showError("turn-users-error", "");
  const { status, body } = await edgeway.api("DELETE", `/api/v1/turn/users/${encodeURIComponent(name)}`);
  if (status !== 200) edgeway.showError("turn-users-error", body.error || `Delete failed (${status}).`);
  await loadUsers();
}

document.addEventListener("DOMContentLoaded", () => {
  const refresh = () => loadAllocations().catch((e) => edgeway.showError("page-error", e.message));
  refresh();
  setInterval(refresh, 3000);

  const form = document.getElementById("turn-user-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    edgeway.clearFieldErrors(form, "turn-users-error");
    edgeway.showError("turn-user-saved", "");
    const name = form.name.value.trim();
    const password = form.password.value;
    const { status, body } = await edgeway.api("POST", "/api/v1/turn/users", { name, password });
    if (status !== 200 && status !== 201) {
      edgeway.showFieldError(form, body, status, "turn-users-error");
      return;
    }
    form.password.value = "";
    edgeway.showError("turn-user-saved", status === 201 ? `User ${name} added.` : `Password of ${name} changed.`);
    await loadUsers();
  });
  loadUsers().catch((e) => edgeway.showError("turn-users-error", e.message));
});
