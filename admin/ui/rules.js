// The HTTP allow list page: both rule tables, the add form (with the API's 422 messages shown
// beside the field they name) and the delete buttons.
"use strict";

const kRuleColumns = ["protocol", "host", "port", "match", "path"];

function methodsText(rule) {
  return (rule.methods || []).join(", ");
}

function matchText(match) {
  return match === "exact" ? "Exact" : "Prefix";
}

async function loadRules() {
  const { status, body } = await edgeway.api("GET", "/api/v1/rules");
  if (status !== 200) {
    edgeway.showError("page-error", body.error || `Loading the rules failed (${status}).`);
    return;
  }
  document.getElementById("version").textContent = body.version;

  const automatic = document.querySelector("#automatic-rules tbody");
  automatic.replaceChildren();
  for (const rule of body.automatic) {
    const row = automatic.insertRow();
    edgeway.cell(row, rule.description);
    for (const column of kRuleColumns)
      edgeway.cell(row, column === "match" ? matchText(rule.match) : rule[column]);
    edgeway.cell(row, methodsText(rule));
  }
  if (body.automatic.length === 0)
    edgeway.emptyRow(automatic, 7, "None: the guest account client URI has not resolved yet.");

  const editable = document.querySelector("#editable-rules tbody");
  editable.replaceChildren();
  for (const rule of body.editable) {
    const row = editable.insertRow();
    row.dataset.id = rule.id;
    edgeway.cell(row, rule.id);
    edgeway.cell(row, rule.description);
    for (const column of kRuleColumns)
      edgeway.cell(row, column === "match" ? matchText(rule.match) : rule[column]);
    edgeway.cell(row, methodsText(rule));
    const button = document.createElement("button");
    button.className = "danger";
    button.textContent = "Delete";
    button.addEventListener("click", () => deleteRule(rule.id));
    row.insertCell().appendChild(button);
  }
  if (body.editable.length === 0) edgeway.emptyRow(editable, 9, "No editable rules.");
}

async function deleteRule(id) {
  const { status, body } = await edgeway.api("DELETE", `/api/v1/rules/${id}`);
  if (status !== 200) edgeway.showError("page-error", body.error || `Delete failed (${status}).`);
  await loadRules();
}

function clearFieldErrors(form) {
  for (const element of form.querySelectorAll(".field-error")) element.textContent = "";
  for (const element of form.querySelectorAll("[aria-invalid]"))
    element.removeAttribute("aria-invalid");
  edgeway.showError("form-error", "");
}

// The form as the API's rule document. The port is sent as typed when it is not a number, so
// the server's validation (and its message) applies.
function ruleFromForm(form) {
  const portText = form.port.value.trim();
  const port = /^[0-9]+$/.test(portText) ? Number(portText) : portText;
  return {
    description: form.description.value,
    protocol: form.protocol.value,
    host: form.host.value.trim(),
    port,
    match: form.match.value,
    path: form.path.value.trim(),
    methods: [...form.querySelectorAll("input[name=methods]:checked")].map((box) => box.value),
  };
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("add-rule");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    const { status, body } = await edgeway.api("POST", "/api/v1/rules", ruleFromForm(form));
    if (status === 201) {
      form.host.value = "";
      form.description.value = "";
      await loadRules();
      return;
    }
    const message = body.error || `Adding the rule failed (${status}).`;
    const slot = body.field && form.querySelector(`.field-error[data-field="${body.field}"]`);
    if (slot) {
      // Beside the field it is about; other errors (a duplicate rule) go below the form.
      slot.textContent = message;
      const input = form.elements[body.field];
      if (input && input.setAttribute) input.setAttribute("aria-invalid", "true");
    } else {
      edgeway.showError("form-error", message);
    }
  });
  loadRules().catch((e) => edgeway.showError("page-error", e.message));
});
