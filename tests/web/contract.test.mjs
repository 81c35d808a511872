// contract.test.mjs: the live endpoint of the demo service against
// openapi/openapi.yaml and docs/admin-endpoint.md. Starts build/bin/gmr-demo
// (GMR_DEMO) on a free port, asks every path in every format, validates each
// answer (status, headers, content type, JSON body against the document's
// schema), probes the route set, and stops the demo with SIGTERM, always.
//   GMR_DEMO=build/bin/gmr-demo node --test tests/web/contract.test.mjs
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  CONTENT_TYPES,
  Contract,
  DEMO_CONF,
  DEMO_SECRETS,
  OPENAPI_PATH,
  attributeValues,
  request,
  startDemo,
} from './helpers.mjs';

const contract = new Contract();
const BROWSER_ACCEPT =
  'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8';

let demo;
let origin;

before(async () => {
  demo = await startDemo();
  origin = demo.origin;
});

after(async () => {
  await demo?.stop();
});

// GET (or another method) and check against the document in one step.
async function call(template, method, path, opts = {}) {
  const res = await request(origin, method, path, opts);
  const media = contract.check(template, res, { method });
  return { ...res, media };
}

// The section banners of a text report, e.g. "====    Threads    ====".
function textBanners(text) {
  return [...text.matchAll(/^====\s+(.+?)\s+====$/gm)].map((m) => m[1]);
}

function sectionIdsOfHtml(html) {
  return attributeValues(html, 'section', 'data-section-id');
}

function assertNoSecrets(res) {
  for (const secret of DEMO_SECRETS) {
    assert.ok(!res.body.includes(secret), `${res.method} ${res.path} shows the secret ${JSON.stringify(secret)}`);
  }
}

// Every link of a page is relative (works behind a proxy on a sub-path), and
// resolves to an asset that the endpoint serves with the right content type.
async function assertLinksWork(pagePath, html) {
  const refs = [...attributeValues(html, '[a-z]+', 'href'), ...attributeValues(html, '[a-z]+', 'src')];
  const assets = [];
  const others = new Set();
  for (const ref of refs) {
    if (ref.startsWith('#') || ref.startsWith('data:')) continue;
    assert.doesNotMatch(ref, /^(\/|[a-z][a-z0-9+.-]*:)/i, `${pagePath}: link ${ref} is not relative`);
    const url = new URL(ref, origin + pagePath);
    assert.equal(url.origin, origin);
    if (url.pathname.startsWith('/gmr/static/')) assets.push(url.pathname + url.search);
    else others.add(url.pathname + url.search);
  }
  assert.ok(assets.some((a) => a.endsWith('.css')), `${pagePath}: no stylesheet link`);
  assert.ok(assets.some((a) => a.endsWith('.js')), `${pagePath}: no script`);
  for (const asset of assets) {
    const res = await call('/gmr/static/{name}', 'GET', asset);
    assert.equal(res.status, 200, `${pagePath} links ${asset}: ${res.status}`);
  }
  // The other links (the JSON and text forms, ...) answer too.
  for (const link of others) {
    const res = await request(origin, 'GET', link);
    assert.equal(res.status, 200, `${pagePath} links ${link}: ${res.status}`);
  }
}

// What the contract says of every page: hooks, no inline script or style.
function assertPageShape(path, html) {
  assert.match(html, /^<!DOCTYPE html>/i, `${path}: no doctype`);
  assert.match(html, /<main\b[^>]*\bid="report"[^>]*>/, `${path}: no <main id="report">`);
  assert.match(html, /<main\b[^>]*\bdata-service="gmr-demo"/, `${path}: no data-service`);
  assert.match(html, /<main\b[^>]*\bdata-generated-at="[0-9T:.\-]+Z"/, `${path}: no data-generated-at`);
  assert.match(html, /<div\b[^>]*\bid="toolbar"[^>]*\bhidden\b/, `${path}: no hidden #toolbar`);
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
    assert.match(m[1], /\bsrc="/, `${path}: an inline script`);
    assert.equal(m[2].trim(), '', `${path}: a script with content`);
  }
  assert.doesNotMatch(html, /<style\b/i, `${path}: an inline <style>`);
  assert.doesNotMatch(html, /\sstyle="/i, `${path}: a style attribute`);
  assert.doesNotMatch(html, /\son[a-z]+="/i, `${path}: an inline event handler`);
}

describe('the report', () => {
  let report;

  test('GET / redirects to the relative gmr', async () => {
    const res = await call('/', 'GET', '/');
    assert.equal(res.status, 302);
    assert.equal(res.headers.location, 'gmr');
  });

  test('GET /gmr without Accept is the JSON report, valid against the schema', async () => {
    const res = await call('/gmr', 'GET', '/gmr');
    assert.equal(res.status, 200);
    assert.equal(res.media, 'application/json');
    report = res.json;
    assert.equal(report.schema_version, 1);
    assert.equal(report.service, 'gmr-demo');
    const ids = report.sections.map((s) => s.id);
    assert.deepEqual(ids.slice(0, 5), ['package', 'threads', 'green_threads', 'processes', 'configuration']);
    assert.ok(ids.includes('work_queue'), `no work_queue section: ${ids}`);
    for (const s of report.sections) assert.equal(s.error, undefined, `section ${s.id} failed: ${s.error}`);
    const byId = Object.fromEntries(report.sections.map((s) => [s.id, s.data]));
    assert.equal(byId.package.pid, demo.pid);
    const names = byId.threads.threads.map((t) => t.name);
    for (const n of ['dispatcher', 'worker-0', 'worker-1', 'worker-7']) assert.ok(names.includes(n), `no thread ${n}: ${names}`);
    assert.equal(byId.processes.processes[0].pid, demo.pid);
    // Secrets are masked.
    const db = byId.configuration.groups.find((g) => g.name === 'database');
    assert.ok(db, 'no database group');
    for (const o of db.options.filter((o) => o.secret)) assert.ok(o.value === '***' || o.value === null);
    assert.equal(db.options.find((o) => o.name === 'password').value, '***');
    assertNoSecrets(res);
  });

  test('content negotiation: Accept and ?format=', async () => {
    const cases = [
      // [path, Accept (undefined: none), expected media type]
      ['/gmr', undefined, 'application/json'],
      ['/gmr', '*/*', 'application/json'],
      ['/gmr', 'application/json', 'application/json'],
      ['/gmr', 'text/html', 'text/html'],
      ['/gmr', BROWSER_ACCEPT, 'text/html'],
      ['/gmr', 'text/plain', 'text/plain'],
      ['/gmr', 'text/plain;q=0.5, text/html', 'text/html'],
      ['/gmr', 'text/html;q=0.2, text/plain;q=0.9', 'text/plain'],
      ['/gmr', 'TEXT/HTML', 'text/html'],
      ['/gmr?format=json', 'text/html', 'application/json'],
      ['/gmr?format=html', 'application/json', 'text/html'],
      ['/gmr?format=text', BROWSER_ACCEPT, 'text/plain'],
      ['/gmr?format=json', 'image/png', 'application/json'],
    ];
    for (const [path, accept, want] of cases) {
      const res = await call('/gmr', 'GET', path, { headers: accept === undefined ? {} : { Accept: accept } });
      assert.equal(res.status, 200, `${path} Accept ${accept}: ${res.status} ${res.body.slice(0, 200)}`);
      assert.equal(res.media, want, `${path} with Accept ${accept}`);
      assertNoSecrets(res);
    }
  });

  test('the HTML report has every section of the JSON, and works from its own links', async () => {
    const res = await call('/gmr', 'GET', '/gmr', { headers: { Accept: BROWSER_ACCEPT } });
    const json = (await call('/gmr', 'GET', '/gmr?format=json')).json;
    assert.equal(res.media, 'text/html');
    assertPageShape('/gmr', res.body);
    assert.deepEqual(sectionIdsOfHtml(res.body), json.sections.map((s) => s.id));
    for (const s of json.sections) {
      assert.match(res.body, new RegExp(`<section\\b[^>]*\\bclass="gmr-section"[^>]*\\bid="section-${s.id}"`), `no section-${s.id}`);
    }
    // The demo's threads are all there (the set is stable; ids never reused while it runs).
    const threads = json.sections.find((s) => s.id === 'threads').data.threads;
    assert.deepEqual(
      attributeValues(res.body, 'details', 'data-thread-id').map(Number).sort((a, b) => a - b),
      threads.map((t) => t.id).sort((a, b) => a - b),
    );
    const pids = attributeValues(res.body, 'li', 'data-pid').map(Number);
    assert.ok(pids.includes(demo.pid), 'the process tree lacks the demo');
    const groups = attributeValues(res.body, 'table', 'data-group');
    assert.deepEqual(groups, json.sections.find((s) => s.id === 'configuration').data.groups.map((g) => g.name));
    assert.match(res.body, /\*\*\*/, 'secrets are not shown as ***');
    assertNoSecrets(res);
    await assertLinksWork('/gmr', res.body);
  });

  test('the text report has every section of the JSON', async () => {
    const res = await call('/gmr', 'GET', '/gmr?format=text');
    const json = (await call('/gmr', 'GET', '/gmr')).json;
    const banners = textBanners(res.body);
    assert.equal(banners[0], 'Guru Meditation');
    assert.deepEqual(banners.slice(1), json.sections.map((s) => s.title));
    assertNoSecrets(res);
  });

  test('concurrent requests all get a whole report', async () => {
    const all = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        i % 2 ? call('/gmr', 'GET', '/gmr?format=json') : call('/gmr/sections/{id}', 'GET', '/gmr/sections/threads'),
      ),
    );
    for (const res of all) assert.equal(res.status, 200);
  });
});

describe('sections', () => {
  let list;

  test('GET /gmr/sections lists the report\'s sections, in order', async () => {
    const res = await call('/gmr/sections', 'GET', '/gmr/sections');
    assert.equal(res.status, 200);
    list = res.json.sections;
    const report = (await call('/gmr', 'GET', '/gmr')).json;
    assert.deepEqual(list, report.sections.map(({ id, title }) => ({ id, title })));
    assert.deepEqual(list.slice(0, 5).map((s) => s.id), ['package', 'threads', 'green_threads', 'processes', 'configuration']);
  });

  test('GET /gmr/sections/{id} in every format, for every section', async () => {
    assert.ok(list?.length, 'no section list');
    const titles = list.map((s) => s.title);
    for (const { id, title } of list) {
      const path = `/gmr/sections/${id}`;
      const json = await call('/gmr/sections/{id}', 'GET', path);
      assert.equal(json.status, 200, `${path}: ${json.body.slice(0, 300)}`);
      assert.equal(json.media, 'application/json');
      assert.equal(json.json.id, id);
      assert.equal(json.json.title, title);
      assert.equal(json.json.error, undefined, `${path}: ${json.json.error}`);
      assertNoSecrets(json);

      const text = await call('/gmr/sections/{id}', 'GET', `${path}?format=text`);
      assert.equal(text.media, 'text/plain');
      const banners = textBanners(text.body).filter((b) => b !== 'Guru Meditation');
      assert.deepEqual(banners, [title], `${path}?format=text has the banners ${banners}`);
      assert.ok(titles.filter((t) => t !== title).every((t) => !banners.includes(t)));
      assertNoSecrets(text);

      for (const [opts, p] of [[{ headers: { Accept: BROWSER_ACCEPT } }, path], [{}, `${path}?format=html`]]) {
        const html = await call('/gmr/sections/{id}', 'GET', p, opts);
        assert.equal(html.media, 'text/html', p);
        assertPageShape(p, html.body);
        assert.deepEqual(sectionIdsOfHtml(html.body), [id], `${p} shows other sections`);
        assertNoSecrets(html);
        if (id === list[0].id) await assertLinksWork(path, html.body);
      }

      const plain = await call('/gmr/sections/{id}', 'GET', path, { headers: { Accept: 'text/plain' } });
      assert.equal(plain.media, 'text/plain');
    }
  });

  test('GET /gmr/sections/{id} for an unknown id is a 404, in JSON whatever was asked', async () => {
    for (const [path, accept] of [
      ['/gmr/sections/nope', undefined],
      ['/gmr/sections/nope?format=html', BROWSER_ACCEPT],
      ['/gmr/sections/nope', 'text/plain'],
      ['/gmr/sections/Threads', undefined],
      ['/gmr/sections/threads%2F..', undefined],
    ]) {
      const res = await call('/gmr/sections/{id}', 'GET', path, { headers: accept ? { Accept: accept } : {} });
      assert.equal(res.status, 404, path);
      assert.equal(res.media, 'application/json');
      assert.equal(res.json.error.code, 404);
    }
    const res = await request(origin, 'GET', '/gmr/sections/nope');
    assert.match(res.json.error.message, /nope/);
  });
});

describe('errors', () => {
  test('a bad format is a 400', async () => {
    for (const [template, path] of [
      ['/gmr', '/gmr?format=xml'],
      ['/gmr', '/gmr?format='],
      ['/gmr', '/gmr?format=JSON%00'],
      ['/gmr/sections/{id}', '/gmr/sections/threads?format=pdf'],
    ]) {
      const res = await call(template, 'GET', path, { headers: { Accept: 'text/html' } });
      assert.equal(res.status, 400, path);
      assert.equal(res.media, 'application/json', path);
      assert.equal(res.json.error.code, 400);
    }
  });

  test('an Accept that allows none of the formats is a 406', async () => {
    for (const [template, path, accept] of [
      ['/gmr', '/gmr', 'image/png'],
      ['/gmr', '/gmr', 'application/xml'],
      ['/gmr/sections/{id}', '/gmr/sections/package', 'image/*'],
    ]) {
      const res = await call(template, 'GET', path, { headers: { Accept: accept } });
      assert.equal(res.status, 406, `${path} Accept ${accept}`);
      assert.equal(res.media, 'application/json');
      assert.equal(res.json.error.code, 406);
    }
  });

  test('any other path is a 404 in JSON', async () => {
    for (const path of [
      '/nope',
      '/gmr/',
      '/gmr/nope',
      '/GMR',
      '/gmr.json',
      '/index.html',
      '/favicon.ico',
      '/gmr/sections/',
      '/gmr/sections/package/extra',
      '/gmr/reports/1',
      '/gmr/static',
      '/gmr/static/',
      '/gmr/openapi.json',
    ]) {
      for (const method of ['GET', 'POST']) {
        const res = await request(origin, method, path, { headers: { Accept: 'text/html' } });
        assert.equal(res.status, 404, `${method} ${path}: ${res.status}`);
        assert.equal(res.headers['content-type'], CONTENT_TYPES['application/json'], `${method} ${path}`);
        assert.ok(contract.schema('Error')(res.json), `${method} ${path}: ${res.body}`);
        assert.equal(res.json.error.code, 404);
        assert.equal(res.headers['x-content-type-options'], 'nosniff');
        assert.equal(res.headers['cache-control'], 'no-store');
      }
    }
  });
});

describe('the route set is the document\'s', () => {
  // A concrete path for each documented template.
  const instances = {
    '/': ['/'],
    '/gmr': ['/gmr'],
    '/gmr/sections': ['/gmr/sections'],
    '/gmr/sections/{id}': ['/gmr/sections/package', '/gmr/sections/nope'],
    '/gmr/reports': ['/gmr/reports'],
    '/gmr/openapi.yaml': ['/gmr/openapi.yaml'],
    '/gmr/static/{name}': ['/gmr/static/gmr.css', '/gmr/static/nope.css'],
  };
  const probed = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

  test('every template of the document has an instance here', () => {
    assert.deepEqual(Object.keys(instances).sort(), Object.keys(contract.doc.paths).sort());
  });

  test('every documented operation is served, and answers as documented', async () => {
    for (const { template, method } of contract.operations()) {
      for (const path of instances[template]) {
        const res = await call(template, method, path);
        assert.notEqual(res.status, 405, `${method} ${path} is documented but 405`);
        if (!path.includes('nope')) assert.ok(res.status < 400, `${method} ${path}: ${res.status} ${res.body.slice(0, 200)}`);
      }
    }
  });

  test('every other method on a documented path is a 405 with Allow', async () => {
    for (const [template, paths] of Object.entries(instances)) {
      const documented = contract.operations().filter((o) => o.template === template).map((o) => o.method);
      for (const path of paths) {
        for (const method of probed.filter((m) => !documented.includes(m))) {
          const res = await request(origin, method, path, method === 'GET' ? {} : { body: '' });
          assert.equal(res.status, 405, `${method} ${path}: ${res.status} ${res.body.slice(0, 200)}`);
          contract.check(template, res, { method });
          assert.equal(res.json.error.code, 405);
          const allow = res.headers.allow.split(',').map((m) => m.trim().toUpperCase()).filter(Boolean);
          const extra = allow.filter((m) => !documented.includes(m) && !(m === 'HEAD' && documented.includes('GET')));
          assert.deepEqual(extra, [], `${method} ${path}: Allow: ${res.headers.allow}`);
          for (const m of documented) assert.ok(allow.includes(m), `${method} ${path}: Allow: ${res.headers.allow} lacks ${m}`);
        }
      }
    }
  });

  test('HEAD on a GET path answers as GET does, without a body (or a 405 with Allow)', async () => {
    for (const { template, method } of contract.operations()) {
      if (method !== 'GET') continue;
      const path = instances[template][0];
      const get = await request(origin, 'GET', path);
      const head = await request(origin, 'HEAD', path);
      if (head.status === 405) {
        assert.ok(head.headers.allow, `HEAD ${path}: 405 without Allow`);
      } else {
        assert.equal(head.status, get.status, `HEAD ${path}`);
        assert.equal(head.body, '', `HEAD ${path} has a body`);
      }
    }
  });
});

describe('the other routes', () => {
  test('POST /gmr/reports writes the text report to stderr and says so', async () => {
    const before = demo.stderr().length;
    const res = await call('/gmr/reports', 'POST', '/gmr/reports', { body: '' });
    assert.equal(res.status, 201, res.body);
    assert.deepEqual(res.json, { destination: 'stderr' });
    // The report is written before the answer.
    const written = demo.stderr().slice(before);
    for (let i = 0; i < 50 && !/====\s+Configuration\s+====/.test(demo.stderr().slice(before)); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(demo.stderr().slice(before), /====\s+Guru Meditation\s+====/, written.slice(0, 500));
    for (const secret of DEMO_SECRETS) assert.ok(!demo.stderr().slice(before).includes(secret));
  });

  test('GET /gmr/openapi.yaml is this document, byte for byte', async () => {
    const res = await call('/gmr/openapi.yaml', 'GET', '/gmr/openapi.yaml');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/yaml');
    assert.ok(
      res.body === fs.readFileSync(OPENAPI_PATH, 'utf8'),
      'the served document differs from openapi/openapi.yaml: rebuild (cmake --build build)',
    );
  });

  test('GET /gmr/static/{name} serves gmr.css and gmr.js, and nothing else', async () => {
    const css = await call('/gmr/static/{name}', 'GET', '/gmr/static/gmr.css');
    assert.equal(css.status, 200);
    assert.equal(css.media, 'text/css');
    assert.ok(css.body.length > 0);
    const js = await call('/gmr/static/{name}', 'GET', '/gmr/static/gmr.js');
    assert.equal(js.status, 200);
    assert.equal(js.media, 'text/javascript');
    assert.ok(js.body.length > 0);
    for (const path of [
      '/gmr/static/nope.css',
      '/gmr/static/openapi.yaml',
      '/gmr/static/page.html',
      '/gmr/static/GMR.CSS',
      '/gmr/static/gmr.css.map',
      '/gmr/static/..%2f..%2fCMakeLists.txt',
      '/gmr/static/%2e%2e%2fopenapi.yaml',
      '/gmr/static/..%5cgmr.css',
      '/gmr/static/gmr.css%00.js',
      '/gmr/static/%2fetc%2fpasswd',
    ]) {
      const res = await call('/gmr/static/{name}', 'GET', path);
      assert.equal(res.status, 404, `${path}: ${res.status}`);
      assert.equal(res.json.error.code, 404);
    }
    // Dot segments never reach the file system (nor another route).
    for (const path of ['/gmr/static/../../CMakeLists.txt', '/gmr/static/../openapi.yaml', '/gmr/static/./gmr.css']) {
      const res = await request(origin, 'GET', path);
      assert.ok(
        res.status === 404 || (res.status === 200 && res.body === css.body) || res.status === 400,
        `${path}: ${res.status}`,
      );
      assert.ok(!res.body.includes('cmake_minimum_required'), `${path} reached the file system`);
    }
  });
});

describe('the bearer token', () => {
  const TOKEN = 'contract-test-token-0123456789';
  let secured;

  let dir;

  before(async () => {
    // The token comes from a configuration file, as it should: a token on the
    // command line would be in the processes section (the command) in clear.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gmr-contract-'));
    const conf = path.join(dir, 'secured.conf');
    // examples/demo.conf ends in its [oslo_reports] group.
    fs.writeFileSync(conf, `${fs.readFileSync(DEMO_CONF, 'utf8')}\nhttp_token = ${TOKEN}\n`);
    secured = await startDemo([], { conf });
  });
  after(async () => {
    await secured?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('without the token every request is a 401 with WWW-Authenticate: Bearer', async () => {
    for (const { template, method } of contract.operations()) {
      const path = template.replace('{id}', 'package').replace('{name}', 'gmr.css');
      for (const headers of [{}, { Authorization: 'Bearer wrong' }, { Authorization: `Basic ${TOKEN}` }]) {
        const res = await request(secured.origin, method, path, { headers, body: method === 'POST' ? '' : undefined });
        contract.check(template, res, { method });
        assert.equal(res.status, 401, `${method} ${path} ${JSON.stringify(headers)}: ${res.status}`);
        assert.match(res.headers['www-authenticate'], /^Bearer\b/);
        assert.equal(res.json.error.code, 401);
      }
    }
    // Nothing says which paths exist.
    const res = await request(secured.origin, 'GET', '/nope');
    assert.equal(res.status, 401);
  });

  test('with the token the endpoint answers, and never shows the token', async () => {
    const auth = { Authorization: `Bearer ${TOKEN}` };
    for (const path of ['/gmr', '/gmr?format=text', '/gmr?format=html']) {
      const res = await request(secured.origin, 'GET', path, { headers: auth });
      contract.check('/gmr', res);
      assert.equal(res.status, 200, path);
      assert.ok(!res.body.includes(TOKEN), `${path} shows the token`);
    }
    const lower = await request(secured.origin, 'GET', '/gmr/sections', { headers: { authorization: `bearer ${TOKEN}` } });
    assert.equal(lower.status, 200, 'the scheme is case-insensitive');
    const opt = (await request(secured.origin, 'GET', '/gmr/sections/configuration', { headers: auth })).json.data.groups
      .find((g) => g.name === 'oslo_reports')
      ?.options.find((o) => o.name === 'http_token');
    assert.ok(opt, 'no [oslo_reports] http_token option in the configuration');
    assert.equal(opt.secret, true);
    assert.equal(opt.value, '***');
  });

  test('the secured demo stops cleanly on SIGTERM', async () => {
    const { code, signal } = await secured.stop();
    assert.equal(signal, null);
    assert.equal(code, 0, secured.stderr().slice(-2000));
  });
});

test('the demo stops cleanly on SIGTERM', async () => {
  const { code, signal } = await demo.stop();
  assert.equal(signal, null, `killed by ${signal}`);
  assert.equal(code, 0, demo.stderr().slice(-2000));
});
