// A small in-memory remoteStorage server around the remotestorage-server
// package, for the Go tests: WebFinger, an OAuth dialog that grants at once,
// and storage, all on 127.0.0.1 on a free port. Prints {"port":N} on one line
// once it listens, and exits when its stdin closes.
//
//   GET  /.well-known/webfinger?resource=acct:USER@HOST   the JRD
//   GET  /auth/USER?redirect_uri=..&scope=..&state=..       302 to
//        redirect_uri#access_token=..&token_type=bearer&state=.. (implicit grant)
//   *    /storage/USER/...                                  remotestorage-server
'use strict';
const http = require('http');
const crypto = require('crypto');
const RemotestorageServer = require('remotestorage-server');

const specVersion = 'draft-dejong-remotestorage-10';

const tokens = {};
const tokenStore = {
  get (username, token, cb) { cb(null, tokens[username + ':' + token]); },
  set (username, token, scopes, cb) { tokens[username + ':' + token] = scopes; cb(null); }
};
const data = {};
const dataStore = {
  get (username, key, cb) { cb(null, data[username + ':' + key]); },
  set (username, key, buf, cb) {
    if (buf === undefined) delete data[username + ':' + key];
    else data[username + ':' + key] = buf;
    cb(null);
  }
};
const rs = new RemotestorageServer(specVersion, tokenStore, dataStore);

// remotestorage-server 0.5.11 logs every PUT request object; the tests want
// a quiet server.
console.log = () => {};

let port = 0;
const server = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://127.0.0.1');
  if (req.method === 'GET' && u.pathname === '/.well-known/webfinger') {
    const resource = u.searchParams.get('resource') || '';
    const m = /^acct:([a-z0-9._-]+)@(.+)$/.exec(resource);
    if (!m) { res.writeHead(404); res.end(); return; }
    const user = m[1];
    const body = JSON.stringify({
      subject: resource,
      links: [rs.getWebfingerLink('http', '127.0.0.1', port, user, 'http://127.0.0.1:' + port + '/auth/' + user)]
    });
    res.writeHead(200, { 'Content-Type': 'application/jrd+json', 'Access-Control-Allow-Origin': '*' });
    res.end(body);
    return;
  }
  const auth = /^\/auth\/([a-z0-9._-]+)$/.exec(u.pathname);
  if (req.method === 'GET' && auth) {
    const redirect = u.searchParams.get('redirect_uri');
    const scope = u.searchParams.get('scope') || '';
    if (!redirect) { res.writeHead(400); res.end('redirect_uri missing'); return; }
    const token = crypto.randomBytes(24).toString('base64');
    tokens[auth[1] + ':' + token] = rs.makeScopePaths(scope.split(/\s+/).filter(Boolean));
    const frag = new URLSearchParams({ access_token: token, token_type: 'bearer' });
    if (u.searchParams.has('state')) frag.set('state', u.searchParams.get('state'));
    res.writeHead(302, { Location: redirect + '#' + frag.toString() });
    res.end();
    return;
  }
  if (u.pathname.startsWith('/storage/')) {
    rs.storage(req, res);
    return;
  }
  res.writeHead(404);
  res.end();
});

server.listen(0, '127.0.0.1', () => {
  port = server.address().port;
  process.stdout.write(JSON.stringify({ port }) + '\n');
});

process.stdin.on('data', () => {});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
