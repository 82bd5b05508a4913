// client.test.mjs - a TypeScript client generated from what the services really serve:
// the documents tests/integration/test_openapi.c fetched from GET /api/v1/openapi.json of
// both daemons (.run/test-logs/openapi/<service>.openapi.json) are what docs/openapi.yaml
// says for that service, openapi-typescript turns each into types, and a small program
// using them through openapi-fetch compiles under tsc --strict (wrong calls must not).
// Output: TAP (node --test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, loadSpec, METHODS } from './spec.mjs';

const HERE = join(ROOT, 'tests', 'openapi');
const LIVE_DIR = join(ROOT, '.run', 'test-logs', 'openapi');
const OUT = join(HERE, 'generated');
const SERVICES = ['tenant', 'notification'];
const bin = (pkg, file) => join(HERE, 'node_modules', pkg, 'bin', file);

function live(service) {
    const file = join(LIVE_DIR, `${service}.openapi.json`);
    // test_openapi removes it first, so it is never left over from an earlier, passing run.
    assert.ok(existsSync(file), `${file} is missing: integration/test_openapi failed or did not run`);
    return { file, doc: JSON.parse(readFileSync(file, 'utf8')) };
}

// What tools/openapi-embed should make of docs/openapi.yaml for service.
function expected(service) {
    const doc = loadSpec();
    doc.paths = Object.fromEntries(Object.entries(doc.paths).filter(([, item]) => item['x-service'].includes(service)));
    const used = new Set();
    for (const item of Object.values(doc.paths))
        for (const m of METHODS) for (const t of item[m]?.tags || []) used.add(t);
    doc.tags = doc.tags.filter((t) => used.has(t.name));
    doc.servers = doc.servers.filter((s) => s['x-service'] === undefined || s['x-service'] === service);
    return doc;
}

for (const service of SERVICES) {
    test(`${service}-service serves exactly its part of docs/openapi.yaml`, () => {
        assert.deepStrictEqual(live(service).doc, expected(service));
    });
}

test('a TypeScript client generated from both live documents compiles, and wrong calls do not', () => {
    rmSync(OUT, { recursive: true, force: true });
    mkdirSync(OUT, { recursive: true });
    for (const service of SERVICES) {
        // The README's command, on the document the daemon served.
        execFileSync(process.execPath, [bin('openapi-typescript', 'cli.js'), live(service).file, '-o', join(OUT, `${service}.ts`)], { stdio: 'pipe' });
    }
    writeFileSync(
        join(OUT, 'client.ts'),
        `import createClient from 'openapi-fetch';
import type { paths as TenantPaths, components as TC } from './tenant';
import type { paths as NotificationPaths, components as NC } from './notification';

const tenant = createClient<TenantPaths>({ baseUrl: 'http://localhost:8001', headers: { Authorization: 'Bearer x' } });
const notification = createClient<NotificationPaths>({ baseUrl: 'http://localhost:8002' });

export async function assign(id: string): Promise<string | undefined> {
    const { data, error } = await tenant.POST('/api/v1/admin/whatsapp/tenants/{id}/assign-phone', {
        params: { path: { id } },
        body: { phone_number_id: '109876543210001', display_phone_number: '+34 612 345 678' },
    });
    if (error) {
        const code: string = error.error;
        return code;
    }
    return data.display_phone_number;
}

export async function settings(id: string): Promise<TC['schemas']['NotificationSettings']['whatsapp_default_language'] | undefined> {
    const { data } = await tenant.PUT('/api/v1/tenants/{id}/settings/notifications', {
        params: { path: { id } },
        body: { whatsapp_enabled: true, whatsapp_default_language: 'eu' },
    });
    return data?.whatsapp_default_language;
}

export async function order(): Promise<NC['schemas']['MessageStatus'] | undefined> {
    const { data } = await notification.POST('/api/v1/notifications/purchase-orders', {
        body: {
            event_id: '7d9f1c3e-2b4a-4e8f-9a1b-5c6d7e8f9a0b',
            tenant_id: '3f0c2a8e-9c1b-4a53-8a44-2f8f5d1e6b7a',
            po_number: 'PO-2024-001',
            supplier_name: 'Proveedor ABC',
            supplier_phone: '+34612345678',
            total_amount: 1250,
            currency: 'EUR',
        },
    });
    return data?.status;
}

export async function messages(): Promise<number> {
    const { data } = await notification.GET('/api/v1/whatsapp/messages', { params: { query: { status: 'failed', limit: 10 } } });
    return data ? data.messages.filter((m) => m.error_code !== null).length : 0;
}

export async function wrong(id: string): Promise<void> {
    // @ts-expect-error phone_number_id is required
    await tenant.POST('/api/v1/admin/whatsapp/tenants/{id}/assign-phone', { params: { path: { id } }, body: {} });
    // @ts-expect-error "fr" is not a language tenants may choose
    await tenant.PUT('/api/v1/tenants/{id}/settings/notifications', { params: { path: { id } }, body: { whatsapp_default_language: 'fr' } });
    // @ts-expect-error notification-service does not serve the tenants
    await notification.GET('/api/v1/tenants');
}
`,
    );
    try {
        execFileSync(
            process.execPath,
            [bin('typescript', 'tsc'), '--noEmit', '--strict', '--target', 'es2022', '--module', 'esnext', '--moduleResolution', 'bundler', '--skipLibCheck', 'false', join(OUT, 'client.ts')],
            { stdio: 'pipe', cwd: HERE },
        );
    } catch (e) {
        assert.fail(`tsc refused the generated client:\n${e.stdout}${e.stderr}`);
    }
});
