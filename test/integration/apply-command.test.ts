import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openChannel } from '../../src/store/channel-secrets';
import { findWebhook, webhooksCollection } from '../../src/store/webhook-store';
import { buildWebhookDocument } from '../../src/webhooks/new-webhook';
import { createTestContext, type TestContext } from '../support/context';

const run = promisify(execFile);
const BIN = resolve(__dirname, '../../bin/hookrelay.js');
const ORG = 'org_apply';

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const ORDERS = `
organization_id: ${ORG}
webhooks:
  - webhook_name: orders
    event_types: [object.created, object.updated]
    channels:
      - channel: webhook
        configs:
          url: https://orders.example.com/hook
          headers:
            X-Mixpeek-Secret: first-secret
  - webhook_name: audit
    event_types: ["*"]
    is_active: false
    retry_policy:
      initial_interval: 10s
      maximum_attempts: 5
    channels:
      - channel: webhook
        configs: { url: "https://audit.example.com/in", timeout: 5 }
`;

// Each case runs the CLI as a child process (a few seconds each on a busy machine).
describe('hookrelay apply -f', { timeout: 180_000 }, () => {
  let ctx: TestContext;
  let dir: string;

  beforeAll(async () => {
    ctx = await createTestContext('apply-command');
    dir = mkdtempSync(join(tmpdir(), 'hookrelay-apply-'));
  });

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await ctx?.close();
  });

  function file(name: string, text: string): string {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  }

  async function apply(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
    try {
      const { stdout, stderr } = await run(process.execPath, [BIN, 'apply', ...args], {
        env: {
          PATH: process.env.PATH,
          MONGODB_URL: ctx.config.MONGODB_URL,
          MONGODB_DB: ctx.config.MONGODB_DB,
          HOOKRELAY_ENCRYPTION_KEY: ctx.config.HOOKRELAY_ENCRYPTION_KEY,
          LOG_LEVEL: 'silent',
          ...env,
        },
        timeout: 60_000,
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failure = error as { code?: number; stdout?: string; stderr?: string };
      return { code: failure.code ?? -1, stdout: failure.stdout ?? '', stderr: failure.stderr ?? '' };
    }
  }

  const lines = (text: string) => text.trim().split('\n').filter(Boolean);
  const count = () => webhooksCollection(ctx.db).countDocuments({ organization_id: ORG });

  it('creates what is missing and prints each new signing secret once', async () => {
    const result = await apply(['-f', file('orders.yaml', ORDERS)]);
    expect(result.code, result.stderr).toBe(0);
    const [orders, audit] = lines(result.stdout);
    expect(orders).toMatch(/^created\s+wh_[0-9a-f]{16}\s+orders\s+signing_secret whsec_[A-Za-z0-9+/]+=*$/);
    expect(audit).toMatch(/^created\s+wh_[0-9a-f]{16}\s+audit\s+signing_secret whsec_/);
    expect(result.stderr).toContain(`organization ${ORG}: 2 created, 0 updated, 0 unchanged`);

    const ordersId = orders!.split(/\s+/)[1]!;
    const stored = await findWebhook(ctx.db, ordersId, ORG);
    expect(stored).toMatchObject({ webhook_name: 'orders', event_types: ['object.created', 'object.updated'], is_active: true });
    // Secrets are sealed at rest, and the printed signing secret is the stored one.
    expect(JSON.stringify(stored)).not.toContain('first-secret');
    expect(openChannel(stored!.channels[0]!, ctx.box).configs.headers).toEqual({ 'X-Mixpeek-Secret': 'first-secret' });
    expect(ctx.box.open(stored!.signing_secrets[0]!.sealed)).toBe(orders!.split('signing_secret ')[1]);

    const auditDoc = await webhooksCollection(ctx.db).findOne({ organization_id: ORG, webhook_name: 'audit' });
    expect(auditDoc).toMatchObject({ is_active: false, retry_policy: { initial_interval: '10s', maximum_attempts: 5 } });
    expect(auditDoc!.channels[0]!.configs).toEqual({ url: 'https://audit.example.com/in', timeout: 5 });
  });

  it('reports unchanged webhooks on a second run and prints no secret', async () => {
    const before = await webhooksCollection(ctx.db).find({ organization_id: ORG }).toArray();
    const result = await apply(['-f', join(dir, 'orders.yaml')]);
    expect(result.code, result.stderr).toBe(0);
    expect(lines(result.stdout)).toEqual([
      expect.stringMatching(/^unchanged\s+wh_[0-9a-f]{16}\s+orders$/),
      expect.stringMatching(/^unchanged\s+wh_[0-9a-f]{16}\s+audit$/),
    ]);
    expect(result.stdout).not.toContain('whsec_');
    const after = await webhooksCollection(ctx.db).find({ organization_id: ORG }).toArray();
    expect(after).toEqual(before);
  });

  it('updates what changed, including a changed header secret, and keeps ids and signing secrets', async () => {
    const before = await webhooksCollection(ctx.db).findOne({ organization_id: ORG, webhook_name: 'orders' });
    const changed = ORDERS.replace('first-secret', 'second-secret').replace('initial_interval: 10s', 'initial_interval: 20s');
    const result = await apply(['-f', file('orders-2.yaml', changed)]);
    expect(result.code, result.stderr).toBe(0);
    expect(lines(result.stdout)).toEqual([`updated   ${before!._id}  orders`, expect.stringMatching(/^updated\s+wh_\w+\s+audit$/)]);

    const after = await findWebhook(ctx.db, before!._id, ORG);
    expect(openChannel(after!.channels[0]!, ctx.box).configs.headers).toEqual({ 'X-Mixpeek-Secret': 'second-secret' });
    expect(after!.signing_secrets).toEqual(before!.signing_secrets);
    expect(after!.created_at).toEqual(before!.created_at);
    expect(after!.updated_at.getTime()).toBeGreaterThan(before!.updated_at.getTime());
    expect(await count()).toBe(2);

    const again = await apply(['-f', join(dir, 'orders-2.yaml')]);
    expect(lines(again.stdout).every((line) => line.startsWith('unchanged'))).toBe(true);
  });

  it('re-enables a webhook disabled after a 410 when the file says is_active: true', async () => {
    await webhooksCollection(ctx.db).updateOne(
      { organization_id: ORG, webhook_name: 'orders' },
      { $set: { is_active: false, disabled_reason: 'HTTP 410 Gone' } },
    );
    const result = await apply(['-f', join(dir, 'orders-2.yaml')]);
    expect(lines(result.stdout)[0]).toMatch(/^updated\s+wh_\w+\s+orders$/);
    expect(await webhooksCollection(ctx.db).findOne({ organization_id: ORG, webhook_name: 'orders' })).toMatchObject({
      is_active: true,
      disabled_reason: null,
    });
  });

  it('--dry-run says what would happen and writes nothing', async () => {
    const before = await webhooksCollection(ctx.db).find({ organization_id: ORG }).toArray();
    const text = `${ORDERS.replace('first-secret', 'third-secret')}  - webhook_name: extra\n    event_types: [object.*]\n    channels: [{ channel: webhook, configs: { url: "https://extra.example.com" } }]\n`;
    const result = await apply(['-f', file('dry.yaml', text), '--dry-run']);
    expect(result.code, result.stderr).toBe(0);
    expect(lines(result.stdout)).toEqual([
      expect.stringMatching(/^would update\s+wh_\w+\s+orders$/),
      expect.stringMatching(/^would update\s+wh_\w+\s+audit$/),
      expect.stringMatching(/^would create\s+-\s+extra$/),
    ]);
    expect(await webhooksCollection(ctx.db).find({ organization_id: ORG }).toArray()).toEqual(before);
  });

  it('takes the organization from --org, and refuses a file whose organization_id disagrees', async () => {
    const list = `- webhook_name: orders\n  event_types: [object.created]\n  channels: [{ channel: webhook, configs: { url: "https://other.example.com" } }]\n`;
    const result = await apply(['-f', file('list.yaml', list), '--org', 'org_apply_other']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^created\s+wh_\w+\s+orders\s+signing_secret/);
    expect(await webhooksCollection(ctx.db).countDocuments({ organization_id: 'org_apply_other' })).toBe(1);
    // Same name in another organization: untouched.
    expect(await count()).toBe(2);

    const conflict = await apply(['-f', join(dir, 'orders.yaml'), '--org', 'org_apply_other']);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toContain(`organization_id "${ORG}" differs from --org "org_apply_other"`);

    const none = await apply(['-f', join(dir, 'list.yaml')]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no organization: give --org <id> or organization_id in the file');
  });

  it('reports every invalid entry with file, line, entry and field, and applies nothing', async () => {
    const before = await webhooksCollection(ctx.db).find({}).toArray();
    const bad = [
      `organization_id: ${ORG}`, // 1
      'webhooks:', // 2
      '  - webhook_name: orders', // 3
      '    event_types: [object.created]', // 4
      '    channels:', // 5
      '      - channel: webhook', // 6
      '        configs:', // 7
      '          url: http://plain.example.com/hook', // 8
      '  - webhook_name: broken', // 9
      '    event_types: [object.nonexistent]', // 10
      '    channels: []', // 11
      '    evnt_types: [object.created]', // 12
      '  - webhook_name: orders', // 13
      '    event_types: [object.created]', // 14
      '    channels: [{ channel: webhook, configs: { url: "https://x.example.com" } }]', // 15
      '  - webhook_name: masked', // 16
      '    event_types: [object.created]', // 17
      '    channels: [{ channel: webhook, configs: { url: "https://x.example.com", headers: { X-Key: "********" } } }]', // 18
    ].join('\n');
    const path = file('bad.yaml', bad);
    const result = await apply(['-f', path]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    const message = result.stderr;
    expect(message).toContain(`${path} is not valid; nothing was applied`);
    expect(message).toContain(
      `${path}:8: webhooks[0] (orders) channels[0].configs.url: url must use https:// (plain http:// is accepted only when HOOKRELAY_ALLOW_HTTP is set)`,
    );
    expect(message).toMatch(new RegExp(`${path}:10: webhooks\\[1\\] \\(broken\\) event_types\\[0\\]: "object.nonexistent" is not a known event type`));
    expect(message).toContain(`${path}:11: webhooks[1] (broken) channels: channels must contain at least one channel`);
    expect(message).toContain(`${path}:12: webhooks[1] (broken): unknown field "evnt_types"`);
    expect(message).toContain(`${path}:13: webhooks[2] (orders): webhook_name "orders" is already used by webhooks[0]`);
    expect(message).toContain(`${path}:18: webhooks[3] (masked) channels[0]: "********" is the API's mask for a secret`);
    expect(await webhooksCollection(ctx.db).find({}).toArray()).toEqual(before);

    // With HOOKRELAY_ALLOW_HTTP the http URL is fine; the other problems remain.
    const relaxed = await apply(['-f', path], { HOOKRELAY_ALLOW_HTTP: 'true' });
    expect(relaxed.stderr).not.toContain('must use https://');
    expect(relaxed.stderr).toContain('unknown field "evnt_types"');
  });

  it('points at the line and column of a YAML syntax error', async () => {
    const path = file('syntax.yaml', 'webhooks:\n  - webhook_name: a\n    event_types: [object.created\n');
    const result = await apply(['-f', path]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`${path}:\\d+:\\d+: not valid YAML`));
  });

  it('refuses a name that matches several webhooks of the organization', async () => {
    for (let i = 0; i < 2; i++) {
      const { webhook } = buildWebhookDocument(
        { webhook_name: 'twice', event_types: ['*'], channels: [{ channel: 'webhook', configs: { url: 'https://t.example.com' } }] },
        ORG,
        ctx.box,
      );
      await webhooksCollection(ctx.db).insertOne(webhook);
    }
    const before = await webhooksCollection(ctx.db).find({}).toArray();
    const text = `${ORDERS}  - webhook_name: twice\n    event_types: [object.created]\n    channels: [{ channel: webhook, configs: { url: "https://t.example.com" } }]\n`;
    const result = await apply(['-f', file('twice.yaml', text)]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/webhooks\[2\] \(twice\): 2 webhooks of org_apply are named "twice" \(wh_\w+, wh_\w+\)/);
    expect(await webhooksCollection(ctx.db).find({}).toArray()).toEqual(before);
  });

  it('needs -f', async () => {
    const result = await apply([]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('-f <file> is required');
  });
});
