// A store in localStorage has one writer: a second tab that unlocks it
// while the first has it open is told so, and gets it once the first
// locks. Run through driver.mjs by TestBrowserLocalStorage.
//
//   args: URL ARTIFACT_DIR; input: {passphrase}
import { join } from "node:path";

export default async function ({ browser, args: [url, artifacts], input: c }) {
  const out = {};
  const ctx = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  const snap = (page, name) => page.screenshot({ path: join(artifacts, `localstorage-${name}.png`) });
  const errors = (page) => page.on("pageerror", (e) => { out.pageErrors = (out.pageErrors || []).concat(String(e)); });
  try {
    const tab1 = await ctx.newPage();
    errors(tab1);
    await tab1.goto(`${url}/?iterations=1000&idle=0`);
    await tab1.waitForSelector("#locked:not([hidden])");
    await tab1.fill("#store", "ls:solo");
    await tab1.click("#create");
    await tab1.fill("#passphrase", c.passphrase);
    await tab1.fill("#confirm", c.passphrase);
    await tab1.click("#unlock");
    await tab1.waitForSelector("#open:not([hidden])");
    out.where = await tab1.textContent("#where");
    await tab1.evaluate(() => vaultdb.setText("/note", "first tab"));
    // Unlocking the store this tab has open again is not "open elsewhere".
    out.sameTabAgain = await tab1.evaluate((p) => vaultdb.unlock("ls:solo", p).then(() => "unlocked", (e) => e.code || String(e)), c.passphrase);

    const tab2 = await ctx.newPage();
    errors(tab2);
    await tab2.goto(`${url}/?idle=0`);
    await tab2.waitForSelector("#locked:not([hidden])");
    out.remembered = await tab2.inputValue("#store");
    await tab2.fill("#store", "ls:solo");
    await tab2.fill("#passphrase", c.passphrase);
    await tab2.click("#unlock");
    await tab2.waitForSelector("#status.error");
    out.secondTab = await tab2.textContent("#status");
    await snap(tab2, "second-tab");

    await tab1.click("#lock");
    await tab1.waitForSelector("#locked:not([hidden])");
    await tab2.fill("#passphrase", c.passphrase);
    await tab2.click("#unlock");
    await tab2.waitForSelector("#open:not([hidden])");
    out.afterLock = await tab2.$$eval("#tree [data-path]", (els) => els.map((e) => e.dataset.path));
    await snap(tab2, "after-first-locked");
    // Now the first tab is the one kept out.
    await tab1.fill("#passphrase", c.passphrase);
    await tab1.click("#unlock");
    await tab1.waitForSelector("#status.error");
    out.firstTabAgain = await tab1.textContent("#status");
  } catch (err) {
    out.error = String(err && err.stack || err);
  } finally {
    await ctx.close();
  }
  return out;
}
