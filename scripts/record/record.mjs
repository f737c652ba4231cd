// Drives headless Chromium through the fixture server's pages and writes a HAR.
//
//   node record.mjs --mode cdp|playwright --scheme http|https --info server.json --out file.har
//
// mode cdp:        talks the Chrome DevTools Protocol over --remote-debugging-pipe,
//                  auto-attaches to every target (the sandboxed iframe is out of
//                  process) and converts the Network domain events into a HAR shaped
//                  like Chrome DevTools' export (preflights as their own entries).
// mode playwright: playwright-core's recordHar (a real producer that omits preflights).
// --keylog FILE sets SSLKEYLOGFILE for Chromium; RECORD_DEBUG=1 logs target
// attachment, cookie decisions and WebSocket handshakes on stderr.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const mode = args.mode || 'cdp';
const scheme = args.scheme || 'http';
const chromiumPath = args.chromium || '/usr/bin/chromium';
const info = JSON.parse(readFileSync(args.info, 'utf8'));
if (!args.out) throw new Error('--out FILE is required');

const origin = (sc, host) => {
  const port = sc === 'https' ? info.httpsPort : info.httpPort;
  const dflt = sc === 'https' ? 443 : 80;
  return `${sc}://${host}${port === dflt ? '' : ':' + port}`;
};
const pages = info.pages.map(p => ({ ...p, url: origin(p.Scheme || scheme, p.Host) + p.Path }));

// Every fixture name resolves to the server's address (loopback, or the
// impaired link's far end in the lossy session).
const serverIP = info.http.slice(0, info.http.lastIndexOf(':')).replace(/^\[|\]$/g, '');

const userDataDir = mkdtempSync(join(tmpdir(), 'corscope-chromium-'));
// Chromium blocks third-party cookies by default (blockedReasons
// "UserPreferences"); the fixtures need them to show credentialed cross-site
// requests, so the fresh profile allows them, as many users' browsers do.
mkdirSync(join(userDataDir, 'Default'), { recursive: true });
writeFileSync(join(userDataDir, 'Default', 'Preferences'),
  JSON.stringify({ profile: { cookie_controls_mode: 0, block_third_party_cookies: false } }));
const flags = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--ignore-certificate-errors',
  '--host-resolver-rules=' + info.hosts.map(h => `MAP ${h} ${serverIP}`).join(', '),
];

// --keylog FILE: Chromium writes its TLS secrets there (NSS key log format).
const chromiumEnv = { ...process.env };
if (args.keylog) chromiumEnv.SSLKEYLOGFILE = args.keylog;

function log(...a) { console.error('[record]', ...a); }

// ---------------------------------------------------------------- playwright
async function recordPlaywright() {
  const { chromium } = await import('playwright-core');
  // A persistent context so the profile's cookie preference applies.
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath, args: flags, headless: true, env: chromiumEnv,
    ignoreHTTPSErrors: true, recordHar: { path: args.out, content: 'embed' },
  });
  const page = context.pages()[0] || await context.newPage();
  for (const p of pages) {
    log('visit', p.url);
    if (p.Wait === 'navigate') {
      const done = page.waitForURL(u => u.toString() !== p.url, { timeout: 10000 });
      await page.goto(p.url);
      await done;
      await page.waitForLoadState('load');
    } else {
      await page.goto(p.url);
      if (p.Wait === 'done') {
        await page.waitForFunction(() => window.__done, null, { timeout: 15000 });
        log('  ', JSON.stringify(await page.evaluate(() => window.__done)));
      }
    }
  }
  await context.close(); // writes the HAR and ends the browser
}

// ---------------------------------------------------------------- raw CDP
class CDP {
  constructor(proc) {
    this.proc = proc;
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = [];
    let buf = Buffer.alloc(0);
    proc.stdio[4].on('data', chunk => {
      buf = Buffer.concat([buf, chunk]);
      let i;
      while ((i = buf.indexOf(0)) >= 0) {
        const msg = JSON.parse(buf.subarray(0, i).toString('utf8'));
        buf = buf.subarray(i + 1);
        this.dispatch(msg);
      }
    });
  }
  dispatch(msg) {
    if (msg.id !== undefined) {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
      else p.resolve(msg.result);
      return;
    }
    for (const l of this.listeners) l(msg.method, msg.params, msg.sessionId);
  }
  send(method, params = {}, sessionId) {
    const id = this.nextId++;
    const msg = { id, method, params };
    if (sessionId) msg.sessionId = sessionId;
    this.proc.stdio[3].write(JSON.stringify(msg) + '\0');
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject, method }));
  }
  on(fn) { this.listeners.push(fn); }
}

const sleep = ms => new Promise(r => setTimeout(r, ms));

async function recordCDP() {
  const proc = spawn(chromiumPath, [...flags, '--remote-debugging-pipe', `--user-data-dir=${userDataDir}`, 'about:blank'],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'], env: chromiumEnv });
  proc.stderr.on('data', () => {}); // Chromium's own chatter
  const exited = new Promise(r => proc.on('exit', r));
  const cdp = new CDP(proc);
  const rec = new Recorder(cdp);
  const autoAttach = { autoAttach: true, waitForDebuggerOnStart: true, flatten: true };

  cdp.on(async (method, params, sessionId) => {
    if (method === 'Target.attachedToTarget') {
      const sid = params.sessionId;
      const type = params.targetInfo.type;
      rec.sessions.set(sid, { type, targetId: params.targetInfo.targetId });
      if (process.env.RECORD_DEBUG) log('attached', type, params.targetInfo.url, params.waitingForDebugger);
      // Sent back to back, not awaited one by one: a session handles its
      // commands in order, so Network is on before the target resumes, and a
      // slow answer cannot leave the frame paused.
      const setup = [];
      if (type === 'page' || type === 'iframe') {
        setup.push(cdp.send('Network.enable', {}, sid), cdp.send('Page.enable', {}, sid));
      }
      setup.push(cdp.send('Target.setAutoAttach', autoAttach, sid));
      setup.push(cdp.send('Runtime.runIfWaitingForDebugger', {}, sid));
      for (const p of setup) p.catch(e => log('attach', type, e.message));
      return;
    }
    rec.event(method, params, sessionId);
  });

  rec.browserVersion = (await cdp.send('Browser.getVersion')).product;
  await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: true });
  const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank' });
  let mainSession;
  for (let i = 0; i < 100 && !mainSession; i++) {
    for (const [sid, t] of rec.sessions) if (t.targetId === targetId) mainSession = sid;
    if (!mainSession) await sleep(50);
  }
  if (!mainSession) throw new Error('no page session attached');
  rec.mainSession = mainSession;

  const evaluate = async expr => {
    try {
      const r = await cdp.send('Runtime.evaluate', { expression: expr, returnByValue: true }, mainSession);
      return r.result.value;
    } catch { return undefined; } // mid-navigation
  };
  for (const p of pages) {
    log('visit', p.url);
    rec.newPage(p.url);
    await cdp.send('Page.navigate', { url: p.url }, mainSession);
    const deadline = Date.now() + 15000;
    let ok = false;
    while (Date.now() < deadline && !ok) {
      await sleep(100);
      const st = await evaluate('[location.href, document.readyState, window.__done || null]');
      if (!st) continue;
      const [href, ready, done] = st;
      if (p.Wait === 'done') ok = done !== null;
      else if (p.Wait === 'navigate') ok = href !== p.url && href !== 'about:blank' && ready === 'complete';
      else ok = href === p.url && ready === 'complete';
      if (ok && done) log('  ', JSON.stringify(done));
    }
    if (!ok) log('  timed out waiting for', p.Wait);
    await sleep(300); // late ExtraInfo events and bodies
  }
  await sleep(500);
  await rec.flushBodies();
  await cdp.send('Target.closeTarget', { targetId }).catch(() => {});
  await cdp.send('Browser.close').catch(() => {});
  await Promise.race([exited, sleep(5000)]);
  if (proc.exitCode === null) proc.kill('SIGKILL');
  writeFileSync(args.out, JSON.stringify(rec.har(), null, 2) + '\n');
}

// Recorder turns Network events into HAR entries the way DevTools' HAR
// export shapes them (models/har/Log.ts): _initiator, _priority,
// _resourceType (lower case), _connectionId, serverIPAddress, connection
// (the remote port), _transferSize, _error, _webSocketMessages. It adds
// _requestId (each entry's CDP request id) as chrome-har does, so a
// preflight's _initiator.requestId can be resolved.
class Recorder {
  constructor(cdp) {
    this.cdp = cdp;
    this.sessions = new Map();
    this.reqs = new Map(); // sessionId|requestId -> state
    this.order = [];
    this.bodies = [];
    this.pagesList = [];
    this.currentPage = null;
  }
  key(sid, rid) { return `${sid || ''}|${rid}`; }
  newPage(url) {
    const id = `page_${this.pagesList.length + 1}`;
    this.currentPage = { id, title: url, startedDateTime: new Date().toISOString(), pageTimings: { onContentLoad: -1, onLoad: -1 }, _start: null };
    this.pagesList.push(this.currentPage);
  }
  get(sid, rid, create) {
    const k = this.key(sid, rid);
    let r = this.reqs.get(k);
    if (!r && create) {
      r = { sid, rid, extraReq: null, extraResp: null, resp: null, ws: null, frames: [], pageref: this.currentPage && this.currentPage.id };
      this.reqs.set(k, r);
      this.order.push(r);
    }
    return r;
  }
  event(method, p, sid) {
    switch (method) {
      case 'Page.domContentEventFired':
      case 'Page.loadEventFired': {
        const pg = this.currentPage;
        if (!pg || sid !== this.mainSession || pg._start === null) return;
        const ms = (p.timestamp - pg._start) * 1000;
        if (method === 'Page.loadEventFired') pg.pageTimings.onLoad = ms; else pg.pageTimings.onContentLoad = ms;
        return;
      }
      case 'Network.requestWillBeSent': {
        let r = this.get(sid, p.requestId, false);
        if (r && p.redirectResponse) {
          // The hop before the redirect becomes its own entry, as in DevTools.
          r.resp = p.redirectResponse;
          r.endTs = p.timestamp;
          r.rid = p.requestId + ':redirect' + this.order.length;
          this.reqs.delete(this.key(sid, p.requestId));
          r = null;
        }
        r = this.get(sid, p.requestId, true);
        r.will = p;
        if (this.currentPage && this.currentPage._start === null && sid === this.mainSession && p.type === 'Document') {
          this.currentPage._start = p.timestamp;
          this.currentPage.startedDateTime = new Date(p.wallTime * 1000).toISOString();
        }
        return;
      }
      case 'Network.requestWillBeSentExtraInfo':
        if (process.env.RECORD_DEBUG) log('extra', p.requestId, JSON.stringify(p.associatedCookies.map(c => [c.cookie.name, c.blockedReasons, c.exemptionReason])));
        this.get(sid, p.requestId, true).extraReq = p; return;
      case 'Network.responseReceivedExtraInfo': this.get(sid, p.requestId, true).extraResp = p; return;
      case 'Network.responseReceived': { const r = this.get(sid, p.requestId, true); r.resp = p.response; r.respTs = p.timestamp; r.type = p.type; return; }
      case 'Network.requestServedFromCache': this.get(sid, p.requestId, true).servedFromCache = true; return;
      case 'Network.dataReceived': { const r = this.get(sid, p.requestId, true); r.dataLength = (r.dataLength || 0) + p.dataLength; return; }
      case 'Network.loadingFinished': {
        const r = this.get(sid, p.requestId, true);
        r.endTs = p.timestamp; r.encoded = p.encodedDataLength;
        if (r.will && !(r.will.initiator && r.will.initiator.type === 'preflight') && r.resp) {
          this.bodies.push(this.cdp.send('Network.getResponseBody', { requestId: p.requestId }, sid)
            .then(b => { r.body = b; }).catch(() => {}));
        }
        return;
      }
      case 'Network.loadingFailed': {
        const r = this.get(sid, p.requestId, true);
        r.endTs = p.timestamp; r.failed = p;
        return;
      }
      case 'Network.webSocketCreated': { const r = this.get(sid, p.requestId, true); r.ws = { url: p.url, initiator: p.initiator }; return; }
      case 'Network.webSocketWillSendHandshakeRequest': { const r = this.get(sid, p.requestId, true); r.wsReq = p; return; }
      case 'Network.webSocketHandshakeResponseReceived': {
        if (process.env.RECORD_DEBUG) log('wsresp', JSON.stringify(p));
        const r = this.get(sid, p.requestId, true); r.wsResp = p; return;
      }
      case 'Network.webSocketFrameSent':
      case 'Network.webSocketFrameReceived': {
        const r = this.get(sid, p.requestId, true);
        r.frames.push({ type: method.endsWith('Sent') ? 'send' : 'receive', time: p.timestamp, opcode: p.response.opcode, data: p.response.payloadData });
        return;
      }
      case 'Network.webSocketClosed': { const r = this.get(sid, p.requestId, true); r.endTs = p.timestamp; return; }
    }
  }
  async flushBodies() { await Promise.all(this.bodies); }

  har() {
    const entries = [];
    for (const r of this.order) {
      const e = r.ws ? this.wsEntry(r) : this.httpEntry(r);
      if (e) entries.push(e);
    }
    entries.sort((a, b) => a._sortKey - b._sortKey);
    for (const e of entries) delete e._sortKey;
    const pages = this.pagesList.filter(pg => pg._start !== null).map(({ _start, ...pg }) => pg);
    return {
      log: {
        version: '1.2',
        creator: { name: 'corscope scripts/record (CDP Network domain, DevTools HAR layout)', version: '1' },
        browser: { name: 'Chromium', version: this.browserVersion || '' },
        pages,
        entries,
      },
    };
  }

  httpEntry(r) {
    const w = r.will;
    if (!w || w.request.url.startsWith('data:') || w.request.url.startsWith('about:')) return null;
    const resp = r.resp;
    const extraResp = r.extraResp;
    const reqHeaders = headerList(r.extraReq ? r.extraReq.headers : w.request.headers);
    const status = resp ? resp.status : (extraResp ? extraResp.statusCode : 0);
    const respHeaders = headerList(extraResp ? extraResp.headers : resp ? resp.headers : {});
    const headersText = extraResp && extraResp.headersText;
    const protocol = resp ? (resp.protocol || '') : '';
    const reqVersion = httpVersionFromProtocol(protocol, reqHeaders);
    const respVersion = headersText ? (headersText.match(/^(HTTP\/\d+(?:\.\d+)?)/) || [, 'HTTP/0.9'])[1] : httpVersionFromProtocol(protocol, respHeaders);
    const timings = buildTimings(w.timestamp, resp && resp.timing, r.respTs, r.endTs);
    const time = ['blocked', 'dns', 'connect', 'send', 'wait', 'receive'].reduce((s, k) => s + Math.max(timings[k], 0), 0);
    const headersSize = headersText ? headersText.length : -1;
    const transfer = r.encoded !== undefined ? r.encoded : 0;
    const mimeType = (resp && resp.mimeType) || 'x-unknown';
    const content = { size: r.dataLength || 0, mimeType };
    if (r.body && r.body.body !== undefined) {
      content.text = r.body.body;
      if (r.body.base64Encoded) content.encoding = 'base64';
    }
    const url = w.request.url.split('#')[0];
    const request = {
      method: w.request.method,
      url,
      httpVersion: reqVersion,
      headers: reqHeaders,
      queryString: queryString(url),
      cookies: requestCookies(r.extraReq),
      headersSize: -1,
      bodySize: 0,
    };
    const post = postData(w.request, reqHeaders);
    if (post) { request.postData = post; request.bodySize = Buffer.byteLength(post.text); }
    const entry = {
      _connectionId: resp && resp.connectionId && String(resp.connectionId) !== '0' ? String(resp.connectionId) : undefined,
      _initiator: exportInitiator(w.initiator),
      _priority: w.request.initialPriority || null,
      _requestId: r.rid,
      // DevTools files requests whose initiator is a preflight under its own
      // "preflight" resource type; CDP reports them as type Other.
      _resourceType: w.initiator && w.initiator.type === 'preflight' ? 'preflight' : (w.type || 'Other').toLowerCase(),
      cache: {},
      connection: resp && resp.remotePort !== undefined ? String(resp.remotePort) : undefined,
      pageref: r.pageref,
      request,
      response: {
        status,
        statusText: resp ? resp.statusText : (headersText ? statusTextOf(headersText) : ''),
        httpVersion: status ? respVersion : '',
        headers: respHeaders,
        cookies: responseCookies(respHeaders),
        content,
        redirectURL: headerValue(respHeaders, 'location') || '',
        headersSize,
        bodySize: transfer > 0 ? transfer - Math.max(headersSize, 0) : -1,
        _transferSize: transfer,
        _error: r.failed ? r.failed.errorText : null,
      },
      serverIPAddress: resp && resp.remoteIPAddress ? resp.remoteIPAddress.replace(/^\[|\]$/g, '') : '',
      startedDateTime: new Date(w.wallTime * 1000).toISOString(),
      time,
      timings,
      _sortKey: w.timestamp,
    };
    if (r.failed && r.failed.corsErrorStatus) entry.response._error += ` (CORS ${r.failed.corsErrorStatus.corsError})`;
    // DevTools writes _fromCache only for cached responses: "disk", or
    // "memory" for those announced by requestServedFromCache alone.
    if (resp && (resp.fromDiskCache || resp.fromPrefetchCache)) entry._fromCache = 'disk';
    else if (r.servedFromCache) entry._fromCache = 'memory';
    for (const k of ['_connectionId', 'connection', 'pageref']) if (entry[k] === undefined) delete entry[k];
    return entry;
  }

  wsEntry(r) {
    const hs = r.wsReq;
    if (!hs) return null;
    const resp = r.wsResp && r.wsResp.response;
    // The handshake response carries the raw request headers (with Cookie)
    // when Chromium has them; the will-send event has them without cookies.
    const reqHeaders = headerList(r.extraReq ? r.extraReq.headers : (resp && resp.requestHeaders) || hs.request.headers);
    const respHeaders = headerList(r.extraResp ? r.extraResp.headers : resp ? resp.headers : {});
    const headersText = (r.extraResp && r.extraResp.headersText) || (resp && resp.headersText);
    const start = hs.timestamp;
    const url = r.ws.url.split('#')[0];
    return {
      _initiator: exportInitiator(r.ws.initiator),
      _priority: null,
      _requestId: r.rid,
      _resourceType: 'websocket',
      _webSocketMessages: r.frames.map(f => ({ ...f })),
      cache: {},
      pageref: r.pageref,
      request: {
        method: 'GET', url, httpVersion: 'HTTP/1.1', // Chromium's WebSockets here are HTTP/1.1 upgrades
        headers: reqHeaders, queryString: queryString(url),
        cookies: requestCookies(r.extraReq), headersSize: -1, bodySize: 0,
      },
      response: {
        status: resp ? resp.status : 0,
        statusText: resp ? resp.statusText : '',
        httpVersion: resp ? 'HTTP/1.1' : '',
        headers: respHeaders,
        cookies: responseCookies(respHeaders),
        content: { size: 0, mimeType: 'x-unknown' },
        redirectURL: '',
        headersSize: headersText ? headersText.length : -1,
        bodySize: 0,
        _transferSize: 0,
        _error: null,
      },
      serverIPAddress: '',
      startedDateTime: new Date(hs.wallTime * 1000).toISOString(),
      time: r.endTs ? (r.endTs - start) * 1000 : 0,
      timings: { blocked: -1, dns: -1, ssl: -1, connect: -1, send: 0, wait: r.wsResp ? (r.wsResp.timestamp - start) * 1000 : 0, receive: 0 },
      _sortKey: start,
    };
  }
}

// headerList turns a CDP Headers object into HAR headers; Chromium joins
// repeated fields with "\n", DevTools splits them back.
function headerList(obj) {
  const out = [];
  for (const [name, value] of Object.entries(obj || {})) {
    for (const v of String(value).split('\n')) out.push({ name, value: v });
  }
  return out;
}
function headerValue(list, name) {
  const h = list.find(x => x.name.toLowerCase() === name);
  return h ? h.value : undefined;
}
function httpVersionFromProtocol(protocol, headers) {
  const v = headerValue(headers, ':version') || headerValue(headers, 'version');
  if (v) return v;
  const p = (protocol || '').toLowerCase();
  if (p === 'h2') return 'http/2.0';
  return p.replace(/^http\/2(\.0)?\+/, 'http/2.0+');
}
function statusTextOf(text) {
  const m = text.match(/^HTTP\/\S+ \d{3} ?([^\r\n]*)/);
  return m ? m[1] : '';
}
function exportInitiator(init) {
  if (!init) return null;
  const out = { type: init.type };
  if (init.url !== undefined) out.url = init.url;
  if (init.requestId !== undefined) out.requestId = init.requestId;
  if (init.lineNumber !== undefined) out.lineNumber = init.lineNumber;
  if (init.stack) out.stack = init.stack;
  return out;
}
function queryString(url) {
  try {
    return [...new URL(url).searchParams].map(([name, value]) => ({ name, value }));
  } catch { return []; }
}
function requestCookies(extra) {
  if (!extra || !extra.associatedCookies) return [];
  return extra.associatedCookies
    .filter(c => !c.blockedReasons || c.blockedReasons.length === 0)
    .map(({ cookie: c }) => {
      const o = { name: c.name, value: c.value, path: c.path, domain: c.domain,
        expires: c.expires > 0 ? new Date(c.expires * 1000).toISOString() : null, httpOnly: c.httpOnly, secure: c.secure };
      if (c.sameSite) o.sameSite = c.sameSite;
      return o;
    });
}
function responseCookies(headers) {
  return headers.filter(h => h.name.toLowerCase() === 'set-cookie').map(h => {
    const [pair, ...attrs] = h.value.split(';');
    const eq = pair.indexOf('=');
    const c = { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), path: '', domain: '', expires: null, httpOnly: false, secure: false };
    for (const a of attrs) {
      const [k, ...v] = a.trim().split('=');
      const key = k.toLowerCase(), val = v.join('=');
      if (key === 'path') c.path = val;
      else if (key === 'domain') c.domain = val;
      else if (key === 'expires') c.expires = new Date(val).toISOString();
      else if (key === 'httponly') c.httpOnly = true;
      else if (key === 'secure') c.secure = true;
      else if (key === 'samesite') c.sameSite = val;
    }
    return c;
  });
}
function postData(req, headers) {
  let text = req.postData;
  if (text === undefined && req.postDataEntries) {
    text = req.postDataEntries.map(e => e.bytes ? Buffer.from(e.bytes, 'base64').toString('utf8') : '').join('');
  }
  if (text === undefined) return null;
  const mimeType = headerValue(headers, 'content-type') || '';
  const out = { mimeType, text };
  if (mimeType.startsWith('application/x-www-form-urlencoded')) {
    out.params = [...new URLSearchParams(text)].map(([name, value]) => ({ name, value }));
  }
  return out;
}
// buildTimings follows DevTools' split of a ResourceTiming into HAR phases.
function buildTimings(issueTs, t, respTs, endTs) {
  const res = { blocked: -1, dns: -1, ssl: -1, connect: -1, send: 0, wait: 0, receive: 0, _blocked_queueing: -1 };
  if (!t) {
    if (endTs) res.blocked = (endTs - issueTs) * 1000;
    return res;
  }
  const queued = issueTs < t.requestTime ? (t.requestTime - issueTs) * 1000 : -1;
  res.blocked = queued; res._blocked_queueing = queued;
  const least = vals => vals.reduce((b, v) => (v >= 0 && v < b ? v : b), Infinity);
  const blockedStart = least([t.dnsStart, t.connectStart, t.sendStart]);
  if (blockedStart !== Infinity) res.blocked += blockedStart;
  const dnsEnd = t.dnsEnd >= 0 ? t.dnsEnd : -1;
  res.dns = t.dnsEnd >= 0 ? dnsEnd - blockedStart : -1;
  res.ssl = t.sslEnd > 0 ? t.sslEnd - t.sslStart : -1;
  const connectEnd = t.connectEnd >= 0 ? t.connectEnd : -1;
  res.connect = t.connectEnd >= 0 ? connectEnd - least([dnsEnd, blockedStart]) : -1;
  const sendEnd = t.sendEnd >= 0 ? t.sendEnd : 0;
  res.send = Math.max(t.sendEnd >= 0 ? sendEnd - Math.max(connectEnd, dnsEnd, blockedStart) : 0, 0);
  const highest = Math.max(sendEnd, connectEnd, t.sslEnd, dnsEnd, blockedStart, 0);
  const waitEnd = respTs ? (respTs - t.requestTime) * 1000 : highest;
  res.wait = waitEnd - highest;
  res.receive = endTs ? Math.max((endTs - t.requestTime) * 1000 - waitEnd, 0) : 0;
  return res;
}

try {
  if (mode === 'playwright') await recordPlaywright();
  else await recordCDP();
  log('wrote', args.out);
} finally {
  rmSync(userDataDir, { recursive: true, force: true });
}
