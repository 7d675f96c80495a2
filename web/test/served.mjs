// The page as "vaultdb web" serves it from the binary: create a store in
// IndexedDB, add an entry, reload, unlock and find it. Run through
// driver.mjs by TestWebCommand.
//
//   args: URL ARTIFACT_DIR; input: {passphrase}
import { join } from "node:path";

export default async function ({ browser, args: [url, artifacts], input: c }) {
  const out = {};
  const ctx = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  try {
    const page = await ctx.newPage();
    page.on("pageerror", (e) => { out.pageErrors = (out.pageErrors || []).concat(String(e)); });
    page.on("console", (m) => { if (m.type() === "error") out.console = (out.console || []).concat(m.text()); });
    await page.goto(`${url}?iterations=1000&idle=0`);
    await page.waitForSelector("#locked:not([hidden])");
    await page.click("#create");
    await page.fill("#passphrase", c.passphrase);
    await page.fill("#confirm", c.passphrase);
    await page.click("#unlock");
    await page.waitForSelector("#open:not([hidden])");
    await page.click("#add");
    await page.fill("#edit-path", "served/entry");
    await page.fill("#edit-value", "kept in IndexedDB");
    await page.click("#save");
    await page.waitForSelector('#tree [data-path="/served/entry"]');
    await page.reload();
    await page.waitForSelector("#locked:not([hidden])");
    await page.fill("#passphrase", c.passphrase);
    await page.click("#unlock");
    await page.waitForSelector("#open:not([hidden])");
    out.entries = await page.$$eval("#tree [data-path]", (els) => els.map((e) => e.dataset.path));
    await page.screenshot({ path: join(artifacts, "vaultdb-web.png") });
  } catch (err) {
    out.error = String(err && err.stack || err);
  } finally {
    await ctx.close();
  }
  return out;
}
