// The load client of benchmarks/submit.py: N concurrent customers over Node's own http
// module (no packages), cheap in CPU so that it leaves the cores to the server.
//
// Reads its settings as JSON on stdin and prints one JSON summary on stdout:
//   mode      "survey": each customer GETs every page of a survey, POSTs it with the
//             page's CSRF token and signed key, follows the redirect, and GETs the
//             thank-you page at the end (a new browser, no cookies, per response);
//             "ceiling": each customer POSTs `body` to `path` again and again.
//   base      "http://127.0.0.1:PORT"; path: the survey's or the insert view's path
//   clients   concurrent customers; warmup, duration: seconds (only requests that end
//             inside the measured window count); maxRequests: end the window early
//   pages     (survey) the urlencoded answers of each page, in order
//   body      (ceiling) the urlencoded form posted each time
//   rate      (optional) responses (or posts) started per second by all customers
//             together, on a steady schedule, instead of each customer going as fast
//             as it can: a background load beside other measurements
// SIGTERM ends the window at once: the requests in flight finish, the summary is printed.
import http from "node:http";
import { readFileSync } from "node:fs";

const cfg = JSON.parse(readFileSync(0, "utf8"));
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
const base = new URL(cfg.base);
const now = () => Number(process.hrtime.bigint()) / 1e6; // milliseconds

const t0 = now();
const windowStart = t0 + cfg.warmup * 1000;
let windowEnd = windowStart + cfg.duration * 1000;
const cpuStart = process.cpuUsage();
const latencies = { get: [], post: [] };
let completed = 0;
let requests = 0;
let allRequests = 0; // warm-up included, to share out the server's CPU time
let errors = 0;
const errorKinds = {};
let closed = false;
let started = 0; // units of work begun (for the rate's schedule)

function inWindow(t) {
  return t >= windowStart && t <= windowEnd;
}

class Closed extends Error {}

function request(method, path, body, cookies) {
  if (closed) return Promise.reject(new Closed("the window is over"));
  return new Promise((resolve, reject) => {
    const headers = { Host: base.host, "User-Agent": "submit-bench" };
    if (cookies.size) {
      headers.Cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    }
    if (body !== null) {
      headers["Content-Type"] = "application/x-www-form-urlencoded";
      headers["Content-Length"] = Buffer.byteLength(body);
    }
    const start = now();
    const req = http.request(
      { host: base.hostname, port: base.port, method, path, headers, agent, timeout: 30000 },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const end = now();
          allRequests += 1;
          if (inWindow(end)) {
            requests += 1;
            latencies[method === "GET" ? "get" : "post"].push(end - start);
            if (cfg.maxRequests && requests >= cfg.maxRequests) {
              windowEnd = end;
              closed = true;
            }
          }
          for (const line of res.headers["set-cookie"] || []) {
            const pair = line.split(";", 1)[0];
            const eq = pair.indexOf("=");
            cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
          }
          resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString() });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout after 30 s")));
    req.on("error", reject);
    if (body !== null) req.write(body);
    req.end();
  });
}

class Unexpected extends Error {}

function expect(ok, kind, detail) {
  if (!ok) {
    const e = new Unexpected(detail);
    e.kind = kind;
    throw e;
  }
}

const HIDDEN = /name="(csrf_token|rk|page)" type="hidden" value="([^"]*)"/g;
const ACTION = /<form method="post" action="([^"]+)"/;

function unescape(s) {
  return s.replace(/&amp;/g, "&").replace(/&#34;/g, '"').replace(/&#39;/g, "'");
}

function relative(location) {
  const url = new URL(location, base);
  return url.pathname + url.search;
}

async function oneResponse() {
  const cookies = new Map(); // a new browser for each customer
  let path = cfg.path;
  const last = cfg.pages.length;
  for (let n = 1; n <= last; n++) {
    const page = await request("GET", path, null, cookies);
    expect(page.status === 200, `GET page ${n}: ${page.status}`, page.text.slice(0, 300));
    const fields = {};
    for (const m of page.text.matchAll(HIDDEN)) fields[m[1]] = unescape(m[2]);
    expect(fields.page === String(n), `GET page ${n}: shows page ${fields.page}`, path);
    const action = ACTION.exec(page.text);
    expect(action && fields.csrf_token && fields.rk, `GET page ${n}: no form`, path);
    const body =
      `csrf_token=${encodeURIComponent(fields.csrf_token)}&rk=${encodeURIComponent(fields.rk)}` +
      `&page=${n}&nav=next&${cfg.pages[n - 1]}`;
    const post = await request("POST", unescape(action[1]), body, cookies);
    const location = post.headers.location || "";
    expect(post.status === 302, `POST page ${n}: ${post.status}`, post.text.slice(0, 300));
    if (n < last) {
      expect(
        location.includes(`page=${n + 1}`) && !location.includes("missing="),
        `POST page ${n}: redirected elsewhere`,
        location,
      );
    } else {
      expect(location.includes("/thanks"), `POST page ${n}: not thanked`, location);
    }
    path = relative(location);
  }
  const thanks = await request("GET", path, null, cookies);
  expect(thanks.status === 200 && thanks.text.includes("have been saved"), "GET thanks", path);
  return now();
}

async function oneCeiling() {
  const res = await request("POST", cfg.path, cfg.body, new Map());
  expect(res.status === 204, `POST ${cfg.path}: ${res.status}`, res.text.slice(0, 300));
  return now();
}

async function paced() {
  const due = t0 + (started++ * 1000) / cfg.rate;
  const wait = due - now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}

async function customer() {
  const unit = cfg.mode === "survey" ? oneResponse : oneCeiling;
  while (!closed) {
    if (cfg.rate) {
      await paced();
      if (closed) break;
    }
    try {
      const end = await unit();
      if (inWindow(end)) completed += 1;
    } catch (e) {
      if (e instanceof Closed) break;
      const t = now();
      if (inWindow(t)) {
        errors += 1;
        const kind = e.kind || e.code || e.message;
        errorKinds[kind] = errorKinds[kind] || String(e.message).slice(0, 200);
      }
      // a refused connection would otherwise spin: back off a little
      await new Promise((r) => setTimeout(r, 50));
    }
    if (now() > windowEnd) closed = true;
  }
}

function percentile(sorted, p) {
  if (!sorted.length) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

function summary(values) {
  const sorted = Float64Array.from(values).sort();
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : null,
  };
}

process.on("SIGTERM", () => {
  windowEnd = Math.min(windowEnd, now());
  closed = true;
});
await Promise.all(Array.from({ length: cfg.clients }, customer));
const cpu = process.cpuUsage(cpuStart);
const seconds = (Math.min(windowEnd, now()) - windowStart) / 1000;
process.stdout.write(
  JSON.stringify({
    seconds,
    wall: (now() - t0) / 1000,
    completed,
    requests,
    allRequests,
    errors,
    errorKinds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    all: summary([...latencies.get, ...latencies.post]),
    get: summary(latencies.get),
    post: summary(latencies.post),
  }) + "\n",
);
agent.destroy();
