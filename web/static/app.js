// The vaultdb page: plain DOM code over globalThis.vaultdb, the engine
// compiled to WebAssembly (web/wasm). Every engine call returns a promise;
// secrets stay in the engine until the user asks to show or copy one.
"use strict";

const params = new URLSearchParams(location.search);
// Lock after this many seconds without input (?idle=N overrides; 0 = never).
const IDLE_SECONDS = Number(params.get("idle") ?? 300);
// A copied secret is wiped from the clipboard after this many seconds.
const CLIP_SECONDS = Number(params.get("clip") ?? 45);
// Iterations of a new store (?iterations=N, for tests; the default is the
// format's). Existing stores use what their config says.
const NEW_ITERATIONS = params.has("iterations") ? Number(params.get("iterations")) : undefined;

const $ = (id) => document.getElementById(id);
const show = (id, on) => { $(id).hidden = !on; };

let entries = [];      // every document path of the open store
let selected = null;   // the selected path
let revealed = false;
let otpTimer = null;
let idleTimer = null;
let clipTimer = null;

function status(msg, isError) {
  $("status").textContent = msg || "";
  $("status").classList.toggle("error", !!isError);
}

function fail(err) {
  status(messageOf(err), true);
}

function messageOf(err) {
  switch (err && err.code) {
    case "wrong-passphrase": return "Wrong passphrase.";
    case "no-store": return "There is no store there. Create one, or check the name.";
    case "store-exists": return "A store of that name exists already: unlock it instead.";
    case "locked": return "The store is locked.";
    case "unauthorized": return "The server refused the sign-in (expired or revoked): sign out and sign in again.";
    case "open-elsewhere": return "This store is open in another tab or window: lock it there first (a localStorage store has one writer at a time).";
    case "no-app-key": return "This page has no Dropbox app key: its config.json must name one.";
  }
  return String(err && err.message || err);
}

// The engine: vaultdb.wasm opens the stores kept in this browser;
// vaultdb-remote.wasm also opens remote ones (remoteStorage, Dropbox) and is
// more than twice the size, so it is loaded only when a remote store is
// chosen.
let engine = null; // "local" | "remote"

async function loadEngine(kind) {
  if (engine === kind || engine === "remote") return;
  const go = new Go();
  const file = kind === "remote" ? "vaultdb-remote.wasm" : "vaultdb.wasm";
  const wasm = await WebAssembly.instantiateStreaming(fetch(file), go.importObject);
  go.run(wasm.instance); // installs globalThis.vaultdb synchronously
  engine = kind;
}

// The site's settings, config.json beside the page: {"dropbox": {"appKey":
// "..."}} names the Dropbox app the page signs in as (whoever hosts the page
// sets it; "vaultdb web" serves one from $VAULTDB_DROPBOX_APP_KEY); tests
// also point the Dropbox URLs (authURL, tokenURL, apiBase, contentBase) at
// a fake on this machine.
let siteConfig = {};

async function boot() {
  try {
    const r = await fetch("config.json", { cache: "no-store" });
    if (r.ok) siteConfig = await r.json();
  } catch (_) { /* no settings: the defaults */ }
  const remembered = localStorage.getItem("vaultdb:store");
  if (remembered) $("store").value = remembered;
  let msg = "";
  try { msg = await finishSignIn(); } catch (err) { msg = "The sign-in failed: " + messageOf(err); }
  const loc = parseLocation($("store").value);
  await loadEngine(loc.remote ? "remote" : "local");
  show("loading", false);
  toLocked(msg);
  updateSignIn();
}

// parseLocation reads the store field: a name (a store in this browser's
// IndexedDB), ls:NAME (in its localStorage, one tab at a time),
// rs:USER@HOST[/vaultdb[/FOLDER]] (remoteStorage) or dropbox:/FOLDER, as
// the command line names them.
function parseLocation(text) {
  text = text.trim() || "default";
  const m = /^(?:rs|remotestorage):([^/@\s]+@[^/\s]+)(\/.*)?$/i.exec(text);
  if (m) {
    const folder = (m[2] || "").replace(/^\/+|\/+$/g, "") || "vaultdb";
    if (folder.split("/")[0] !== "vaultdb") {
      return { error: "A remoteStorage store is in the folder vaultdb or below it: rs:USER@HOST/vaultdb/NAME." };
    }
    const at = m[1].lastIndexOf("@");
    const account = m[1].slice(0, at) + "@" + m[1].slice(at + 1).toLowerCase();
    return { remote: true, type: "remotestorage", account, label: account, folder };
  }
  const d = /^dropbox:(.*)$/i.exec(text);
  if (d) {
    if (!d[1].startsWith("/")) return { error: "A Dropbox store is dropbox:/FOLDER, such as dropbox:/vaultdb." };
    return { remote: true, type: "dropbox", label: "Dropbox", folder: d[1] };
  }
  if (/^[a-z]+:/i.test(text) && !/^(idb|indexeddb|ls|localstorage|mem):/i.test(text)) {
    return { error: `Unknown kind of store "${text.split(":")[0]}:": use a name, ls:NAME, rs:USER@HOST or dropbox:/FOLDER.` };
  }
  return { remote: false, loc: text.includes(":") ? text : "idb:" + text };
}

// The sign-ins of this tab, in sessionStorage (gone when the tab closes):
// per remoteStorage account its access token and storage root; for Dropbox
// the access and refresh tokens. They open only the encrypted files.
const signInKey = (loc) => loc.type === "dropbox" ? "vaultdb:dropbox" : "vaultdb:rs:" + loc.account;
function signInOf(loc) {
  try { return JSON.parse(sessionStorage.getItem(signInKey(loc))); } catch (_) { return null; }
}

// storeLocation returns what the engine opens for the store field.
async function storeLocation() {
  const loc = parseLocation($("store").value);
  if (loc.error) throw new Error(loc.error);
  await loadEngine(loc.remote ? "remote" : "local");
  if (!loc.remote) return loc.loc;
  const s = signInOf(loc);
  if (!s) {
    const e = new Error(`Not signed in to ${loc.label}: press "Sign in to the server" first.`);
    e.code = "not-signed-in";
    throw e;
  }
  if (loc.type === "dropbox") {
    // A refreshed access token replaces the tab's, so that a reload uses
    // it instead of refreshing again.
    const onToken = (t) => sessionStorage.setItem(signInKey(loc), JSON.stringify(t));
    return { type: "dropbox", folder: loc.folder, token: s, config: siteConfig.dropbox || {}, onToken };
  }
  return { type: loc.type, storageRoot: s.storageRoot, folder: loc.folder, token: s.token };
}

function updateSignIn() {
  const loc = parseLocation($("store").value);
  show("signin-row", !!loc.remote);
  if (!loc.remote) return;
  const s = signInOf(loc);
  show("signin", !s); show("signout", !!s);
  $("signin-state").textContent = s ? `Signed in to ${loc.label}.` : `Not signed in to ${loc.label}.`;
}
$("store").addEventListener("input", updateSignIn);

const redirectURI = () => location.origin + location.pathname;

function randomState() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

// Sign in: remoteStorage with OAuth 2's implicit grant, as remoteStorage
// apps do (WebFinger names the account's dialog, which sends the browser
// back here with the token in the address's fragment, which browsers never
// send to a server); Dropbox with the code grant and PKCE (the code comes
// back in the query and is worth nothing without the verifier this tab
// keeps). state ties each answer to the request this tab made.
$("signin").addEventListener("click", async () => {
  const loc = parseLocation($("store").value);
  if (!loc.remote) return;
  try {
    await loadEngine("remote");
    const state = randomState();
    const pending = { type: loc.type, label: loc.label, state, store: $("store").value.trim() };
    let url;
    if (loc.type === "dropbox") {
      const r = await vaultdb.dropboxStartLogin(siteConfig.dropbox || {}, redirectURI(), state);
      pending.verifier = r.verifier;
      url = r.url;
    } else {
      status(`Looking up ${loc.account}…`);
      const ep = await vaultdb.rsDiscover(loc.account);
      pending.account = ep.account;
      pending.storageRoot = ep.storageRoot;
      const u = new URL(ep.authURL);
      u.searchParams.set("redirect_uri", redirectURI());
      u.searchParams.set("client_id", location.origin);
      u.searchParams.set("response_type", "token");
      u.searchParams.set("scope", "vaultdb:rw");
      u.searchParams.set("state", state);
      url = u.toString();
    }
    sessionStorage.setItem("vaultdb:pending", JSON.stringify(pending));
    location.assign(url);
  } catch (err) { fail(err); }
});

// Sign out: forget the tab's sign-in; for Dropbox also revoke it there
// (as "vaultdb logout dropbox" does). remoteStorage has no revocation
// request: its tokens are revoked in the server's own account page.
$("signout").addEventListener("click", async () => {
  const loc = parseLocation($("store").value);
  if (!loc.remote) return;
  const s = signInOf(loc);
  sessionStorage.removeItem(signInKey(loc));
  updateSignIn();
  if (loc.type !== "dropbox" || !s) return status(`Signed out of ${loc.label} in this tab.`);
  try {
    await loadEngine("remote");
    await vaultdb.dropboxRevoke(siteConfig.dropbox || {}, s);
    status("Signed out of Dropbox: the sign-in is revoked.");
  } catch (err) {
    status("Signed out in this tab, but Dropbox did not revoke the sign-in: " + messageOf(err) +
      " Revoke it in Dropbox's settings (Connected apps).", true);
  }
});

// finishSignIn takes the answer of a sign-in dialog out of the address, if
// there is one, and returns what to tell the user.
async function finishSignIn() {
  const frag = new URLSearchParams(location.hash.slice(1));
  const query = new URLSearchParams(location.search);
  let answer;
  if (frag.has("access_token") || frag.has("error")) answer = frag;
  else if (query.has("state") && (query.has("code") || query.has("error"))) answer = new URLSearchParams(query);
  else return "";
  for (const k of ["code", "state", "error", "error_description"]) query.delete(k);
  history.replaceState(null, "", location.pathname + (query.size ? "?" + query : ""));
  let pending = null;
  try { pending = JSON.parse(sessionStorage.getItem("vaultdb:pending")); } catch (_) {}
  sessionStorage.removeItem("vaultdb:pending");
  if (!pending || answer.get("state") !== pending.state) return "The sign-in answer does not match a sign-in started here: sign in again.";
  $("store").value = pending.store;
  if (answer.get("error")) return `${pending.label} did not grant access (${answer.get("error")}).`;
  let signIn;
  if (pending.type === "dropbox") {
    await loadEngine("remote");
    signIn = await vaultdb.dropboxFinishLogin(siteConfig.dropbox || {}, redirectURI(), pending.verifier, answer.get("code"));
  } else {
    signIn = { token: answer.get("access_token"), storageRoot: pending.storageRoot };
  }
  sessionStorage.setItem(signInKey(pending), JSON.stringify(signIn));
  return `Signed in to ${pending.label}. Type the passphrase to unlock the store.`;
}

function toLocked(msg) {
  entries = []; selected = null;
  clearInterval(otpTimer);
  $("tree").replaceChildren();
  $("value").textContent = "";
  show("open", false); show("lock", false); show("locked", true);
  $("where").textContent = "";
  $("passphrase").value = ""; $("confirm").value = "";
  show("confirm-row", false);
  $("passphrase").focus();
  status(msg || "");
}

// toOpen shows the open store once its tree is there (so the page never
// shows an empty store that is not empty).
async function toOpen(info) {
  try {
    await refresh();
  } catch (err) {
    await vaultdb.lock();
    throw err;
  }
  show("locked", false); show("open", true); show("lock", true);
  $("where").textContent = info.location;
  document.body.dataset.unlockMillis = info.millis;
  status(`Unlocked in ${info.millis} ms.`);
  armIdle();
}

$("unlock-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const pass = $("passphrase").value;
  if (!$("confirm-row").hidden) return create();
  if (!pass) return status("Type the passphrase.", true);
  status("Unlocking…");
  try {
    const info = await vaultdb.unlock(await storeLocation(), pass);
    $("passphrase").value = "";
    localStorage.setItem("vaultdb:store", $("store").value.trim());
    await toOpen(info);
  } catch (err) { fail(err); }
});

$("create").addEventListener("click", () => {
  if ($("confirm-row").hidden) {
    show("confirm-row", true);
    $("unlock").textContent = "Create";
    status("Choose a passphrase and type it twice. It cannot be recovered.");
    $("passphrase").focus();
    return;
  }
  create();
});

async function create() {
  const pass = $("passphrase").value;
  if (pass.length < 8) return status("Use a passphrase of at least 8 characters.", true);
  if (pass !== $("confirm").value) return status("The two passphrases differ.", true);
  status("Creating the store…");
  try {
    const opts = {};
    if (NEW_ITERATIONS) opts.iterations = NEW_ITERATIONS;
    const info = await vaultdb.create(await storeLocation(), pass, opts);
    localStorage.setItem("vaultdb:store", $("store").value.trim());
    $("passphrase").value = ""; $("confirm").value = "";
    show("confirm-row", false); $("unlock").textContent = "Unlock";
    await toOpen(info);
  } catch (err) { fail(err); }
}

$("lock").addEventListener("click", () => lock("Locked."));

async function lock(msg) {
  await vaultdb.lock();
  toLocked(msg);
}

async function refresh() {
  entries = await vaultdb.find("/");
  renderTree();
}

// The tree of entries matching the search, directories first level by level.
function renderTree() {
  const q = $("search").value.trim().toLowerCase();
  const shown = entries.filter((p) => !q || p.toLowerCase().includes(q));
  const root = { dirs: new Map(), docs: [] };
  for (const p of shown) {
    const parts = p.slice(1).split("/");
    let node = root;
    for (const d of parts.slice(0, -1)) {
      if (!node.dirs.has(d)) node.dirs.set(d, { dirs: new Map(), docs: [] });
      node = node.dirs.get(d);
    }
    node.docs.push(p);
  }
  const build = (node) => {
    const items = [];
    for (const [name, sub] of node.dirs) {
      const li = document.createElement("li");
      li.className = "dir";
      li.textContent = name + "/";
      const ul = document.createElement("ul");
      ul.append(...build(sub));
      li.append(ul);
      items.push(li);
    }
    for (const p of node.docs) {
      const li = document.createElement("li");
      li.className = "doc";
      li.dataset.path = p;
      li.textContent = p.slice(p.lastIndexOf("/") + 1);
      li.tabIndex = 0;
      li.setAttribute("role", "treeitem");
      if (p === selected) li.classList.add("selected");
      li.addEventListener("click", () => select(p));
      li.addEventListener("keydown", (ev) => { if (ev.key === "Enter") select(p); });
      items.push(li);
    }
    return items;
  };
  $("tree").replaceChildren(...build(root));
  $("count").textContent = q ? `${shown.length} of ${entries.length} entries` : `${entries.length} entries`;
}

$("search").addEventListener("input", renderTree);

async function select(path) {
  selected = path;
  revealed = false;
  clearInterval(otpTimer);
  show("editor", false); show("entry", true); show("copy-fields", false);
  $("entry-path").textContent = path;
  $("value").textContent = "••••••••";
  $("show").textContent = "Show";
  renderTree();
  try {
    await vaultdb.totp(path);
    // Fill the code before showing it: shown first, it was empty for a
    // moment (TestBrowser read "" once).
    await tickOTP();
    show("otp", true);
    otpTimer = setInterval(tickOTP, 1000);
  } catch (err) {
    show("otp", false);
    if (err.code !== "not-totp") fail(err);
  }
}

async function tickOTP() {
  if (!selected) return;
  try {
    const t = await vaultdb.totp(selected);
    $("otp-code").textContent = t.code;
    $("otp-left").textContent = `${t.remaining} s left`;
  } catch (err) { clearInterval(otpTimer); fail(err); }
}

$("show").addEventListener("click", async () => {
  if (revealed) {
    $("value").textContent = "••••••••"; revealed = false; $("show").textContent = "Show";
    return;
  }
  try {
    // What "vaultdb get" prints: a string as its text, else indented JSON.
    $("value").textContent = await vaultdb.text(selected);
    revealed = true; $("show").textContent = "Hide";
  } catch (err) { fail(err); }
});

async function copy(text, what) {
  await navigator.clipboard.writeText(text);
  status(`Copied ${what}; the clipboard is cleared in ${CLIP_SECONDS} s.`);
  clearTimeout(clipTimer);
  clipTimer = setTimeout(async () => {
    try {
      // Only clear what we put there (reading needs permission; without
      // it, clear anyway).
      let cur = text;
      try { cur = await navigator.clipboard.readText(); } catch (_) {}
      if (cur === text) await navigator.clipboard.writeText("");
      status("Clipboard cleared.");
    } catch (_) { /* the page lost focus: nothing can be done */ }
  }, CLIP_SECONDS * 1000);
}

// Copy takes what "vaultdb get -c" copies (one rule, internal/entry's
// CopyValue): a string whole, an object's "password" field. An object
// without one is never copied whole (its other fields are secrets too):
// the page offers its fields, as the command line's message names them.
$("copy").addEventListener("click", async () => {
  show("copy-fields", false);
  try {
    const r = await vaultdb.copyText(selected);
    if (r.fields) { offerFields(selected, r); return; }
    await copy(r.text, r.what);
  } catch (err) { fail(err); }
});

function offerFields(path, r) {
  const list = $("copy-field-list");
  list.replaceChildren();
  for (const name of r.fields) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = name;
    b.dataset.field = name;
    b.addEventListener("click", async () => {
      show("copy-fields", false);
      try { await copy(await vaultdb.text(path, name), `field "${name}" of ${path}`); } catch (err) { fail(err); }
    });
    list.append(b);
  }
  show("copy-fields", true);
  status(r.totp ? `${path} has no "password" field: copy one of its fields, or its code with "Copy code".`
                : `${path} has no "password" field: choose the field to copy.`);
}

$("otp-copy").addEventListener("click", async () => {
  try { await copy((await vaultdb.totp(selected)).code, "the code"); } catch (err) { fail(err); }
});

$("add").addEventListener("click", () => openEditor(null));

$("edit").addEventListener("click", async () => {
  try { openEditor(selected, await vaultdb.get(selected)); } catch (err) { fail(err); }
});

function openEditor(path, json) {
  show("entry", false); show("editor", true);
  $("edit-path").value = path ? path.slice(1) : "";
  $("edit-path").readOnly = !!path;
  let kind = "text", text = "";
  if (json !== undefined) {
    const v = JSON.parse(json);
    if (typeof v === "string") text = v;
    else { kind = "json"; text = JSON.stringify(v, null, 2); }
  }
  $("edit-kind").value = kind;
  $("edit-value").value = text;
  (path ? $("edit-value") : $("edit-path")).focus();
}

$("cancel").addEventListener("click", () => {
  $("edit-value").value = "";
  show("editor", false);
  if (selected) show("entry", true);
});

$("editor").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const path = "/" + $("edit-path").value.trim().replace(/^\/+/, "");
  const value = $("edit-value").value;
  try {
    switch ($("edit-kind").value) {
      case "text": await vaultdb.setText(path, value); break;
      case "json": await vaultdb.set(path, value); break;
      case "totp": await vaultdb.totpAdd(path, value); break;
    }
    $("edit-value").value = "";
    status(`Saved ${path}.`);
    await refresh();
    await select(path);
  } catch (err) { fail(err); }
});

$("remove").addEventListener("click", async () => {
  if (!confirm(`Remove ${selected}?`)) return;
  try {
    await vaultdb.remove(selected);
    status(`Removed ${selected}.`);
    selected = null;
    show("entry", false);
    await refresh();
  } catch (err) { fail(err); }
});

function armIdle() {
  clearTimeout(idleTimer);
  if (!IDLE_SECONDS || !vaultdb.isOpen()) return;
  idleTimer = setTimeout(() => lock("Locked after " + IDLE_SECONDS + " s without use."), IDLE_SECONDS * 1000);
}
for (const ev of ["keydown", "pointerdown", "wheel"]) document.addEventListener(ev, armIdle, { passive: true });
// A hidden page for longer than the idle time is locked on return too.
document.addEventListener("visibilitychange", armIdle);

boot().catch((err) => { $("loading").textContent = "The engine failed to load: " + err.message; });
