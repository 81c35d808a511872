// lint.test.mjs: openapi/openapi.yaml is a valid OpenAPI 3.1 document, by Redocly
// CLI's recommended rules, and every schema in it compiles under ajv's strict mode.
//   node --test tests/web/lint.test.mjs
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Contract, OPENAPI_PATH, ROOT, loadDocument } from './helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const REDOCLY = path.join(here, 'node_modules', '.bin', 'redocly');
const CONFIG = path.join(ROOT, 'openapi', 'redocly.yaml');

function redocly(args) {
  assert.ok(fs.existsSync(REDOCLY), `no ${REDOCLY}: run scripts/web-deps.sh (npm ci in tests/web)`);
  const r = spawnSync(REDOCLY, args, {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 90000,
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
  });
  // Drop the box that Redocly draws around its Node.js deprecation notice.
  const output = `${r.stdout}\n${r.stderr}`.replace(/^.*[║╔╚].*$\n?/gm, '');
  return { status: r.status, error: r.error, output };
}

test('redocly lint openapi/openapi.yaml: no errors', () => {
  const r = redocly(['lint', 'openapi/openapi.yaml']);
  assert.ifError(r.error);
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, /Your API description is valid/, r.output);
});

test('redocly lint with openapi/redocly.yaml: no errors and no warnings', () => {
  const r = redocly(['lint', '--config', CONFIG, 'openapi/openapi.yaml']);
  assert.ifError(r.error);
  assert.equal(r.status, 0, r.output);
  assert.doesNotMatch(r.output, /\d+ warnings?\b/, r.output);
  assert.doesNotMatch(r.output, /\d+ errors?\b/, r.output);
});

test('the document is OpenAPI 3.1 and says what the contract says', () => {
  const doc = loadDocument();
  assert.match(doc.openapi, /^3\.1\.\d+$/);
  assert.equal(doc.info.version, '0.1.0');
  assert.deepEqual(Object.keys(doc.paths).sort(), [
    '/',
    '/gmr',
    '/gmr/openapi.yaml',
    '/gmr/reports',
    '/gmr/sections',
    '/gmr/sections/{id}',
    '/gmr/static/{name}',
  ]);
  assert.deepEqual(doc.security, [{}, { bearerAuth: [] }]);
  assert.deepEqual(doc.components.securitySchemes.bearerAuth, {
    ...doc.components.securitySchemes.bearerAuth,
    type: 'http',
    scheme: 'bearer',
  });
  assert.equal(doc.components.schemas.Report.properties.schema_version.const, 1);
  // Closed where the contract is closed, so that drift is caught.
  for (const name of ['Frame', 'Thread', 'Process', 'ConfigOption', 'Error', 'Report', 'Section']) {
    assert.equal(doc.components.schemas[name].additionalProperties, false, `${name} is not closed`);
  }
  // The served copy is this file, byte for byte (contract.test.mjs compares them).
  assert.ok(fs.readFileSync(OPENAPI_PATH, 'utf8').length > 0);
});

test('every schema of the document compiles with ajv (JSON Schema 2020-12, strict)', () => {
  const contract = new Contract();
  for (const name of Object.keys(contract.doc.components.schemas)) {
    assert.doesNotThrow(() => contract.schema(name), `components/schemas/${name}`);
  }
  // And every response's schema, inline or referenced.
  for (const { template, method } of contract.operations()) {
    const op = contract.doc.paths[template][method.toLowerCase()];
    for (const status of Object.keys(op.responses)) {
      const resp = contract.response(template, method, Number(status));
      for (const [media, body] of Object.entries(resp.content || {})) {
        assert.ok(body.schema, `${method} ${template} ${status} ${media} has no schema`);
        assert.doesNotThrow(() => contract.validator(body.schema, `lint:${template}:${method}:${status}:${media}`));
      }
    }
  }
});

test('the schemas accept the examples of docs/report-data.md and reject drift', () => {
  const contract = new Contract();
  const frame = {
    address: '0x7f3a2b1c',
    function: 'demo::nap(int)',
    file: '/src/demo.cpp',
    line: 87,
    object: '/usr/bin/gmr-demo',
    offset: '0x8f2a1',
    source: 'std::this_thread::sleep_for(200ms);',
    inlined: false,
  };
  const report = {
    schema_version: 1,
    service: 'gmr-demo',
    generated_at: '2026-11-21T22:01:00.123Z',
    duration_ms: 12.5,
    sections: [
      {
        id: 'package',
        title: 'Package',
        data: {
          product: 'gmr-demo', vendor: 'gmr project', version: '0.1.0', service: 'gmr-demo',
          executable: 'gmr-demo', pid: 14756, gmr_version: '0.1.0', compiler: 'GCC 12.2.0',
          build_type: 'RelWithDebInfo',
        },
      },
      {
        id: 'threads',
        title: 'Threads',
        data: {
          capture_signal: 37,
          capture_signal_name: 'SIGRTMIN+3',
          threads: [
            { id: 4242, name: 'worker-3', state: 'sleeping', cpu_user_s: 0.12, cpu_system_s: 0.01, status: 'ok', frames: [frame] },
            { id: 4243, name: 'stuck', state: 'sleeping', cpu_user_s: 0, cpu_system_s: 0, status: 'blocked',
              status_detail: 'blocks SIGRTMIN+3', frames: [] },
          ],
          groups: [{ count: 1, members: [{ id: 4242, name: 'worker-3' }], frames: [frame] }],
        },
      },
      {
        id: 'green_threads',
        title: 'Green Threads',
        data: {
          green_threads: [{ name: 'fetcher', state: 'waiting', source: 'test-scheduler', frames: [frame], details: { n: 1 } }],
          groups: [{ count: 1, members: [{ name: 'fetcher', source: 'test-scheduler' }], frames: [frame] }],
          sources: [{ name: 'test-scheduler', count: 1 }, { name: 'broken', count: 0, error: 'threw' }],
        },
      },
      {
        id: 'processes',
        title: 'Processes',
        data: {
          processes: [{
            pid: 14756, ppid: 1, uid: 1001, user: 'stack', state: 'running', command: '/usr/bin/gmr-demo',
            children: [{ pid: 14757, ppid: 14756, uid: 1001, user: null, state: 'zombie', command: 'sh', children: [] }],
          }],
        },
      },
      {
        id: 'configuration',
        title: 'Configuration',
        data: {
          groups: [{
            name: 'DEFAULT',
            options: [
              { name: 'debug', type: 'boolean', default: false, value: true, help: '...', secret: false, source: '/etc/demo.conf:3' },
              { name: 'hosts', type: 'list', default: [], value: ['a', 'b'], help: '', secret: false, source: 'command line' },
              { name: 'password', type: 'string', default: null, value: '***', help: '', secret: true, source: 'default' },
              { name: 'ratio', type: 'float', default: 0.5, value: null, help: '', secret: false, source: 'default' },
            ],
          }],
        },
      },
      { id: 'work_queue', title: 'Work Queue', data: { depth: 3, next_jobs: ['job-1'] } },
      { id: 'broken', title: 'Broken', data: null, error: 'generator threw: boom' },
    ],
  };
  const v = contract.schema('Report');
  assert.ok(v(report), JSON.stringify(v.errors, null, 1));

  const drifts = {
    'an unknown key in a frame': (r) => { r.sections[1].data.threads[0].frames[0].extra = 1; },
    'a frame without inlined': (r) => { delete r.sections[1].data.threads[0].frames[0].inlined; },
    'schema_version 2': (r) => { r.schema_version = 2; },
    'a blocked thread with frames': (r) => { r.sections[1].data.threads[1].frames = [frame]; },
    'an unknown thread status': (r) => { r.sections[1].data.threads[0].status = 'weird'; },
    'a secret shown': (r) => { r.sections[4].data.groups[0].options[2].value = 'hunter2'; },
    'an integer option holding a string': (r) => {
      r.sections[4].data.groups[0].options[3] = { ...r.sections[4].data.groups[0].options[3], type: 'integer', value: '5' };
    },
    'an unknown key in a process': (r) => { r.sections[3].data.processes[0].children[0].cwd = '/'; },
    'a package without pid': (r) => { delete r.sections[0].data.pid; },
    'generated_at without milliseconds': (r) => { r.generated_at = '2026-11-21T22:01:00Z'; },
    'a group without frames': (r) => { r.sections[1].data.groups[0].frames = []; },
    'a group member with a state': (r) => { r.sections[1].data.groups[0].members[0].state = 'sleeping'; },
    'an unknown key in a group': (r) => { r.sections[2].data.groups[0].stack = []; },
    'a section id with capitals': (r) => { r.sections[5].id = 'Work_Queue'; },
  };
  for (const [what, change] of Object.entries(drifts)) {
    const copy = structuredClone(report);
    change(copy);
    assert.equal(v(copy), false, `the schema accepts ${what}`);
  }
  const e = contract.schema('Error');
  assert.ok(e({ error: { code: 404, message: "no section 'nope'" } }));
  assert.equal(e({ error: { code: 404, message: 'x', detail: 'y' } }), false);
});
