// The login page: posts the form as JSON; the session cookie comes back HttpOnly.
"use strict";

document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("login-error");
  error.hidden = true;
  const body = {
    user: document.getElementById("user").value,
    password: document.getElementById("password").value,
  };
  try {
    const response = await fetch("/api/v1/session", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    if (response.ok) {
      window.location.assign("/");
      return;
    }
    const answer = await response.json().catch(() => ({}));
    error.textContent = answer.error || `Login failed (${response.status}).`;
  } catch (e) {
    error.textContent = "The server cannot be reached.";
  }
  error.hidden = false;
});
