// spec.mjs - docs/openapi.yaml for the checks of tests/openapi: its operations by service,
// the route of each (the pattern a route table registers), and the C route tables
// themselves (services/*/routes.c) read as data.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SPEC_PATH = process.env.OPENAPI_SPEC || join(ROOT, 'docs', 'openapi.yaml');
export const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];
// The role bits of common/auth.h, by the names x-roles uses.
const ROLE_BITS = { AUTH_ROLE_ADMIN: 'admin', AUTH_ROLE_USER: 'user', AUTH_ROLE_SERVICE: 'service' };

export function loadSpec(path = SPEC_PATH) {
    return parse(readFileSync(path, 'utf8'));
}

// Every operation of the description: {service, method (upper case), path, route,
// op, pointer} once per service that x-service names. route is x-route when the path
// is one of several served by a wildcard route ("/app/*"), else the path itself.
export function operations(spec) {
    const out = [];
    for (const [path, item] of Object.entries(spec.paths || {})) {
        const services = item['x-service'] || [];
        for (const method of METHODS) {
            const op = item[method];
            if (!op) continue;
            for (const service of services) {
                out.push({
                    service,
                    method: method.toUpperCase(),
                    path,
                    route: item['x-route'] || path,
                    op,
                    pointer: `/paths/${escapePointer(path)}/${method}`,
                });
            }
        }
    }
    return out;
}

export function escapePointer(s) {
    return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

// The route tables: {service, method, pattern, roles (sorted names), file, line} for
// every {"METHOD", pattern, handler, roles, ...} entry of services/<service>/routes.c.
// Patterns and roles may be #defines of the same file; role expressions are ORs of
// AUTH_ROLE_* and AUTH_ROLES_ANY, or 0 (no token).
export function routeTables(root = ROOT) {
    const out = [];
    const dir = join(root, 'services');
    for (const service of readdirSync(dir)) {
        // routes.c, in the service's api/ directory when it has one
        const file = [join(dir, service, 'api', 'routes.c'), join(dir, service, 'routes.c')].find(existsSync);
        if (!file) continue;
        const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' '));
        const defines = {
            AUTH_ROLES_ANY: 'AUTH_ROLE_ADMIN | AUTH_ROLE_USER | AUTH_ROLE_SERVICE',
        };
        for (const m of text.matchAll(/^#define\s+(\w+)\s+(.+)$/gm)) defines[m[1]] = m[2].trim();
        const expand = (expr, depth = 0) =>
            depth > 8 ? expr : expr.replace(/\b[A-Z_][A-Z0-9_]*\b/g, (w) => (w in defines ? `(${expand(defines[w], depth + 1)})` : w));
        const entry = /\{\s*"([A-Z]+)"\s*,\s*("(?:[^"\\]|\\.)*"|\w+)\s*,\s*(\w+)\s*,\s*([^,}]+?)\s*(?:,[^}]*)?\}/g;
        for (const m of text.matchAll(entry)) {
            let pattern = m[2];
            if (!pattern.startsWith('"')) pattern = expand(pattern).replace(/[()]/g, '').trim();
            pattern = JSON.parse(pattern);
            const roleExpr = expand(m[4]);
            const roles = [...new Set([...roleExpr.matchAll(/AUTH_ROLE_(ADMIN|USER|SERVICE)\b/g)].map((r) => ROLE_BITS[`AUTH_ROLE_${r[1]}`]))].sort();
            if (!roles.length && !/^[\s()0]+$/.test(roleExpr))
                throw new Error(`${file}: cannot read the roles "${m[4]}" of ${m[1]} ${pattern}`);
            const line = text.slice(0, m.index).split('\n').length;
            out.push({ service, method: m[1], pattern, roles, file: file.slice(root.length + 1), line, handler: m[3] });
        }
    }
    return out;
}

// The services a recorded response may come from, by binary name.
export const SERVICE_OF_BINARY = { 'tenant-service': 'tenant', 'notification-service': 'notification' };

// A matcher of request paths for the operations of one service: exact paths first, then
// templated ones, then wildcard routes.
export function pathMatcher(ops) {
    const byPath = new Map();
    for (const o of ops) {
        if (!byPath.has(o.path)) byPath.set(o.path, { path: o.path, route: o.route, ops: [] });
        byPath.get(o.path).ops.push(o);
    }
    const entries = [...byPath.values()].map((e) => {
        const wildcard = e.route.endsWith('*') && e.path.includes('{');
        const re = wildcard
            ? new RegExp('^' + escapeRe(e.route.slice(0, -1)) + '.+$')
            : new RegExp('^' + e.path.split(/\{[^}]+\}/).map(escapeRe).join('[^/]+') + '$');
        const rank = wildcard ? 2 : e.path.includes('{') ? 1 : 0;
        return { ...e, re, rank };
    });
    entries.sort((a, b) => a.rank - b.rank);
    return (path) => entries.find((e) => e.re.test(path));
}

function escapeRe(s) {
    return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
