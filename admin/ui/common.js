// What every page behind the login shares: the session (user and CSRF token), API calls that
// send the token on changes, and the log-out button. Text goes into the page with textContent
// only, never as HTML.
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

  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("logout").addEventListener("click", async () => {
      await api("DELETE", "/api/v1/session").catch(() => {});
      window.location.assign("/login");
    });
  });

  return { api, currentSession, showError, cell, emptyRow };
})();
