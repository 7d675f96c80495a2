// Opens a store on a remoteStorage server from the page (the wasm built
// with -tags remotestorage), reads what the Go engine wrote there and
// writes an entry back; run by TestBrowserRemoteStorage, which reads the
// location, token and passphrase as JSON from stdin (never from argv or
// the environment) and checks the JSON this prints.
//
//   node remote.mjs URL ARTIFACT_DIR < config.json
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [url, artifacts] = process.argv.slice(2);
const cfg = JSON.parse(readFileSync(0, "utf8"));
const out = {};
const userDataDir = mkdtempSync(join(tmpdir(), "vaultdb-chromium-"));
const ctx = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await ctx.newPage();
  page.on("pageerror", (e) => { out.pageErrors = (out.pageErrors || []).concat(String(e)); });
  page.on("console", (m) => { if (m.type() === "error") out.console = (out.console || []).concat(m.text()); });
  await page.goto(`${url}/?idle=0`);
  await page.waitForSelector("#locked:not([hidden])");
  Object.assign(out, await page.evaluate(async (c) => {
    const loc = { type: "remotestorage", root: c.root, token: c.token };
    const r = {};
    r.unlockMillis = (await vaultdb.unlock(loc, c.passphrase)).millis;
    r.fromGo = JSON.parse(await vaultdb.get(c.readPath));
    await vaultdb.setText(c.writePath, c.writeValue);
    r.entries = await vaultdb.find("/");
    return r;
  }, cfg));
  await page.screenshot({ path: join(artifacts, "remotestorage.png") });
} catch (err) {
  out.error = String(err && err.stack || err);
} finally {
  await ctx.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
