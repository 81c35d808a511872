// helpers.mjs: what the web tests share: the repository's paths, the demo service
// (started on a free port, always stopped), raw HTTP requests, and validation of
// live responses against openapi/openapi.yaml with ajv (JSON Schema 2020-12, the
// dialect of OpenAPI 3.1).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import YAML from 'yaml';

const here = path.dirname(fileURLToPath(import.meta.url));

// The repository's root: GMR_SOURCE_DIR (set by CMake), else two levels up.
export const ROOT = path.resolve(process.env.GMR_SOURCE_DIR || path.join(here, '..', '..'));
export const OPENAPI_PATH = path.join(ROOT, 'openapi', 'openapi.yaml');
export const DEMO = path.resolve(process.env.GMR_DEMO || path.join(ROOT, 'build', 'bin', 'gmr-demo'));
export const DEMO_CONF = path.join(ROOT, 'examples', 'demo.conf');
export const ARTIFACTS = path.join(here, 'artifacts');

// The secrets of examples/demo.conf: they must never appear in any response.
export const DEMO_SECRETS = ['hunter2', 's3cret-in-url'];

// The exact content types of the contract (docs/admin-endpoint.md), by media type.
export const CONTENT_TYPES = {
  'application/json': 'application/json; charset=utf-8',
  'text/html': 'text/html; charset=utf-8',
  'text/plain': 'text/plain; charset=utf-8',
  'text/css': 'text/css; charset=utf-8',
  'text/javascript': 'text/javascript; charset=utf-8',
  'application/yaml': 'application/yaml',
};

export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// The demos still running; killed if this process is told to stop.
const running = new Set();
let signalsWatched = false;
function watchSignals() {
  if (signalsWatched) return;
  signalsWatched = true;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => {
      for (const child of running) child.kill('SIGKILL');
      process.kill(process.pid, sig);
    });
  }
}

const ADMIN_LINE = /gmr: admin endpoint at (http:\/\/\S+\/gmr)\b/;

// Starts build/bin/gmr-demo on a free port and resolves when it has printed the
// URL it bound. `stop()` sends SIGTERM (SIGKILL after 10 s) and resolves with how
// it ended; it is safe to call more than once. The demo is killed if this
// process exits first, whatever happens.
export function startDemo(extraArgs = [], { timeoutMs = 30000, conf = DEMO_CONF } = {}) {
  if (!fs.existsSync(DEMO)) {
    return Promise.reject(new Error(`no demo at ${DEMO}: build it first (cmake --build build), or set GMR_DEMO`));
  }
  const args = ['--config-file', conf, '--oslo_reports.http_port=0', ...extraArgs];
  const child = spawn(DEMO, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  running.add(child);
  watchSignals();

  let stderr = '';
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      process.off('exit', killOnExit);
      running.delete(child);
      resolve({ code, signal });
    });
  });
  // Always drain stderr: a full pipe would block the demo (reports go there).
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
    if (stderr.length > 4_000_000) stderr = stderr.slice(-2_000_000);
  });

  const demo = {
    child,
    pid: child.pid,
    base: null, // http://127.0.0.1:PORT/gmr
    origin: null, // http://127.0.0.1:PORT
    stderr: () => stderr,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
        const result = await exited;
        clearTimeout(timer);
        return result;
      }
      return exited;
    },
  };

  return new Promise((resolve, reject) => {
    const fail = (why) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${why}\n--- demo stderr ---\n${stderr.slice(-4000)}`));
    };
    const timer = setTimeout(() => fail(`the demo printed no "gmr: admin endpoint at" line in ${timeoutMs} ms`), timeoutMs);
    child.on('error', (e) => fail(`cannot start ${DEMO}: ${e.message}`));
    exited.then(({ code, signal }) => {
      if (!demo.base) fail(`the demo exited (code ${code}, signal ${signal}) before serving`);
    });
    child.stderr.on('data', () => {
      if (demo.base) return;
      const m = ADMIN_LINE.exec(stderr);
      if (m) {
        clearTimeout(timer);
        demo.base = m[1];
        demo.origin = new URL(m[1]).origin;
        resolve(demo);
      }
    });
  });
}

// One raw HTTP/1.1 request (node:http: the path is sent as given, `..` included,
// and no header is added but Host, and Content-Length for bodies). Resolves with
// {status, headers (lower-case names), body (string), json (parsed or undefined)}.
export function request(origin, method, rawPath, { headers = {}, body, timeoutMs = 30000 } = {}) {
  const url = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path: rawPath,
        headers: body !== undefined ? { 'Content-Length': Buffer.byteLength(body), ...headers } : headers,
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json;
          if (/^application\/json\b/i.test(res.headers['content-type'] || '')) {
            try {
              json = JSON.parse(text);
            } catch (e) {
              json = new Error(`invalid JSON: ${e.message}`);
            }
          }
          resolve({ method, path: rawPath, status: res.statusCode, headers: res.headers, body: text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${rawPath}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export function loadDocument() {
  return YAML.parse(fs.readFileSync(OPENAPI_PATH, 'utf8'));
}

// The HTTP methods an OpenAPI path item can hold.
export const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

const SCHEMAS_ID = 'urn:gmr:openapi:schemas';

// The built-in sections' data schemas, by section id.
export const SECTION_DATA_SCHEMAS = {
  package: 'PackageData',
  threads: 'ThreadsData',
  green_threads: 'GreenThreadsData',
  processes: 'ProcessesData',
  configuration: 'ConfigurationData',
};

// Rewrites the document's "#/components/schemas/X" references into references to
// one ajv schema that holds them all as $defs.
function rewriteRefs(node) {
  if (Array.isArray(node)) return node.map(rewriteRefs);
  if (node && typeof node === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/')) {
        out[k] = `${SCHEMAS_ID}#/$defs/${v.slice('#/components/schemas/'.length)}`;
      } else {
        out[k] = rewriteRefs(v);
      }
    }
    return out;
  }
  return node;
}

function pointer(doc, ref) {
  if (!ref.startsWith('#/')) throw new Error(`unsupported $ref ${ref}`);
  let node = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === undefined || !(key in node)) throw new Error(`dangling $ref ${ref}`);
    node = node[key];
  }
  return node;
}

// Follows OpenAPI (non-schema) references: responses, parameters, headers.
export function deref(doc, node) {
  let seen = 0;
  while (node && typeof node === 'object' && typeof node.$ref === 'string') {
    if (++seen > 20) throw new Error('$ref loop');
    node = pointer(doc, node.$ref);
  }
  return node;
}

// Checks live responses against the document.
export class Contract {
  constructor(doc = loadDocument()) {
    this.doc = doc;
    // Strict mode, told about the OpenAPI 3.1 dialect's extra keywords.
    this.ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
    addFormats(this.ajv);
    this.ajv.addVocabulary(['example', 'discriminator', 'xml', 'externalDocs']);
    this.ajv.addSchema({ $id: SCHEMAS_ID, $defs: rewriteRefs(doc.components.schemas) });
    this.cache = new Map();
  }

  // Compiles (once) a schema taken from the document.
  validator(schema, key) {
    let v = this.cache.get(key);
    if (!v) {
      v = this.ajv.compile(rewriteRefs(schema));
      this.cache.set(key, v);
    }
    return v;
  }

  // Returns a validator for the named component schema.
  schema(name) {
    return this.validator({ $ref: `#/components/schemas/${name}` }, `schema:${name}`);
  }

  // Returns the response object the document gives for this template, method and
  // status; 405 comes from components/responses/MethodNotAllowed, which no
  // operation holds.
  response(template, method, status) {
    if (status === 405) return deref(this.doc, this.doc.components.responses.MethodNotAllowed);
    const op = this.doc.paths[template]?.[method.toLowerCase()];
    if (!op) throw new Error(`the document has no ${method} ${template}`);
    const r = op.responses[String(status)];
    if (!r) {
      throw new Error(
        `${method} ${template}: status ${status} is not documented (documented: ${Object.keys(op.responses).join(', ')})`,
      );
    }
    return deref(this.doc, r);
  }

  // Asserts that `res` (from request()) is what the document says for `template`
  // and `method`: a documented status; every required documented header, with
  // a value its schema accepts; a documented media type with the contract's exact
  // Content-Type; a JSON body its schema accepts; and the headers every response
  // has. Returns the media type. Throws an Error saying what is wrong.
  check(template, res, { method = res.method } = {}) {
    const where = `${method} ${res.path} -> ${res.status}`;
    const problems = [];
    const resp = this.response(template, method, res.status);

    for (const [name, hdrRef] of Object.entries(resp.headers || {})) {
      const hdr = deref(this.doc, hdrRef);
      const value = res.headers[name.toLowerCase()];
      if (value === undefined) {
        if (hdr.required) problems.push(`missing header ${name}`);
        continue;
      }
      const v = this.validator(hdr.schema, `header:${name}:${JSON.stringify(hdr.schema)}`);
      if (!v(value)) problems.push(`header ${name}: ${JSON.stringify(value)}: ${this.ajv.errorsText(v.errors)}`);
    }
    // Every response, whatever the document lists.
    if (res.headers['x-content-type-options'] !== 'nosniff') problems.push('no X-Content-Type-Options: nosniff');
    if (res.headers['cache-control'] !== 'no-store') problems.push('no Cache-Control: no-store');

    const contentType = res.headers['content-type'];
    let media = null;
    if (resp.content) {
      if (!contentType) {
        problems.push('no Content-Type');
      } else {
        media = contentType.split(';')[0].trim().toLowerCase();
        if (!(media in resp.content)) {
          problems.push(`media type ${media} is not documented (${Object.keys(resp.content).join(', ')})`);
        } else {
          const want = CONTENT_TYPES[media];
          if (want && contentType.replace(/\s+/g, ' ').toLowerCase() !== want) {
            problems.push(`Content-Type is ${JSON.stringify(contentType)}, want ${JSON.stringify(want)}`);
          }
          const schema = resp.content[media].schema;
          if (media === 'application/json') {
            if (res.json instanceof Error || res.json === undefined) {
              problems.push(`body is not JSON: ${res.body.slice(0, 200)}`);
            } else if (schema) {
              const v = this.validator(schema, `body:${template}:${method}:${res.status}:${media}`);
              if (!v(res.json)) {
                const focused = this.explainSections(res.json);
                const errors = focused.length ? focused : formatErrors(v.errors);
                problems.push(`body does not match the schema:\n  ${errors.join('\n  ')}`);
              }
            }
          } else if (schema) {
            const v = this.validator(schema, `body:${template}:${method}:${res.status}:${media}`);
            if (!v(res.body)) problems.push(`body does not match the schema: ${this.ajv.errorsText(v.errors)}`);
          }
        }
      }
    }
    if (media === 'text/html') {
      if (res.headers['content-security-policy'] !== CSP) {
        problems.push(`Content-Security-Policy is ${JSON.stringify(res.headers['content-security-policy'])}`);
      }
      if (res.headers['referrer-policy'] !== 'no-referrer') problems.push('no Referrer-Policy: no-referrer');
    }
    if (problems.length) throw new Error(`${where}:\n- ${problems.join('\n- ')}`);
    return media;
  }

  // The oneOf of Section gives long lists of errors for every variant; this says
  // what is wrong with each section's data against the schema of its own id.
  explainSections(json) {
    const sections = Array.isArray(json?.sections) ? json.sections : json && 'id' in json ? [json] : [];
    const out = [];
    sections.forEach((s, i) => {
      const name = SECTION_DATA_SCHEMAS[s?.id];
      if (!name || s.error !== undefined) return;
      const v = this.schema(name);
      if (!v(s.data)) {
        for (const line of formatErrors(v.errors)) out.push(`section '${s.id}' (#${i}) data${line}`);
      }
    });
    return out;
  }

  // The documented operations: [{template, method (upper case)}].
  operations() {
    const ops = [];
    for (const [template, item] of Object.entries(this.doc.paths)) {
      for (const m of METHODS) if (item[m]) ops.push({ template, method: m.toUpperCase() });
    }
    return ops;
  }
}

// ajv's errors, at most 15, one line each, with the place in the data.
export function formatErrors(errors) {
  const lines = (errors || []).map((e) => `${e.instancePath || '/'} ${e.message} (${e.schemaPath})`);
  return lines.length > 15 ? [...lines.slice(0, 15), `... ${lines.length - 15} more`] : lines;
}

// The text of an element's attribute values in an HTML string, for one attribute.
export function attributeValues(html, tagPattern, attr) {
  const re = new RegExp(`<(${tagPattern})\\b[^>]*?\\s${attr}="([^"]*)"`, 'gi');
  return [...html.matchAll(re)].map((m) => decodeEntities(m[2]));
}

export function decodeEntities(s) {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&#x27;|&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
