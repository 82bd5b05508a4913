// drift.test.mjs - docs/openapi.yaml is valid OpenAPI 3.1 and describes exactly the routes
// the route tables (services/*/routes.c) register: every route is described, nothing else
// is, and each operation admits the roles its route admits (x-roles, and a bearer-token
// requirement exactly when the route wants a token). Output: TAP (node --test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lint, createConfig } from '@redocly/openapi-core';
import { loadSpec, operations, routeTables, SPEC_PATH } from './spec.mjs';

const spec = loadSpec();
const ops = operations(spec);
const routes = routeTables();
const key = (service, method, route) => `${service} ${method} ${route}`;

test('docs/openapi.yaml is a valid OpenAPI 3.1 document (redocly, recommended rules: no error)', async () => {
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lint({ ref: SPEC_PATH, config });
    const errors = problems
        .filter((p) => p.severity === 'error')
        .map((p) => `${p.ruleId}: ${p.message} (${p.location?.[0]?.pointer ?? ''})`);
    assert.equal(spec.openapi.startsWith('3.1.'), true, 'openapi must be 3.1.x');
    assert.deepEqual(errors, []);
});

test('the route tables can be read', () => {
    const services = new Set(routes.map((r) => r.service));
    assert.ok(services.has('tenant') && services.has('notification'), `services found: ${[...services]}`);
    assert.ok(routes.length >= 20, `only ${routes.length} routes read from services/*/routes.c`);
});

test('every path names the services that serve it (x-service)', () => {
    const known = new Set(routes.map((r) => r.service));
    for (const [path, item] of Object.entries(spec.paths)) {
        const services = item['x-service'];
        assert.ok(Array.isArray(services) && services.length, `${path} has no x-service list`);
        for (const s of services) assert.ok(known.has(s), `${path}: x-service ${s} is no service with a route table`);
    }
});

test('every registered route is described in docs/openapi.yaml', () => {
    const described = new Set(ops.map((o) => key(o.service, o.method, o.route)));
    const missing = routes
        .filter((r) => !described.has(key(r.service, r.method, r.pattern)))
        .map((r) => `${r.method} ${r.pattern} (${r.file}:${r.line}, ${r.service}-service)`);
    assert.deepEqual(missing, [], `routes missing from ${SPEC_PATH}:\n  ${missing.join('\n  ')}`);
});

test('docs/openapi.yaml describes no route that is not registered', () => {
    const registered = new Set(routes.map((r) => key(r.service, r.method, r.pattern)));
    const extra = ops
        .filter((o) => !registered.has(key(o.service, o.method, o.route)))
        .map((o) => `${o.method} ${o.path} (x-service ${o.service})`);
    assert.deepEqual(extra, [], `described but in no route table:\n  ${extra.join('\n  ')}`);
});

test('x-roles and the security requirement match the roles of each route', () => {
    const byKey = new Map(routes.map((r) => [key(r.service, r.method, r.pattern), r]));
    const problems = [];
    for (const o of ops) {
        const r = byKey.get(key(o.service, o.method, o.route));
        if (!r) continue; // reported above
        const where = `${o.method} ${o.path} (${r.file}:${r.line})`;
        const xroles = o.op['x-roles'];
        if (!Array.isArray(xroles)) {
            problems.push(`${where}: no x-roles list`);
            continue;
        }
        if (JSON.stringify([...xroles].sort()) !== JSON.stringify(r.roles))
            problems.push(`${where}: x-roles [${xroles}] but the route admits [${r.roles}]`);
        const security = o.op.security ?? spec.security ?? [];
        const wantsToken = security.some((req) => Object.keys(req).includes('bearerAuth'));
        const openToo = security.length === 0 || security.some((req) => Object.keys(req).length === 0);
        if (r.roles.length && (!wantsToken || openToo))
            problems.push(`${where}: the route wants a token; security must require bearerAuth only`);
        if (!r.roles.length && !openToo) problems.push(`${where}: the route is public; security must be []`);
        if (r.roles.length && !o.op.responses?.['401'])
            problems.push(`${where}: a route that wants a token answers 401; describe it`);
        if (r.roles.length && !o.op.responses?.['403'])
            problems.push(`${where}: a route with roles answers 403; describe it`);
    }
    assert.deepEqual(problems, []);
});

test('every operation has an operationId, unique, and responses', () => {
    const seen = new Map();
    for (const [path, item] of Object.entries(spec.paths)) {
        for (const [method, op] of Object.entries(item)) {
            if (typeof op !== 'object' || !op.responses) continue;
            assert.ok(op.operationId, `${method} ${path}: no operationId`);
            assert.ok(!seen.has(op.operationId), `${op.operationId} used twice`);
            seen.set(op.operationId, path);
        }
    }
});
