// Signs in to a remoteStorage server from the page (WebFinger, then the
// server's OAuth dialog, as a person would: type the account's password
// and allow), unlocks the store the command line created there, reads the
// entry it wrote and adds one through the editor; run through driver.mjs
// by TestBrowserRemoteStorage, which passes the store, the account's
// password and the passphrase in the request's input (never in argv or
// the environment) and checks the object this returns.
//
//   args: URL ARTIFACT_DIR
import { join } from "node:path";

export default async function ({ browser, args: [url, artifacts], input: c }) {
  const out = { steps: [] };
  const ctx = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  let shot = 0;
  const snap = async (page, name) => {
    await page.screenshot({ path: join(artifacts, `rs-${++shot}-${name}.png`) });
    out.steps.push(name);
  };
  try {
    const page = await ctx.newPage();
    page.on("pageerror", (e) => { out.pageErrors = (out.pageErrors || []).concat(String(e)); });
    page.on("console", (m) => { if (m.type() === "error") out.console = (out.console || []).concat(m.text()); });
    page.on("request", (r) => { out.requests = (out.requests || []).concat(r.url().replace(/\?.*/, "")); });
    const wasm = () => [...new Set((out.requests || []).filter((r) => r.endsWith(".wasm")).map((r) => r.slice(r.lastIndexOf("/") + 1)))];
    await page.goto(`${url}/?idle=0`);
    await page.waitForSelector("#locked:not([hidden])");
    out.wasmAtStart = wasm();
    await page.fill("#store", c.store);
    await page.waitForSelector("#signin:not([hidden])");
    out.beforeSignIn = await page.textContent("#signin-state");
    // Unlocking before the sign-in says what to do.
    await page.fill("#passphrase", c.passphrase);
    await page.click("#unlock");
    await page.waitForSelector("#status.error");
    out.unlockSignedOut = await page.textContent("#status");
    await snap(page, "signed-out");

    await page.click("#signin");
    await page.waitForURL((u) => u.origin === c.serverOrigin);
    out.dialog = page.url().replace(/\?.*/, "");
    await page.fill("#password", c.password);
    await snap(page, "dialog");
    await Promise.all([
      page.waitForURL((u) => u.href.startsWith(url)),
      page.click('button[name="allow"]'),
    ]);
    await page.waitForSelector("#locked:not([hidden])");
    out.afterSignIn = await page.textContent("#status");
    out.addressAfterSignIn = page.url();
    await snap(page, "signed-in");

    await page.fill("#passphrase", c.passphrase);
    await page.click("#unlock");
    await page.waitForSelector("#open:not([hidden])");
    out.entries = await page.$$eval("#tree [data-path]", (els) => els.map((e) => e.dataset.path));
    await page.click(`#tree [data-path="${c.readPath}"]`);
    await page.click("#show");
    await page.waitForFunction(() => document.getElementById("value").textContent !== "••••••••");
    out.fromCLI = await page.textContent("#value");
    await snap(page, "unlocked");

    await page.click("#add");
    await page.fill("#edit-path", c.writePath);
    await page.selectOption("#edit-kind", "text");
    await page.fill("#edit-value", c.writeValue);
    await page.click("#save");
    await page.waitForSelector(`#tree [data-path="/${c.writePath}"]`);
    await snap(page, "written");
    out.wasm = wasm();
    delete out.requests;
  } catch (err) {
    out.error = String(err && err.stack || err);
  } finally {
    await ctx.close();
  }
  return out;
}
