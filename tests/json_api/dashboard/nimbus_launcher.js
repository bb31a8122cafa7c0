// SPDX-License-Identifier: GPL-3.0-or-later
// Starts and stops a real `nimbus` for the node tests, the way
// tests/lib/nimbus_harness.py does for the Python ones: port 0 (or a given
// port, to restart in place on the same database), the port read back from
// --port-file, /healthz polled until it answers, SIGTERM at the end with a
// clean exit required, and the server's log scanned for sanitizer reports so
// an ASan/UBSan finding fails the test that provoked it.
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');

const SANITIZER_MARKERS = ['ERROR: AddressSanitizer', 'ERROR: LeakSanitizer', 'runtime error:',
  'ERROR: ThreadSanitizer', 'WARNING: ThreadSanitizer'];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class NimbusServer {
  // binary: the nimbus executable; args: extra arguments; env: extra
  // environment; workers: --workers.
  constructor(binary, { args = [], env = {}, workers = 2 } = {}) {
    this.binary = path.resolve(binary);
    this.args = args;
    this.env = { ...process.env, ...env };
    this.workers = workers;
    this.tmpdir = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-node-'));
    this.dbPath = path.join(this.tmpdir, 'nimbus.db');
    this.portFile = path.join(this.tmpdir, 'port');
    this.logPath = path.join(this.tmpdir, 'server.log');
    this.proc = null;
    this.port = null;
  }

  get baseUrl() { return `http://127.0.0.1:${this.port}`; }
  get wsUrl() { return `ws://127.0.0.1:${this.port}/v1/stream`; }

  // Starts the server (again, on the same database); with port, binds that
  // port instead of an ephemeral one.
  async start(port) {
    if (this.proc) throw new Error('nimbus already running');
    fs.rmSync(this.portFile, { force: true });
    const listen = `127.0.0.1:${port || 0}`;
    const log = fs.openSync(this.logPath, 'a');
    this.proc = spawn(this.binary, ['--listen', listen, '--port-file', this.portFile, '--db',
      this.dbPath, '--workers', String(this.workers), ...this.args],
    { stdio: ['ignore', log, log], env: this.env });
    fs.closeSync(log);
    let exited = null;
    this.proc.once('exit', (code, signal) => { exited = { code, signal }; });
    const deadline = Date.now() + 20000;
    while (Date.now() < deadline) {
      if (exited) {
        this.proc = null;
        throw new Error(`nimbus exited (${JSON.stringify(exited)}) during start-up:\n${this.logText()}`);
      }
      let text = '';
      try { text = fs.readFileSync(this.portFile, 'utf8').trim(); } catch (e) { /* not yet */ }
      if (text) {
        this.port = Number(text);
        if (await this.healthy()) return this;
      }
      await sleep(20);
    }
    this.kill9();
    throw new Error(`nimbus did not start:\n${this.logText()}`);
  }

  healthy() {
    return new Promise((resolve) => {
      const req = http.get(`${this.baseUrl}/healthz`, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.setTimeout(1000, () => { req.destroy(); resolve(false); });
    });
  }

  // SIGTERM; requires exit 0 within 20 s and no sanitizer report.
  async stop() {
    if (!this.proc) return;
    const proc = this.proc;
    this.proc = null;
    const result = await new Promise((resolve) => {
      const timer = setTimeout(() => { proc.kill('SIGKILL'); resolve({ timeout: true }); }, 20000);
      proc.once('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal }); });
      proc.kill('SIGTERM');
    });
    this.checkLog();
    if (result.timeout || result.code !== 0) {
      throw new Error(`nimbus did not stop cleanly (${JSON.stringify(result)}):\n${this.logText()}`);
    }
  }

  // Kills without warning (a crash); used on the failure path.
  kill9() {
    if (this.proc) {
      this.proc.kill('SIGKILL');
      this.proc = null;
    }
  }

  logText() {
    try { return fs.readFileSync(this.logPath, 'utf8'); } catch (e) { return ''; }
  }

  checkLog() {
    const text = this.logText();
    for (const marker of SANITIZER_MARKERS) {
      if (text.includes(marker)) throw new Error(`sanitizer report in server log:\n${text}`);
    }
  }

  cleanup() { fs.rmSync(this.tmpdir, { recursive: true, force: true }); }
}

// A JSON request over REST; resolves { status, headers, body } with body
// parsed when it is JSON.
function request(baseUrl, method, urlPath, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request(`${baseUrl}${urlPath}`, {
      method,
      headers: { ...(data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {}),
        ...headers },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed = text;
        if (/json/.test(res.headers['content-type'] || '') && text) parsed = JSON.parse(text);
        resolve({ status: res.statusCode, headers: res.headers, body: parsed });
      });
    });
    req.on('error', reject);
    req.setTimeout(10000, () => req.destroy(new Error(`${method} ${urlPath} timed out`)));
    if (data) req.write(data);
    req.end();
  });
}

module.exports = { NimbusServer, request, sleep };
