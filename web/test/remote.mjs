// Opens a store on a remoteStorage server from the page (the wasm built
// with -tags remotestorage), reads what the command line wrote there and
// writes an entry back; run through driver.mjs by TestBrowserRemoteStorage,
// which passes the location, token and passphrase in the request's input
// (never in argv or the environment) and checks the object this returns.
//
//   args: URL ARTIFACT_DIR
import { join } from "node:path";

export default async function ({ browser, args: [url, artifacts], input: cfg }) {
  const out = {};
  const ctx = await browser.newContext();
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
      r.fromCLI = JSON.parse(await vaultdb.get(c.readPath));
      await vaultdb.setText(c.writePath, c.writeValue);
      r.entries = await vaultdb.find("/");
      return r;
    }, cfg));
    await page.screenshot({ path: join(artifacts, "remotestorage.png") });
  } catch (err) {
    out.error = String(err && err.stack || err);
  } finally {
    await ctx.close();
  }
  return out;
}
