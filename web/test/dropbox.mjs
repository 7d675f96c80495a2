// Signs in to (a fake) Dropbox from the page (PKCE; the fake stands in for
// the user allowing access and sends the browser back with the code),
// unlocks the store the command line created in dropbox:/FOLDER, reads the
// entry it wrote and adds one through the editor; run through driver.mjs
// by TestBrowserDropbox, which passes the store and the passphrase in the
// request's input and checks the object this returns.
//
//   args: URL ARTIFACT_DIR
import { join } from "node:path";

export default async function ({ browser, args: [url, artifacts], input: c }) {
  const out = {};
  const ctx = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  let shot = 0;
  const snap = (page, name) => page.screenshot({ path: join(artifacts, `dropbox-${++shot}-${name}.png`) });
  let page;
  try {
    page = await ctx.newPage();
    page.on("pageerror", (e) => { out.pageErrors = (out.pageErrors || []).concat(String(e)); });
    const visited = [];
    page.on("request", (r) => { if (r.isNavigationRequest()) visited.push(r.url().replace(/\?.*/, "")); });
    await page.goto(`${url}/?idle=0`);
    await page.waitForSelector("#locked:not([hidden])");
    await page.fill("#store", c.store);
    await page.waitForSelector("#signin:not([hidden])");
    out.beforeSignIn = await page.textContent("#signin-state");
    await snap(page, "signed-out");
    await page.click("#signin");
    await page.waitForFunction(() => /Signed in to Dropbox/.test(document.getElementById("status").textContent));
    out.afterSignIn = await page.textContent("#status");
    out.addressAfterSignIn = page.url();
    out.visited = visited;
    out.session = await page.evaluate(() => Object.keys(sessionStorage));
    await snap(page, "signed-in");

    // The access token has expired: unlocking refreshes it, and the tab
    // keeps the new one.
    out.tokenBefore = await page.evaluate(() => {
      const s = JSON.parse(sessionStorage.getItem("vaultdb:dropbox"));
      s.expiry = Date.now() - 1000;
      sessionStorage.setItem("vaultdb:dropbox", JSON.stringify(s));
      return { ...s, now: Date.now() };
    });
    await page.fill("#passphrase", c.passphrase);
    await page.click("#unlock");
    await page.waitForSelector("#open:not([hidden])");
    out.where = await page.textContent("#where");
    out.tokenAfter = await page.evaluate(() => JSON.parse(sessionStorage.getItem("vaultdb:dropbox")));
    out.tokenAfter.now = Date.now();
    await page.click(`#tree [data-path="${c.readPath}"]`);
    await page.click("#show");
    await page.waitForFunction(() => document.getElementById("value").textContent !== "••••••••");
    out.fromCLI = await page.textContent("#value");
    await page.click("#add");
    await page.fill("#edit-path", c.writePath);
    await page.fill("#edit-value", c.writeValue);
    await page.click("#save");
    await page.waitForSelector(`#tree [data-path="/${c.writePath}"]`);
    await snap(page, "written");
    await page.click("#lock");
    await page.waitForSelector("#signout:not([hidden])");
    await page.click("#signout");
    await page.waitForFunction(() => /Signed out/.test(document.getElementById("status").textContent));
    out.signedOut = await page.textContent("#status");
    out.sessionAfter = await page.evaluate(() => Object.keys(sessionStorage));
  } catch (err) {
    out.error = String(err && err.stack || err);
    if (page) {
      out.error += `\nat ${page.url()}, status: ${await page.textContent("#status").catch(() => "?")}`;
      await snap(page, "failed").catch(() => {});
    }
  } finally {
    await ctx.close();
  }
  return out;
}
