import { describe, expect, it } from 'vitest';
import { webhookSchemas } from '../../src/domain/webhook-schemas';
import { cliInvocation, createWebhookCurl, devWebhookBody, emitCommandLine, shellQuote, workflowSearchUrl } from '../../src/dev/dev-banner';
import { resolveDevPorts } from '../../src/dev/dev-ports';
import { devPaths } from '../../src/dev/dev-state';
import { parseCidrList } from '../../src/security/ssrf';
import { parseWebhookFile } from '../../src/webhooks/apply-webhooks';

describe('hookrelay dev: ports from the environment', () => {
  it('uses the fixed development ports by default', async () => {
    expect(await resolveDevPorts({})).toEqual({
      temporalIp: '127.0.0.1',
      temporalPort: 7233,
      uiPort: 8233,
      uiUrl: 'http://127.0.0.1:8233',
      apiHost: '127.0.0.1',
      apiPort: 3000,
    });
  });

  it('honours TEMPORAL_ADDRESS, TEMPORAL_UI_URL, HOST and PORT', async () => {
    expect(await resolveDevPorts({ TEMPORAL_ADDRESS: 'localhost:9233', PORT: '4000', HOST: '0.0.0.0' })).toMatchObject({
      temporalIp: '127.0.0.1',
      temporalPort: 9233,
      uiPort: 10233,
      apiHost: '0.0.0.0',
      apiPort: 4000,
    });
    expect(await resolveDevPorts({ TEMPORAL_UI_URL: 'http://localhost:9999/' })).toMatchObject({ uiPort: 9999, uiUrl: 'http://localhost:9999' });
    const anyPort = await resolveDevPorts({ PORT: '0' });
    expect(anyPort.apiPort).toBeGreaterThan(0);
  });

  it('refuses addresses it cannot serve itself', async () => {
    await expect(resolveDevPorts({ TEMPORAL_ADDRESS: 'temporal.example.com:7233' })).rejects.toThrow(/must be a local address.*hookrelay start/);
    await expect(resolveDevPorts({ TEMPORAL_UI_URL: 'https://ui.example.com' })).rejects.toThrow(/local http URL/);
  });

  it('keeps its state in .hookrelay of the working directory unless HOOKRELAY_DEV_DIR says otherwise', () => {
    expect(devPaths({}, '/work/app')).toMatchObject({ dir: '/work/app/.hookrelay', temporalDb: '/work/app/.hookrelay/temporal.db' });
    expect(devPaths({ HOOKRELAY_DEV_DIR: 'state' }, '/work/app').dir).toBe('/work/app/state');
  });
});

describe('hookrelay dev: printed commands', () => {
  it('quotes for a POSIX shell only when needed', () => {
    expect(shellQuote('http://127.0.0.1:3000/v1')).toBe('http://127.0.0.1:3000/v1');
    expect(shellQuote(`{"a":"it's"}`)).toBe(`'{"a":"it'\\''s"}'`);
  });

  it('prints a curl whose body the API accepts for a loopback receiver in development', () => {
    const curl = createWebhookCurl({ apiUrl: 'http://127.0.0.1:3000', apiKey: 'hr_key', echoUrl: 'http://127.0.0.1:4567/hook' });
    expect(curl).toContain("-H 'Authorization: Bearer hr_key'");
    const body = curl.match(/-d '(.*)'$/)![1]!;
    expect(JSON.parse(body)).toEqual(devWebhookBody('http://127.0.0.1:4567/hook'));
    // As `hookrelay dev` configures the API: http allowed, loopback exempt from the destination guard.
    const dev = webhookSchemas({ allowHttp: true, allowedCidrs: parseCidrList('127.0.0.0/8,::1/128') });
    expect(dev.create.safeParse(JSON.parse(body)).success).toBe(true);
    // Production rules refuse it.
    expect(webhookSchemas().create.safeParse(JSON.parse(body)).success).toBe(false);
  });

  it('prints an emit line with the environment it needs', () => {
    const line = emitCommandLine({ cli: 'node bin/hookrelay.js', mongoUrl: 'mongodb://127.0.0.1:1/?directConnection=true', mongoDb: 'hookrelay', organizationId: 'org_dev' });
    expect(line).toBe(
      `MONGODB_URL='mongodb://127.0.0.1:1/?directConnection=true' node bin/hookrelay.js emit --type object.created --org org_dev --metadata '{"bucket_id":"bkt_demo","object_id":"obj_demo"}'`,
    );
    expect(emitCommandLine({ cli: 'node x', mongoUrl: 'mongodb://h/', mongoDb: 'other', organizationId: 'o' })).toContain('MONGODB_DB=other ');
    expect(cliInvocation('/repo/bin/hookrelay.js', '/repo')).toBe('node bin/hookrelay.js');
    expect(cliInvocation('/repo/bin/hookrelay.js', '/elsewhere')).toBe('node /repo/bin/hookrelay.js');
    expect(workflowSearchUrl('http://127.0.0.1:8233', 'default', 'object.created')).toBe(
      'http://127.0.0.1:8233/namespaces/default/workflows?query=HookrelayEventType%3D%22object.created%22',
    );
  });
});

describe('hookrelay apply: reading the file', () => {
  const schemas = webhookSchemas({ allowHttp: false, allowedCidrs: [] });

  it('accepts a bare list of webhooks', () => {
    const parsed = parseWebhookFile('- webhook_name: a\n  event_types: ["*"]\n  channels: [{ channel: webhook, configs: { url: "https://a.example.com" } }]\n', 'w.yaml', schemas);
    expect(parsed.errors).toEqual([]);
    expect(parsed.organizationId).toBeUndefined();
    expect(parsed.entries).toMatchObject([{ index: 0, name: 'a', input: { is_active: true, channels: [{ configs: { timeout: 10 } }] } }]);
  });

  it('names unknown top-level keys, a missing list, and a bad organization_id with their lines', () => {
    const parsed = parseWebhookFile('organization_id: "bad id!"\nhooks: []\n', 'w.yaml', schemas);
    expect(parsed.errors).toEqual([
      'w.yaml:2: unknown key "hooks" (expected organization_id, webhooks)',
      'w.yaml:1: organization_id must be 1–200 letters, digits or _ . : -',
      'w.yaml: no "webhooks" list',
    ]);
  });

  it('reports duplicate keys as YAML errors', () => {
    const parsed = parseWebhookFile('webhooks: []\nwebhooks: []\n', 'w.yaml', schemas);
    expect(parsed.syntaxError).toBe(true);
    expect(parsed.errors[0]).toMatch(/^w\.yaml:2:1: not valid YAML: Map keys must be unique/);
  });
});
