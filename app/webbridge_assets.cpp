// The demo web bridge's page: a WebSocket echo client. The markup carries no inline script or
// style because the bridge's Content-Security-Policy ("default-src 'self'") forbids both; the
// script and the style sheet are served as their own resources.
#include "app/webbridge_assets.hpp"

#include <array>

namespace edgeway::demo::assets {
namespace {

constexpr std::string_view kIndexHtml = R"html(<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Edgeway demo web bridge</title>
  <link rel="icon" href="/favicon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="/style.css">
  <script src="/app.js" defer></script>
</head>
<body>
  <main class="card">
    <header class="card-header">
      <h1>Edgeway demo web bridge</h1>
      <p id="status" class="status" data-state="connecting" role="status" aria-live="polite">connecting</p>
    </header>
    <p class="hint">Messages travel over a WebSocket to <code>/ws/echo</code> and come straight back.</p>
    <form id="send-form" class="send-form" autocomplete="off">
      <input id="message" type="text" maxlength="4096" placeholder="Type a message" aria-label="Message" required>
      <button id="send" type="submit" disabled>Send</button>
    </form>
    <ol id="messages" class="messages" aria-label="Echoed messages"></ol>
  </main>
</body>
</html>
)html";

constexpr std::string_view kAppJs = R"js('use strict';

// Echo client for the demo web bridge: connects to /ws/echo over the page's own origin, says
// hello, lists every echoed message and reconnects with a growing delay when the socket closes.
(function () {
  const statusElement = document.getElementById('status');
  const form = document.getElementById('send-form');
  const input = document.getElementById('message');
  const sendButton = document.getElementById('send');
  const list = document.getElementById('messages');

  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/echo';
  const firstDelayMs = 500;
  const maxDelayMs = 8000;
  const maxMessages = 200;  // keep the page light in long-running demos

  let socket = null;
  let delayMs = firstDelayMs;

  function setStatus(text, state) {
    statusElement.textContent = text;
    statusElement.dataset.state = state;
    sendButton.disabled = state !== 'connected';
  }

  function timestamp() {
    const now = new Date();
    const pad = (value, width) => String(value).padStart(width, '0');
    return pad(now.getHours(), 2) + ':' + pad(now.getMinutes(), 2) + ':' +
        pad(now.getSeconds(), 2) + '.' + pad(now.getMilliseconds(), 3);
  }

  function show(text, kind) {
    const item = document.createElement('li');
    item.className = 'message ' + kind;
    const time = document.createElement('time');
    time.textContent = timestamp();
    const body = document.createElement('span');
    body.className = 'text';
    body.textContent = text;  // textContent, never innerHTML: echoed text is untrusted
    item.append(time, body);
    list.prepend(item);
    while (list.childElementCount > maxMessages) {
      list.lastElementChild.remove();
    }
  }

  function connect() {
    setStatus('connecting', 'connecting');
    const ws = new WebSocket(url);
    socket = ws;
    ws.addEventListener('open', () => {
      delayMs = firstDelayMs;
      setStatus('connected', 'connected');
      ws.send('hello');
    });
    ws.addEventListener('message', (event) => {
      if (typeof event.data === 'string') {
        show(event.data, 'text');
      } else {
        show('[binary message, ' + event.data.size + ' bytes]', 'binary');
      }
    });
    // An error is always followed by close, so close alone schedules the reconnect.
    ws.addEventListener('close', () => {
      if (socket !== ws) {
        return;
      }
      socket = null;
      setStatus('closed', 'closed');
      setTimeout(connect, delayMs);
      delayMs = Math.min(delayMs * 2, maxDelayMs);
    });
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = input.value;
    if (text === '' || socket === null || socket.readyState !== WebSocket.OPEN) {
      return;
    }
    socket.send(text);
    input.value = '';
    input.focus();
  });

  connect();
})();
)js";

constexpr std::string_view kStyleCss = R"css(:root {
  color-scheme: light dark;
  --bg: #f3f5f8;
  --card: #ffffff;
  --text: #1d2330;
  --muted: #667085;
  --border: #dde2ea;
  --accent: #2f6fed;
  --accent-text: #ffffff;
  --ok: #14804a;
  --ok-bg: #e3f6ea;
  --bad: #b42318;
  --bad-bg: #fdecea;
  --wait: #8a6100;
  --wait-bg: #fff4d6;
}

@media (prefers-color-scheme: dark) {
  :root {
    --bg: #12151b;
    --card: #1b2029;
    --text: #e6e9ef;
    --muted: #98a2b3;
    --border: #2c3340;
    --accent: #5b8def;
    --ok: #6fd69b;
    --ok-bg: #173526;
    --bad: #f39a93;
    --bad-bg: #3d1d1b;
    --wait: #f2c661;
    --wait-bg: #3a2f12;
  }
}

* {
  box-sizing: border-box;
}

body {
  margin: 0;
  min-height: 100vh;
  padding: 3rem 1rem;
  background: var(--bg);
  color: var(--text);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}

.card {
  max-width: 42rem;
  margin: 0 auto;
  padding: 1.75rem;
  background: var(--card);
  border: 1px solid var(--border);
  border-radius: 14px;
  box-shadow: 0 8px 24px rgb(16 24 40 / 0.08);
}

.card-header {
  display: flex;
  flex-wrap: wrap;
  align-items: center;
  justify-content: space-between;
  gap: 0.75rem;
}

h1 {
  margin: 0;
  font-size: 1.4rem;
  font-weight: 650;
}

.status {
  margin: 0;
  padding: 0.2rem 0.75rem;
  border-radius: 999px;
  font-size: 0.85rem;
  font-weight: 600;
}

.status::before {
  content: "";
  display: inline-block;
  width: 0.5rem;
  height: 0.5rem;
  margin-right: 0.45rem;
  border-radius: 50%;
  background: currentColor;
  vertical-align: 0.05rem;
}

.status[data-state="connected"] {
  color: var(--ok);
  background: var(--ok-bg);
}

.status[data-state="closed"] {
  color: var(--bad);
  background: var(--bad-bg);
}

.status[data-state="connecting"] {
  color: var(--wait);
  background: var(--wait-bg);
}

.hint {
  margin: 0.75rem 0 1.25rem;
  color: var(--muted);
  font-size: 0.92rem;
}

code {
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 0.9em;
}

.send-form {
  display: flex;
  gap: 0.5rem;
}

.send-form input {
  flex: 1;
  min-width: 0;
  padding: 0.6rem 0.8rem;
  border: 1px solid var(--border);
  border-radius: 8px;
  background: transparent;
  color: inherit;
  font: inherit;
}

.send-form input:focus {
  outline: 2px solid var(--accent);
  outline-offset: 1px;
}

.send-form button {
  padding: 0.6rem 1.2rem;
  border: 0;
  border-radius: 8px;
  background: var(--accent);
  color: var(--accent-text);
  font: inherit;
  font-weight: 600;
  cursor: pointer;
}

.send-form button:disabled {
  opacity: 0.45;
  cursor: not-allowed;
}

.messages {
  margin: 1.25rem 0 0;
  padding: 0;
  list-style: none;
  max-height: 60vh;
  overflow-y: auto;
}

.message {
  display: flex;
  gap: 0.9rem;
  padding: 0.55rem 0.2rem;
  border-top: 1px solid var(--border);
}

.message time {
  flex: none;
  color: var(--muted);
  font: 0.85rem/1.75 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
}

.message .text {
  overflow-wrap: anywhere;
  white-space: pre-wrap;
}

.message.binary .text {
  color: var(--muted);
  font-style: italic;
}
)css";

constexpr std::string_view kFaviconSvg =
    R"svg(<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
  <rect width="32" height="32" rx="7" fill="#2f6fed"/>
  <path d="M9 10h14M9 16h10M9 22h14" stroke="#fff" stroke-width="3" stroke-linecap="round"/>
</svg>
)svg";

struct Entry {
    std::string_view path;
    Asset asset;
};

constexpr std::array kAssets{
    Entry{"/", {"text/html; charset=utf-8", kIndexHtml}},
    Entry{"/app.js", {"text/javascript; charset=utf-8", kAppJs}},
    Entry{"/style.css", {"text/css; charset=utf-8", kStyleCss}},
    Entry{"/favicon.svg", {"image/svg+xml", kFaviconSvg}},
};

}  // namespace

const Asset* find(std::string_view path) {
    for (const Entry& entry : kAssets) {
        if (entry.path == path) return &entry.asset;
    }
    return nullptr;
}

}  // namespace edgeway::demo::assets
