// Drives the admin web UI in headless Chromium (Debian's, through playwright-core): logs in,
// sees a validation message for a bad rule, adds a rule for a path the edge refused and waits
// for that path to pass on 443, deletes the rule and waits for the path to be refused again,
// sees validation messages on the web proxy, logs and administration forms, visits every
// page of the navigation and sees the core's link up on the cluster page. Screenshots go to
// ARTIFACTS. Exit code 0 when every step passed; each step is logged.
//
// With EDGE_ADMIN_URL set it then logs in to the edge's administration and waits for the
// traversal link to show LINK_STATE ("Active"); PHASE=edge-only does only that (the test runs it
// again with LINK_STATE=Failed once it has stopped the core).
//
// usage: node admin_ui.mjs  (environment: ADMIN_URL, ADMIN_PASSWORD, EDGE_URL, EDGE_PORT,
//                            EDGE_ADMIN_URL, EDGE_ADMIN_PASSWORD, LINK_STATE, PHASE,
//                            ARTIFACTS, PLAYWRIGHT_CORE = path of the playwright-core module)
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT_CORE);

const adminUrl = process.env.ADMIN_URL;
const edgeUrl = process.env.EDGE_URL;
const artifacts = process.env.ARTIFACTS;

function step(text) {
  console.log(`step: ${text}`);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
}

// Polls the edge (a request of the browser context: real TLS to 443) until it answers `status`.
async function waitForEdgeStatus(context, status, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  while (Date.now() < deadline) {
    const response = await context.request.get(`${edgeUrl}/health`, { failOnStatusCode: false });
    last = response.status();
    if (last === status) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the edge answered ${last} for /health, not ${status}, within ${timeoutMs} ms`);
}

const consoleErrors = [];

// A page in its own browser context (the core's and the edge's admin share the host name
// localhost, so their session cookies must not meet).
async function newPage(browser) {
  // The lab CA is in no browser trust store; TLS itself is still real.
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  // Failed API calls (401, 422) are logged by Chromium as "Failed to load resource"; those are
  // expected here. Anything else (a CSP violation, a script error) fails the test.
  page.on("console", (message) => {
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource"))
      consoleErrors.push(`${page.url()}: ${message.text()}`);
  });
  page.on("pageerror", (error) => consoleErrors.push(`${page.url()}: ${error.message}`));
  return { context, page };
}

// Visits every page of the navigation; none may show an error. Returns their paths.
async function visitEveryPage(page, baseUrl, prefix) {
  const links = await page.locator("nav#nav a").evaluateAll((as) => as.map((a) => a.pathname));
  for (const link of links) {
    await page.goto(`${baseUrl}${link}`);
    await page.locator("nav#nav a.current").waitFor();
    await page.locator("#who").filter({ hasText: "admin" }).waitFor();
    await page.waitForLoadState("networkidle");
    const error = await page.locator("#page-error").textContent();
    if (error) throw new Error(`${link} shows an error: ${error}`);
    await shot(page, `${prefix}${link.replaceAll("/", "-")}`);
  }
  return links;
}

// The edge's administration: its navigation has no allow list; its traversal links page shows
// the link to the core in `state`.
async function edgeSteps(browser, state, prefix) {
  const edgeAdminUrl = process.env.EDGE_ADMIN_URL;
  const { page } = await newPage(browser);
  step(`log in to the edge's administration (${prefix})`);
  await page.goto(`${edgeAdminUrl}/`);
  await page.waitForURL(`${edgeAdminUrl}/login`);
  await page.fill("#user", "admin");
  await page.fill("#password", process.env.EDGE_ADMIN_PASSWORD);
  await page.click("#login-button");
  await page.waitForURL(`${edgeAdminUrl}/status/links`);
  await page.locator("#role").filter({ hasText: "edge" }).waitFor();

  step(`the edge's traversal link is ${state}`);
  const row = page.locator("#links tbody tr", { has: page.locator(`.badge.${state.toLowerCase()}`) });
  await row.first().waitFor({ timeout: 15000 });
  const text = await row.first().textContent();
  if (state === "Failed" && !/ago/.test(text)) throw new Error(`no "since" in ${text}`);
  await shot(page, `${prefix}-links-${state.toLowerCase()}`);

  if (state === "Active") {
    step("the edge's navigation hides what an edge lacks; its pages load");
    const links = await visitEveryPage(page, edgeAdminUrl, `${prefix}-page`);
    if (links.includes("/rules") || links.includes("/webproxy"))
      throw new Error(`the edge's navigation shows core pages: ${links}`);
    for (const expected of ["/status/links", "/system", "/logs"])
      if (!links.includes(expected)) throw new Error(`the edge's navigation lacks ${expected}`);

    step("the edge's logs page lists its refusals of /health with the reason");
    await page.goto(`${edgeAdminUrl}/logs?refused=1&q=%2Fhealth`);
    await page.locator("#requests tbody tr", { hasText: "no_rule" }).first().waitFor();
    if (!(await page.isChecked("#refused"))) throw new Error("the filter form lost refused=1");
    await shot(page, `${prefix}-logs-refused`);
  }
}

// The core's administration: login, rules against 443, validation messages, every page.
async function coreSteps(browser) {
  const { context, page } = await newPage(browser);

  step("the edge refuses /health before any rule");
  await waitForEdgeStatus(context, 403, 5000);

  step("an unauthenticated visit lands on the login page");
  await page.goto(`${adminUrl}/rules`);
  await page.waitForURL(`${adminUrl}/login`);
  await shot(page, "01-login");

  step("a wrong password shows the server's message");
  await page.fill("#user", "admin");
  await page.fill("#password", "not the password");
  await page.click("#login-button");
  await page.locator("#login-error").filter({ hasText: "Wrong user name or password" }).waitFor();

  step("login");
  await page.fill("#password", process.env.ADMIN_PASSWORD);
  await page.click("#login-button");
  await page.waitForURL(`${adminUrl}/rules`);
  await page.locator("#who").filter({ hasText: "admin" }).waitFor();
  await page.locator("#editable-rules td.empty").waitFor();
  await shot(page, "02-rules");

  step("bad input shows a validation message beside the field");
  await page.fill("#host", "localhost");
  await page.fill("#port", process.env.EDGE_PORT);
  await page.selectOption("#match", "exact");
  await page.fill("#path", "/health");
  await page.uncheck("input[name=methods][value=GET]");
  await page.click("#add-button");
  const methodsError = page.locator('.field-error[data-field="methods"]');
  await methodsError.filter({ hasText: "methods" }).waitFor();
  await shot(page, "03-validation");

  step("add the rule with the form");
  await page.fill("#description", "health via the browser");
  await page.check("input[name=methods][value=GET]");
  await page.click("#add-button");
  const row = page.locator("#editable-rules tbody tr", { hasText: "health via the browser" });
  await row.waitFor();
  if ((await methodsError.textContent()) !== "") throw new Error("the old message stayed");
  await shot(page, "04-added");

  step("the edge now lets /health through");
  await waitForEdgeStatus(context, 200, 5000);

  step("delete the rule with its button");
  await row.getByRole("button", { name: "Delete" }).click();
  await row.waitFor({ state: "detached" });
  await shot(page, "05-deleted");

  step("the edge refuses /health again");
  await waitForEdgeStatus(context, 403, 5000);

  step("the web proxy page shows the targets table and its settings");
  await page.click("nav >> text=Meeting Server web proxy");
  await page.waitForURL(`${adminUrl}/webproxy`);
  await page.locator("#targets tbody tr").first().waitFor();
  await page.locator("#webproxy-source").filter({ hasText: "configuration file" }).waitFor();
  const joinUrls = await page.inputValue("#join-urls");
  if (!joinUrls.includes("join.edgeway.test")) throw new Error(`join URLs shown: ${joinUrls}`);
  await shot(page, "06-webproxy");

  step("a bad guest account client URI shows a validation message and changes nothing");
  await page.fill("#join-urls", "https://join.edgeway.test/\nftp://not-a-join-url");
  await page.click("#webproxy-save");
  await page
    .locator('.field-error[data-field="web_proxy.join_urls"]')
    .filter({ hasText: "join_urls[1]" })
    .waitFor();
  await shot(page, "07-webproxy-validation");
  await page.reload();
  await page.locator("#webproxy-source").filter({ hasText: "configuration file" }).waitFor();

  step("every page of the navigation loads without errors");
  const links = await visitEveryPage(page, adminUrl, "10-page");
  for (const expected of ["/rules", "/webproxy", "/status/links", "/status/cluster", "/system", "/logs"])
    if (!links.includes(expected)) throw new Error(`navigation lacks ${expected}: ${links}`);

  step("the cluster page shows this core alone (SQLite), its link to the edge up");
  await page.goto(`${adminUrl}/status/cluster`);
  await page.locator("#store-summary").filter({ hasText: "SQLite" }).waitFor();
  await page.locator("#cores tbody tr", { hasText: "this core" }).waitFor();
  await page.locator('#matrix td[data-state="up"]').waitFor();
  await shot(page, "11-cluster");

  step("the administration page shows the port, the account and the certificate");
  await page.goto(`${adminUrl}/system`);
  await page.locator("#accounts tbody tr", { hasText: "admin" }).waitFor();
  await page.locator('.certificate[data-name="admin"] dd').first().waitFor();
  const bound = await page.locator("#bound").textContent();
  if (!adminUrl.endsWith(bound.slice(bound.lastIndexOf(":"))))
    throw new Error(`bound address ${bound} is not this page's port`);

  step("a bad admin port and a short password show validation messages");
  await page.fill("#listen", "127.0.0.1:99999");
  await page.click("#listen-save");
  await page.locator('.field-error[data-field="admin.listen"]').filter({ hasText: "port" }).waitFor();
  await page.fill("#account-name", "operator");
  await page.fill("#account-password", "short");
  await page.click("#account-save");
  await page.locator('.field-error[data-field="password"]').filter({ hasText: "12" }).waitFor();
  await shot(page, "20-system-validation");

  if (links.includes("/logs")) {
    // The core saw /health only while the rule let it through (the edge refused the rest).
    step("the core's logs page lists the forwarded /health and its filter validates its input");
    await page.goto(`${adminUrl}/logs?q=%2Fhealth`);
    await page.locator("#requests tbody tr", { hasText: "/health" }).first().waitFor();
    await page.fill("#status", "abc");
    await page.click("#filter-button");
    await page.locator('.field-error[data-field="status"]').filter({ hasText: "status" }).waitFor();
    await shot(page, "21-logs");
  } else {
    step("this node reports no request log (the logs page is hidden)");
  }

  step("the audit log lists the rule changes made above");
  await page.goto(`${adminUrl}/system`);
  await page.locator("#audit tbody tr", { hasText: "rule removed" }).first().waitFor();

}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic"],
});
try {
  if (process.env.PHASE === "edge-only") {
    await edgeSteps(browser, process.env.LINK_STATE || "Failed", "40-edge");
  } else {
    await coreSteps(browser);
    if (process.env.EDGE_ADMIN_URL)
      await edgeSteps(browser, process.env.LINK_STATE || "Active", "30-edge");
  }

  if (consoleErrors.length > 0)
    throw new Error(`console errors: ${consoleErrors.join(" | ")}`);
  step("done");
} finally {
  await browser.close();
}
