// responses.test.mjs - every response the integration suites received from
// tenant-service and notification-service (recorded by tests/integration/harness.c into
// .run/test-logs/responses/*.jsonl) is one docs/openapi.yaml describes: its operation
// exists, its status is listed, its content type is listed, and a JSON body validates
// against the schema (ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses it). tests/run.sh runs
// this after the integration suites; only records newer than $LOG_HYGIENE_SINCE (the run's
// start) count when that is set and the run recorded any. Output: TAP (node --test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { ROOT, loadSpec, operations, pathMatcher, escapePointer, SERVICE_OF_BINARY } from './spec.mjs';

const RECORD_DIR = process.env.OPENAPI_RECORDS || join(ROOT, '.run', 'test-logs', 'responses');
const spec = loadSpec();

// The whole description is one schema resource ("api"), so that an operation's schema
// is compiled by its JSON pointer and its $refs to #/components/... resolve in place.
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
addFormats(ajv);
ajv.addVocabulary(['example', 'discriminator', 'xml', 'externalDocs']);
ajv.addSchema(spec, 'api');
const validators = new Map();
function validatorAt(pointer) {
    if (!validators.has(pointer)) validators.set(pointer, ajv.compile({ $ref: `api#${pointer}` }));
    return validators.get(pointer);
}

// The value at a JSON pointer of the description.
function at(pointer) {
    return pointer
        .split('/')
        .slice(1)
        .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
        .reduce((v, k) => (v == null ? undefined : v[k]), spec);
}

// A response object and its pointer, following one $ref to #/components/responses.
function response(op, status) {
    const codes = [String(status), `${String(status)[0]}XX`, 'default'];
    const code = codes.find((c) => op.op.responses?.[c]);
    if (!code) return null;
    let pointer = `${op.pointer}/responses/${code}`;
    let r = op.op.responses[code];
    if (r.$ref) {
        pointer = r.$ref.slice(1);
        r = at(pointer);
    }
    return { r, pointer };
}

function mediaType(content, contentType) {
    const type = (contentType || '').split(';')[0].trim().toLowerCase();
    if (!content || !type) return null;
    const [major] = type.split('/');
    return [type, `${major}/*`, '*/*'].find((t) => t in content) ?? null;
}

// Records of this run, else (running this suite on its own) whatever is there.
function readRecords() {
    if (!existsSync(RECORD_DIR)) return { records: [], files: 0, fresh: false };
    let files = readdirSync(RECORD_DIR).filter((f) => f.endsWith('.jsonl')).map((f) => join(RECORD_DIR, f));
    let fresh = false;
    const since = process.env.LOG_HYGIENE_SINCE;
    if (since && existsSync(since)) {
        const mark = statSync(since).mtimeMs;
        const newer = files.filter((f) => statSync(f).mtimeMs >= mark);
        if (newer.length) {
            files = newer;
            fresh = true;
        }
    }
    const records = [];
    for (const f of files) {
        for (const [i, line] of readFileSync(f, 'utf8').split('\n').entries()) {
            if (line) records.push({ ...JSON.parse(line), where: `${f.slice(ROOT.length + 1)}:${i + 1}` });
        }
    }
    return { records, files: files.length, fresh };
}

const matchers = {};
for (const service of Object.values(SERVICE_OF_BINARY))
    matchers[service] = pathMatcher(operations(spec).filter((o) => o.service === service));

// Checks one record; returns [group, problem or null]. A group is one described
// operation and status (or an undescribed one) so that the output stays short.
function check(rec) {
    const service = SERVICE_OF_BINARY[rec.service];
    const method = rec.method === 'HEAD' ? 'GET' : rec.method;
    const found = matchers[service](rec.path);
    if (!found) {
        // Unknown endpoints answer the generic 404 of common/http.c.
        const ok = rec.status === 404 && rec.body?.error === 'not_found' && validatorAt('/components/schemas/Error')(rec.body);
        return [`${rec.service} ${rec.method} ${rec.path} (no described path) ${rec.status}`, ok ? null : `${rec.method} ${rec.path} answered ${rec.status}, but no path of docs/openapi.yaml matches it`];
    }
    const op = found.ops.find((o) => o.method === method);
    if (!op) {
        const ok = rec.status === 405 && rec.body?.error === 'method_not_allowed' && validatorAt('/components/schemas/Error')(rec.body);
        return [`${rec.service} ${rec.method} ${found.path} (not described) ${rec.status}`, ok ? null : `${rec.method} ${rec.path} answered ${rec.status}, but ${found.path} describes no ${rec.method}`];
    }
    const group = `${rec.service} ${op.method} ${op.path} ${rec.status}`;
    const resp = response(op, rec.status);
    if (!resp) return [group, `${rec.method} ${rec.path} answered ${rec.status}, which ${op.method} ${op.path} does not list`];
    const { r, pointer } = resp;
    if (!r.content) {
        return [group, rec.bytes && rec.method !== 'HEAD' ? `${rec.status} of ${op.method} ${op.path} is described without content, but had ${rec.bytes} bytes of ${rec.content_type}` : null];
    }
    const mt = mediaType(r.content, rec.content_type);
    if (!mt) return [group, `${rec.status} of ${op.method} ${op.path} came as "${rec.content_type}", which is not among ${Object.keys(r.content).join(', ')}`];
    if (rec.method === 'HEAD' || !/json/.test(mt)) return [group, null];
    if (rec.body === null || rec.body === undefined)
        return [group, rec.bytes ? `${rec.status} of ${op.method} ${op.path} is not valid JSON` : null];
    if (!r.content[mt].schema) return [group, null];
    const validate = validatorAt(`${pointer}/content/${escapePointer(mt)}/schema`);
    if (validate(rec.body)) return [group, null];
    const errors = validate.errors.map((e) => `${e.instancePath || '(body)'} ${e.message}${e.params?.additionalProperty ? ` "${e.params.additionalProperty}"` : ''}${e.params?.allowedValues ? ` ${JSON.stringify(e.params.allowedValues)}` : ''}`);
    return [group, `${rec.method} ${rec.path}${rec.query ? '?' + rec.query : ''} ${rec.status} does not match the schema: ${[...new Set(errors)].slice(0, 6).join('; ')}\n      body: ${JSON.stringify(rec.body).slice(0, 400)}`];
}

const { records, files, fresh } = readRecords();
const ours = records.filter((r) => SERVICE_OF_BINARY[r.service]);

test('every response schema of docs/openapi.yaml compiles', () => {
    for (const o of operations(spec)) {
        for (const code of Object.keys(o.op.responses || {})) {
            const resp = response(o, code === 'default' ? 'default' : code);
            for (const mt of Object.keys(resp?.r?.content || {})) {
                if (resp.r.content[mt].schema) validatorAt(`${resp.pointer}/content/${escapePointer(mt)}/schema`);
            }
        }
    }
});

test('every example in docs/openapi.yaml matches its schema', () => {
    const problems = [];
    const check = (content, pointer) => {
        for (const [mt, media] of Object.entries(content || {})) {
            if (media.example === undefined || !media.schema) continue;
            const where = `${pointer}/content/${escapePointer(mt)}`;
            const validate = validatorAt(`${where}/schema`);
            if (!validate(media.example)) problems.push(`${where}/example: ${ajv.errorsText(validate.errors)}`);
        }
    };
    let examples = 0;
    for (const o of operations(spec)) {
        check(o.op.requestBody?.content, `${o.pointer}/requestBody`);
        for (const [code, r] of Object.entries(o.op.responses || {})) if (!r.$ref) check(r.content, `${o.pointer}/responses/${code}`);
        examples += JSON.stringify(o.op).split('"example"').length - 1;
    }
    assert.ok(examples >= 5, `only ${examples} examples found`);
    assert.deepEqual(problems, []);
});

const groups = new Map();
for (const rec of ours) {
    const [group, problem] = check(rec);
    if (!groups.has(group)) groups.set(group, { count: 0, problems: [] });
    const g = groups.get(group);
    g.count++;
    if (problem) g.problems.push(`${problem}\n      (${rec.where})`);
}

test(`responses recorded by the integration suites (${ours.length} from ${files} files${fresh ? ', this run' : ''})`, { skip: ours.length ? false : 'no recorded responses: run the integration suites first' }, () => {});

for (const [group, g] of [...groups.entries()].sort()) {
    test(`${group} (${g.count} responses)`, () => {
        const shown = [...new Set(g.problems)].slice(0, 5);
        assert.equal(g.problems.length, 0, `${g.problems.length} of ${g.count} responses do not match docs/openapi.yaml:\n    ${shown.join('\n    ')}`);
    });
}

// Informational: the described operations no recorded response exercised.
test('operations the integration suites exercised', { skip: ours.length ? false : 'no recorded responses' }, (t) => {
    const seen = new Set([...groups.keys()].map((g) => g.split(' ').slice(0, 3).join(' ')));
    const binary = Object.fromEntries(Object.entries(SERVICE_OF_BINARY).map(([b, s]) => [s, b]));
    const unseen = operations(spec).filter((o) => !seen.has(`${binary[o.service]} ${o.method} ${o.path}`));
    for (const o of unseen) t.diagnostic(`not exercised: ${binary[o.service]} ${o.method} ${o.path}`);
});
