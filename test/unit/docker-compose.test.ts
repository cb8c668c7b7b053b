import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { envSchema, loadConfig } from '../../src/config/env';
import { CLI_SEARCH_ATTRIBUTE_TYPES } from '../../src/domain/search-attributes';

/**
 * docker-compose.yml cannot be started here (no Docker engine), so its structure is
 * checked instead: services, images, health checks, start order, the environment of the
 * hookrelay services against src/config/env.ts, and the one-shot setup jobs.
 */

const ROOT = resolve(__dirname, '../..');

interface Service {
  image?: string;
  build?: unknown;
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  volumes?: string[];
  ports?: string[];
  restart?: string;
}

const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const services = compose.services;
const HOOKRELAY_ROLES = { 'hookrelay-api': 'api', 'hookrelay-worker': 'worker', 'hookrelay-dispatcher': 'dispatcher' } as const;
const ONE_SHOT = ['mongodb-init', 'temporal-schema', 'temporal-setup'];

const script = (service: Service) => (Array.isArray(service.command) ? service.command.join('\n') : (service.command ?? ''));

/** What compose makes of `${NAME:-default}` / `${NAME:?error}` when NAME is not set. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g, (_, name: string, kind?: string, rest?: string) => {
    if (env[name] !== undefined) return env[name]!;
    if (kind === '?') throw new Error(`${name} is required: ${rest}`);
    return rest ?? '';
  });
}

describe('docker-compose.yml', () => {
  it('has MongoDB, PostgreSQL, Temporal, its UI, the setup jobs and the three hookrelay roles', () => {
    expect(Object.keys(services).sort()).toEqual(
      [
        'mongodb',
        'mongodb-init',
        'postgresql',
        'temporal-schema',
        'temporal',
        'temporal-setup',
        'temporal-ui',
        'hookrelay-api',
        'hookrelay-worker',
        'hookrelay-dispatcher',
      ].sort(),
    );
  });

  it('pins every image to a version (no latest, no untagged image)', () => {
    const images = Object.entries(services).map(([name, service]) => [name, service.image] as const);
    for (const [name, image] of images) {
      expect(image, name).toBeDefined();
      expect(image, name).toMatch(/^[\w./-]+:[\w.${}:-]+$/);
      expect(image, name).not.toMatch(/:latest$/);
    }
    expect(services.mongodb!.image).toMatch(/^mongo:(7\.0|8\.0)(\.\d+)?$/);
    expect(services.postgresql!.image).toMatch(/^postgres:16(\.\d+)?$/);
    // Server and admin tools (schema tool, CLI) of the same release; the UI the dev server bundles.
    expect(services.temporal!.image).toBe('temporalio/server:1.31.2');
    expect(services['temporal-schema']!.image).toBe('temporalio/admin-tools:1.31.2');
    expect(services['temporal-setup']!.image).toBe('temporalio/admin-tools:1.31.2');
    expect(services['temporal-ui']!.image).toMatch(/^temporalio\/ui:2\.42\.\d+$/);
    for (const name of Object.keys(HOOKRELAY_ROLES)) {
      expect(services[name]!.build, name).toEqual({ context: '.' });
      expect(services[name]!.image, name).toMatch(/^hookrelay:/);
    }
  });

  it('gives the long-running services health checks, and hookrelay roles the healthcheck command of their role', () => {
    for (const name of ['mongodb', 'postgresql', 'temporal', ...Object.keys(HOOKRELAY_ROLES)]) {
      expect(services[name]!.healthcheck?.test, name).toBeDefined();
    }
    for (const [name, role] of Object.entries(HOOKRELAY_ROLES)) {
      expect(services[name]!.command).toEqual([role]);
      expect(services[name]!.healthcheck!.test).toEqual(['CMD', 'node', 'bin/hookrelay.js', 'healthcheck', role]);
    }
    expect(services.postgresql!.healthcheck!.test.join(' ')).toContain('pg_isready -U temporal');
    expect(services.mongodb!.healthcheck!.test.join(' ')).toContain('isWritablePrimary');
  });

  it('starts things in order: depends_on names existing services with the right conditions, without cycles', () => {
    const expectDependency = (service: string, on: string, condition: string) =>
      expect(services[service]!.depends_on?.[on]?.condition, `${service} → ${on}`).toBe(condition);
    for (const name of Object.keys(HOOKRELAY_ROLES)) {
      expectDependency(name, 'mongodb', 'service_healthy');
      expectDependency(name, 'mongodb-init', 'service_completed_successfully');
      expectDependency(name, 'temporal', 'service_healthy');
      expectDependency(name, 'temporal-setup', 'service_completed_successfully');
    }
    expectDependency('mongodb-init', 'mongodb', 'service_started');
    expectDependency('temporal-schema', 'postgresql', 'service_healthy');
    expectDependency('temporal', 'temporal-schema', 'service_completed_successfully');
    expectDependency('temporal-setup', 'temporal', 'service_healthy');
    expectDependency('temporal-ui', 'temporal', 'service_healthy');

    const conditions = new Set(['service_started', 'service_healthy', 'service_completed_successfully']);
    for (const [name, service] of Object.entries(services)) {
      for (const [target, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(services[target], `${name} depends on unknown ${target}`).toBeDefined();
        expect(conditions.has(condition), `${name} → ${target}: ${condition}`).toBe(true);
        if (condition === 'service_healthy') expect(services[target]!.healthcheck, `${target} needs a health check`).toBeDefined();
        if (condition === 'service_completed_successfully') expect(ONE_SHOT).toContain(target);
      }
    }
    // Topological order exists.
    const done = new Set<string>();
    let progress = true;
    while (progress) {
      progress = false;
      for (const [name, service] of Object.entries(services)) {
        if (!done.has(name) && Object.keys(service.depends_on ?? {}).every((target) => done.has(target))) {
          done.add(name);
          progress = true;
        }
      }
    }
    expect([...done].sort()).toEqual(Object.keys(services).sort());
    for (const name of ONE_SHOT) expect(services[name]!.restart, name).toBe('no');
  });

  it('sets every configuration variable of src/config/env.ts for each hookrelay role, with values the app accepts', () => {
    const variables = Object.keys(envSchema.shape).sort();
    for (const name of Object.keys(HOOKRELAY_ROLES)) {
      const environment = services[name]!.environment!;
      expect(Object.keys(environment).sort(), name).toEqual(variables);
      const resolved = Object.fromEntries(
        Object.entries(environment).map(([key, value]) => [key, interpolate(String(value), { HOOKRELAY_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64') })]),
      );
      const config = loadConfig(resolved);
      expect(config).toMatchObject({
        MONGODB_DB: 'hookrelay',
        TEMPORAL_ADDRESS: 'temporal:7233',
        TEMPORAL_NAMESPACE: 'default',
        TEMPORAL_TASK_QUEUE: 'hookrelay',
        HOST: '0.0.0.0',
        PORT: 3000,
        HOOKRELAY_ALLOW_HTTP: false,
        HOOKRELAY_ALLOWED_CIDRS: '',
        HOOKRELAY_ENDPOINT_CONCURRENCY: 20,
        LOG_LEVEL: 'info',
      });
      expect(config.MONGODB_URL).toBe('mongodb://mongodb:27017/?replicaSet=rs0');
      // No key, no start: compose refuses to run without one rather than invent it.
      expect(() => interpolate(environment.HOOKRELAY_ENCRYPTION_KEY!, {})).toThrow(/HOOKRELAY_ENCRYPTION_KEY is required/);
    }
  });

  it('runs MongoDB as the single-node replica set rs0 and initiates it automatically', () => {
    expect(services.mongodb!.command).toEqual(['mongod', '--replSet', 'rs0', '--bind_ip_all']);
    const init = script(services['mongodb-init']!);
    expect(services['mongodb-init']!.image).toBe(services.mongodb!.image);
    expect(init).toContain('rs.initiate({ _id: "rs0", members: [{ _id: 0, host: "mongodb:27017" }] })');
    expect(init).toContain('NotYetInitialized'); // idempotent: an initiated set is left alone
    expect(init).toContain('isWritablePrimary'); // done only once the node is primary
    expect(services.mongodb!.volumes).toContain('mongodb-data:/data/db');
  });

  it('sets up Temporal on PostgreSQL: schema job, server environment, UI', () => {
    const schema = services['temporal-schema']!;
    expect(schema.environment).toMatchObject({ SQL_PLUGIN: 'postgres12', SQL_HOST: 'postgresql', SQL_PORT: '5432', SQL_USER: 'temporal' });
    const schemaScript = script(schema);
    for (const step of ['create-database', 'setup-schema -v 0.0', 'update-schema -d "/etc/temporal/schema/postgresql/v12/$$schema/versioned"']) {
      expect(schemaScript).toContain(step);
    }
    expect(schemaScript).toContain('for db in temporal temporal_visibility');

    expect(services.temporal!.environment).toMatchObject({
      DB: 'postgres12',
      DB_PORT: '5432',
      POSTGRES_SEEDS: 'postgresql',
      POSTGRES_USER: 'temporal',
      BIND_ON_IP: '0.0.0.0',
    });
    expect(services.temporal!.environment!.POSTGRES_PWD).toBe(services.postgresql!.environment!.POSTGRES_PASSWORD);
    expect(schema.environment!.SQL_PASSWORD).toBe(services.postgresql!.environment!.POSTGRES_PASSWORD);
    const [source, target] = services.temporal!.volumes![0]!.split(':');
    expect(existsSync(join(ROOT, source!)), source).toBe(true);
    expect(parse(readFileSync(join(ROOT, source!), 'utf8'))).toHaveProperty(['system.enableActivityEagerExecution']);
    expect(services.temporal!.environment!.DYNAMIC_CONFIG_FILE_PATH).toBe(target);
    expect(script(services.postgresql!)).toMatch(/max_connections=\d{3}/);

    expect(services['temporal-ui']!.environment).toMatchObject({ TEMPORAL_ADDRESS: 'temporal:7233', TEMPORAL_UI_PORT: '8080' });
    expect(services['temporal-ui']!.ports).toContain('8080:8080');
  });

  it('registers the namespace and all five search attributes with their types in a one-shot job', () => {
    const setup = script(services['temporal-setup']!);
    expect(services['temporal-setup']!.environment).toMatchObject({ TEMPORAL_ADDRESS: 'temporal:7233', TEMPORAL_NAMESPACE: 'default' });
    expect(Object.keys(CLI_SEARCH_ATTRIBUTE_TYPES)).toHaveLength(5);
    for (const [name, type] of Object.entries(CLI_SEARCH_ATTRIBUTE_TYPES)) {
      expect(setup).toMatch(new RegExp(`--name ${name} --type ${type}\\b`));
    }
    expect(setup).toContain('temporal operator namespace create --namespace "$$TEMPORAL_NAMESPACE"');
    expect(setup).toContain('temporal operator cluster health');
  });

  it('escapes $ in job scripts so compose does not interpolate shell variables', () => {
    for (const name of ONE_SHOT) {
      // Every `$` is either `$$` (shell) or none at all; `${…}`/`$NAME` would be read by compose.
      expect(script(services[name]!).replace(/\$\$/g, ''), name).not.toContain('$');
    }
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));

  it('builds in one stage and runs in a slim production stage as a non-root user', () => {
    expect(instructions).toContain('ARG NODE_IMAGE=node:20-bookworm-slim');
    const stages = instructions.filter((line) => line.startsWith('FROM '));
    expect(stages).toEqual(['FROM ${NODE_IMAGE} AS build', 'FROM ${NODE_IMAGE} AS runtime']);
    const runtime = instructions.slice(instructions.indexOf('FROM ${NODE_IMAGE} AS runtime'));
    expect(instructions).toContain('RUN npm run build');
    expect(runtime.some((line) => /^RUN npm ci --omit=dev\b/.test(line))).toBe(true);
    expect(runtime).toContain('COPY --from=build /app/dist ./dist');
    expect(runtime).toContain('COPY bin ./bin');
    expect(runtime).toContain('USER node');
    expect(runtime.at(-2)).toBe('ENTRYPOINT ["node", "bin/hookrelay.js"]');
    expect(runtime.at(-1)).toBe('CMD ["start"]');
    // npm ci applies patches/ to the installed dependencies, in both stages.
    for (const stage of [instructions.slice(0, instructions.indexOf('FROM ${NODE_IMAGE} AS runtime')), runtime]) {
      const install = stage.findIndex((line) => line.startsWith('RUN npm ci'));
      expect(stage.indexOf('COPY patches ./patches')).toBeGreaterThan(-1);
      expect(stage.indexOf('COPY patches ./patches')).toBeLessThan(install);
    }
    // No sources in the runtime image: bin/hookrelay.js then runs dist/ (and the prebuilt workflow bundle).
    expect(runtime.some((line) => /^COPY (--from=build \/app\/)?src\b/.test(line))).toBe(false);
  });

  it('copies only what the build needs, and .dockerignore admits exactly that into the context', () => {
    const copied = instructions
      .filter((line) => line.startsWith('COPY ') && !line.includes('--from'))
      .flatMap((line) => line.split(/\s+/).slice(1, -1));
    for (const source of copied) expect(existsSync(join(ROOT, source)), source).toBe(true);
    const rules = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    // Everything is excluded, then the sources the Dockerfile copies are let back in.
    expect(rules[0]).toBe('*');
    const admitted = rules.slice(1).map((rule) => {
      expect(rule.startsWith('!'), rule).toBe(true);
      return rule.slice(1);
    });
    expect([...admitted].sort()).toEqual([...new Set(copied)].sort());
    for (const local of ['node_modules', '.tools', '.hookrelay', 'dist', '.git', '.env', 'test']) expect(admitted).not.toContain(local);
    const build = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.build as string;
    expect(build).toContain('tsc -p tsconfig.build.json');
    expect(build).toContain('scripts/build-workflow-bundle.ts');
  });
});
