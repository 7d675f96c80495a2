// Drives the built page in headless Chromium; run through driver.mjs by
// web/browser_test.go, which serves the page on 127.0.0.1 and checks the
// object this returns.
//
//   args: URL ARTIFACT_DIR; input: {measure}, where measure adds key
//   derivation timings at 600,000 iterations (WebCrypto and Go-wasm).
import { join } from "node:path";

const PASS = "correct horse battery staple";

export default async function ({ browser, args: [url, artifacts], input }) {
const INCREMENTS = Number(input.increments || 100);
const out = { steps: [], millis: {} };
let shot = 0;
let last = Date.now();
const t0 = last;

const ctx = await browser.newContext({ viewport: { width: 1000, height: 700 } });
const origin = new URL(url).origin;
await ctx.grantPermissions(["clipboard-read", "clipboard-write"], { origin });

async function snap(page, name) {
  const file = join(artifacts, `${String(++shot).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file });
  out.steps.push(name);
  out.millis[name] = Date.now() - last;
  last = Date.now();
}

async function unlock(page, pass) {
  await page.waitForSelector("#locked:not([hidden])");
  await page.fill("#passphrase", pass);
  await page.click("#unlock");
}

try {
  const page = await ctx.newPage();
  page.on("pageerror", (e) => { out.pageErrors = (out.pageErrors || []).concat(String(e)); });
  const base = `${url}/?iterations=1000&idle=0&clip=2`;
  await page.goto(base);
  await page.waitForSelector("#locked:not([hidden])");
  await snap(page, "locked");

  // Create a store.
  await page.click("#create");
  await page.fill("#passphrase", PASS);
  await page.fill("#confirm", PASS);
  await page.click("#unlock");
  await page.waitForSelector("#open:not([hidden])");
  await snap(page, "created");

  // Add a text entry, a JSON entry and a TOTP entry through the editor.
  async function add(path, kind, value) {
    await page.click("#add");
    await page.fill("#edit-path", path);
    await page.selectOption("#edit-kind", kind);
    await page.fill("#edit-value", value);
    await page.click("#save");
    await page.waitForSelector(`#tree [data-path="/${path}"]`);
  }
  await add("github/password", "text", "hunter2");
  await add("email/work", "json", '{"user": "alice", "password": "s3cret"}');
  await add("github/totp", "totp", "otpauth://totp/GitHub:alice?secret=JBSWY3DPEHPK3PXP&issuer=GitHub");
  await page.waitForSelector("#otp:not([hidden])");
  out.totpCode = await page.textContent("#otp-code");
  out.totpLeft = await page.textContent("#otp-left");
  out.totpExpected = await page.evaluate(async () => (await vaultdb.totp("/github/totp")).code);
  await snap(page, "added");

  // Reload: the store is locked; a wrong passphrase is refused.
  await page.reload();
  await unlock(page, "wrong passphrase");
  await page.waitForSelector("#status.error");
  out.wrongPassphrase = await page.textContent("#status");
  await snap(page, "wrong-passphrase");
  await page.fill("#passphrase", PASS);
  await page.click("#unlock");
  await page.waitForSelector("#open:not([hidden])");
  out.unlockMillis = Number(await page.getAttribute("body", "data-unlock-millis"));
  out.entries = await page.$$eval("#tree [data-path]", (els) => els.map((e) => e.dataset.path));

  // Search narrows the tree.
  await page.fill("#search", "git");
  out.searched = await page.$$eval("#tree [data-path]", (els) => els.map((e) => e.dataset.path));
  await snap(page, "search");
  await page.fill("#search", "");

  // Show and copy; the clipboard is cleared after ?clip seconds.
  await page.click('#tree [data-path="/github/password"]');
  await page.click("#show");
  await page.waitForFunction(() => document.getElementById("value").textContent !== "••••••••");
  out.shown = await page.textContent("#value");
  await snap(page, "shown");
  await page.click("#copy");
  await page.waitForFunction(() => /Copied/.test(document.getElementById("status").textContent));
  out.copied = await page.evaluate(() => navigator.clipboard.readText());
  await page.waitForFunction(() => /Clipboard cleared/.test(document.getElementById("status").textContent), null, { timeout: 10000 });
  out.afterClear = await page.evaluate(() => navigator.clipboard.readText());

  // Edit and remove.
  await page.click('#tree [data-path="/email/work"]');
  await page.click("#edit");
  await page.fill("#edit-value", '{"user": "alice", "password": "n3w"}');
  await page.click("#save");
  await page.waitForFunction(() => /Saved/.test(document.getElementById("status").textContent));
  out.edited = await page.evaluate(async () => JSON.parse(await vaultdb.get("/email/work")).password);
  // What "vaultdb get" prints, and what "vaultdb set --json" refuses.
  Object.assign(out, await page.evaluate(async () => ({
    textField: await vaultdb.text("/email/work", "user"),
    textObject: await vaultdb.text("/email/work"),
    noField: await vaultdb.text("/email/work", "nope").then(() => "found", (e) => e.code),
    nullRefused: await vaultdb.set("/nothing", "null").then(() => "stored", (e) => e.code),
  })));
  // Copy takes what "vaultdb get -c" copies: an object's "password"
  // field; an object without one is not copied whole, its fields are
  // offered (a TOTP entry's: type, secret, ...).
  await page.click('#tree [data-path="/email/work"]');
  await page.click("#copy");
  await page.waitForFunction(() => /Copied field "password"/.test(document.getElementById("status").textContent));
  out.copiedPassword = await page.evaluate(() => navigator.clipboard.readText());
  await page.click('#tree [data-path="/github/totp"]');
  await page.evaluate(() => navigator.clipboard.writeText("before"));
  await page.click("#copy");
  await page.waitForSelector("#copy-fields:not([hidden])");
  out.offeredFields = await page.$$eval("#copy-field-list button", (bs) => bs.map((b) => b.dataset.field));
  out.offerStatus = await page.textContent("#status");
  out.clipboardWhileOffered = await page.evaluate(() => navigator.clipboard.readText());
  await snap(page, "copy-fields");
  await page.click('#copy-field-list button[data-field="type"]');
  await page.waitForFunction(() => /Copied field "type"/.test(document.getElementById("status").textContent));
  out.copiedField = await page.evaluate(() => navigator.clipboard.readText());

  page.once("dialog", (d) => d.accept());
  await page.click('#tree [data-path="/github/password"]');
  await page.click("#remove");
  await page.waitForFunction(() => !document.querySelector('#tree [data-path="/github/password"]'));
  out.afterRemove = await page.evaluate(() => vaultdb.find("/"));
  await snap(page, "edited-removed");

  // Two tabs increment one counter in the IndexedDB store at once.
  const page2 = await ctx.newPage();
  page2.on("pageerror", (e) => { out.pageErrors = (out.pageErrors || []).concat(String(e)); });
  await page2.goto(base);
  await unlock(page2, PASS);
  await page2.waitForSelector("#open:not([hidden])");
  const inc = (n) => {
    const one = (old) => JSON.stringify((old === null ? 0 : JSON.parse(old)) + 1);
    const run = async () => { for (let i = 0; i < n; i++) await vaultdb.update("/counter", one); };
    return run();
  };
  const c0 = Date.now();
  await Promise.all([page.evaluate(inc, INCREMENTS), page2.evaluate(inc, INCREMENTS)]);
  out.counterMillis = Date.now() - c0;
  out.increments = 2 * INCREMENTS;
  out.counter = JSON.parse(await page.evaluate(() => vaultdb.get("/counter")));
  await snap(page2, "two-tabs");
  await page2.close();

  // Lock on idle.
  await page.goto(`${url}/?idle=1`);
  await unlock(page, PASS);
  await page.waitForSelector("#open:not([hidden])");
  await page.waitForSelector("#locked:not([hidden])", { timeout: 5000 });
  out.idleStatus = await page.textContent("#status");
  out.idleLocked = !(await page.evaluate(() => vaultdb.isOpen()));
  await snap(page, "idle-locked");

  if (input.measure) {
    out.measure = await page.evaluate(async (pass) => {
      const r = {};
      r.webcrypto600k = await vaultdb.deriveKey(pass, 600000, "webcrypto");
      r.webcrypto600kAgain = await vaultdb.deriveKey(pass, 600000, "webcrypto");
      r.go600k = await vaultdb.deriveKey(pass, 600000, "go");
      return r;
    }, PASS);
  }
} catch (err) {
  out.error = String(err && err.stack || err);
} finally {
  await ctx.close();
}
out.millis.total = Date.now() - t0;
return out;
}
