import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emitEvent } from '../../src/events/emit-event';
import { toolsDir } from '../../src/infra/repo-root';
import { provisionSchemathesis } from '../../src/infra/schemathesis';
import { eventsCollection } from '../../src/store/event-store';
import { startTestApi, webhookBody, type TestApi } from '../support/api';
import { createTestContext, type TestContext } from '../support/context';

const run = promisify(execFile);

/**
 * Schemathesis (pinned in src/infra/schemathesis.ts, installed into .tools/venv) against
 * the served /openapi.json of the real app, with a valid API key and real resources to
 * aim at. Positive and negative cases in the coverage, fuzzing and stateful phases,
 * bounded per operation (--max-examples) and in time (--max-time): no 5xx, and every
 * response has a documented status and content type and matches the schema documented
 * for its status.
 */

const MAX_EXAMPLES = 10;
// A time budget for the whole run: phases repeat until it is spent (FUZZ_SECONDS overrides it).
const MAX_SECONDS = Number(process.env.FUZZ_SECONDS ?? 60);
const ORG = 'org_fuzz';
const BUCKET = 'bkt_fuzz';

interface FailureGroup {
  type: string;
  code: string;
  title: string;
  count: number;
  operations: string[];
}

interface RunReport {
  schemathesis_version: string;
  complete: boolean;
  exit_code: number;
  operations: { selected: number; tested: number; errored: number };
  test_cases: { generated: number; with_failures: number; errored: number };
  failures: FailureGroup[];
  errors: Array<{ title: string; count: number }>;
}

// Failure classes raised by the not_a_server_error check; every other failure is the
// response departing from the document: its body (response_schema_conformance), an
// undocumented status (status_code_conformance) or content type (content_type_conformance).
const SERVER_ERROR_TYPES = new Set(['ServerError', 'ContentTypeServerError']);

describe('API fuzzing (schemathesis against /openapi.json)', () => {
  let ctx: TestContext;
  let api: TestApi;
  let st = '';
  let scratch = '';
  const served = { requests: 0, serverErrors: [] as string[] };

  beforeAll(async () => {
    st = await provisionSchemathesis();
    scratch = mkdtempSync(join(tmpdir(), 'hookrelay-fuzz-'));
    ctx = await createTestContext('api-fuzz');
    api = await startTestApi(ctx, { org: ORG });
    // Counted at the server, independently of what schemathesis reports.
    api.app.server.on('request', (req, res) => {
      if (req.url === '/openapi.json') return;
      served.requests += 1;
      res.on('finish', () => {
        if (res.statusCode >= 500) served.serverErrors.push(`${req.method} ${req.url} → ${res.statusCode}`);
      });
    });
  }, 300_000);

  afterAll(async () => {
    await api?.close();
    // Redeliveries started runs on this file's task queue, which no worker serves.
    if (ctx) await terminateRunning(ctx).catch(() => undefined);
    await ctx?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  async function create(path: string, body: unknown, idField: string): Promise<string> {
    const response = await api.request('POST', path, { body });
    expect(response.status, response.text).toBe(201);
    return response.body[idField] as string;
  }

  /** Resources of the key's organization for the fuzzer to aim at (and others for DELETE to remove). */
  async function seed() {
    const webhook = () =>
      create('/v1/organizations/webhooks', webhookBody('https://hooks.example.com/fuzz', { event_types: ['*'] }, { headers: { 'X-Fuzz': 'v' } }), 'webhook_id');
    const connection = () =>
      create('/v1/organizations/connections', { provider: 'mux', webhook_secret: 'fuzz-secret', bucket_id: BUCKET }, 'connection_id');
    const object = () =>
      create(`/v1/organizations/buckets/${BUCKET}/objects`, { namespace_id: 'ns_fuzz', metadata: { title: 'fuzz' } }, 'object_id');
    const { eventId } = await emitEvent(ctx.db, {
      organization_id: ORG,
      namespace_id: 'ns_fuzz',
      event_type: 'collection.documents.written',
      metadata: { collection_id: 'col_fuzz', document_count: 1 },
    });
    // Dispatched, so redelivery gets past its "not dispatched yet" conflict.
    await eventsCollection(ctx.db).updateOne({ _id: eventId }, { $set: { status: 'dispatched', dispatched_at: new Date() } });
    return {
      kept: { webhook_id: await webhook(), connection_id: await connection(), object_id: await object(), event_id: eventId },
      doomed: { webhook_id: await webhook(), connection_id: await connection(), object_id: await object(), event_id: eventId },
    };
  }

  /** Path parameters mostly name real resources (the rest are generated), so handlers run past their lookups. */
  function configFile(ids: Awaited<ReturnType<typeof seed>>): string {
    const lines: string[] = [];
    const bind = (set: 'kept' | 'doomed') =>
      Object.keys(ids[set]).map((name) => `"path.${name}" = { dictionary = "${set}_${name}", probability = 0.8 }`);
    for (const set of ['kept', 'doomed'] as const) {
      for (const [name, value] of Object.entries(ids[set])) {
        lines.push(`[dictionaries.${set}_${name}]`, `values = [${JSON.stringify(value)}]`, '');
      }
    }
    lines.push(`[dictionaries.buckets]`, `values = [${JSON.stringify(BUCKET)}]`, '');
    lines.push('[parameters]', ...bind('kept'), `"path.bucket_id" = { dictionary = "buckets", probability = 0.8 }`, '');
    // Deletions aim at resources of their own, so the rest of the run keeps its targets.
    lines.push('[[operations]]', 'include-method = "DELETE"', '[operations.parameters]', ...bind('doomed'), '');
    const path = join(scratch, 'schemathesis.toml');
    writeFileSync(path, lines.join('\n'));
    return path;
  }

  // Inputs the fuzzer found answered 500 (MongoDB refuses field names with NUL; deep
  // nesting overflowed a recursive walk): now 422s naming the field.
  it.each([
    ['object metadata with a NUL in a field name', 'POST', `/v1/organizations/buckets/${BUCKET}/objects`, { metadata: { 'a\u0000b': 1 } }, ['body', 'metadata']],
    ['object metadata nested 5,000 levels', 'POST', `/v1/organizations/buckets/${BUCKET}/objects`, { metadata: { deep: DEEP(5_000) } }, ['body', 'metadata', 'deep']],
    [
      'a metadata filter value with a NUL in a field name',
      'POST',
      '/v1/organizations/connections',
      { provider: 'mux', webhook_secret: 's', bucket_id: BUCKET, metadata_filters: [{ field: 'a', operator: 'equals', value: { 'x\u0000': 1 } }] },
      ['body', 'metadata_filters', 0, 'value'],
    ],
    [
      'a payload_template with a NUL in a field name',
      'POST',
      '/v1/organizations/webhooks',
      webhookBody('https://hooks.example.com/t', {}, { payload_template: { nested: { 'k\u0000': '{{ event_id }}' } } }),
      ['body', 'channels', 0, 'configs', 'payload_template', 'nested'],
    ],
    [
      'a payload_template nested 60,000 levels',
      'POST',
      '/v1/organizations/webhooks',
      webhookBody('https://hooks.example.com/t', {}, { payload_template: { a: DEEP(60_000) } }),
      ['body', 'channels', 0, 'configs', 'payload_template', 'a'],
    ],
  ] as const)('refuses %s with a 422', async (_label, method, path, body, loc) => {
    const response = await api.request(method, path, { raw: jsonWithDeepArrays(body) });
    expect(response.status, response.text).toBe(422);
    expect(response.body.error.type).toBe('ValidationError');
    expect(response.body.error.details[0].loc.slice(0, loc.length)).toEqual(loc);
  });

  it('answers every generated request without a 5xx and within its documented schema', async () => {
    const ids = await seed();
    const reportDir = join(scratch, 'report');
    const args = [
      '--config-file', configFile(ids),
      'run', `${api.url}/openapi.json`,
      '--header', `Authorization: Bearer ${api.key}`,
      '--checks', 'not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance',
      '--max-examples', String(MAX_EXAMPLES),
      '--max-time', String(MAX_SECONDS),
      '--request-timeout', '10',
      // One worker: schemathesis' worker threads trip a CPython 3.11 thread-safety bug in
      // ast.parse ("AST constructor recursion depth mismatch"), reported as a Runtime Error.
      '--workers', '1',
      '--report', 'json,junit',
      '--report-dir', reportDir,
      '--generation-database', 'none',
      '--no-color',
      '--output-truncate', 'true',
    ];
    served.requests = 0;
    served.serverErrors.length = 0;
    const started = Date.now();
    // Run from the scratch folder: schemathesis keeps caches in its working directory.
    const output = await run(st, args, { cwd: scratch, timeout: (MAX_SECONDS + 90) * 1_000, maxBuffer: 64 * 1024 * 1024 }).then(
      ({ stdout, stderr }) => ({ code: 0, text: `${stdout}${stderr}` }),
      (error: { code?: number; stdout?: string; stderr?: string; killed?: boolean }) => {
        if (error.killed) throw new Error(`schemathesis did not finish within ${MAX_SECONDS + 90} s`);
        return { code: error.code ?? -1, text: `${error.stdout ?? ''}${error.stderr ?? ''}` };
      },
    );
    const seconds = Math.round((Date.now() - started) / 1000);

    const reportFile = readdirSync(reportDir).find((name) => name.startsWith('json-'));
    if (!reportFile) throw new Error(`schemathesis wrote no report (exit ${output.code}):\n${output.text.slice(-4_000)}`);
    const report = JSON.parse(readFileSync(join(reportDir, reportFile), 'utf8')) as RunReport;
    const serverErrors = report.failures.filter((group) => SERVER_ERROR_TYPES.has(group.type));
    const schemaViolations = report.failures.filter((group) => !SERVER_ERROR_TYPES.has(group.type));
    const count = (groups: FailureGroup[]) => groups.reduce((sum, group) => sum + group.count, 0);

    const reports = join(toolsDir(), 'reports');
    mkdirSync(reports, { recursive: true });
    const junit = readdirSync(reportDir).find((name) => name.startsWith('junit-'));
    if (junit) writeFileSync(join(reports, 'fuzz-junit.xml'), readFileSync(join(reportDir, junit)));
    writeFileSync(join(reports, 'fuzz-output.txt'), output.text);
    writeFileSync(
      join(reports, 'fuzz.json'),
      `${JSON.stringify(
        {
          requests: served.requests,
          server_errors: Math.max(served.serverErrors.length, count(serverErrors)),
          schema_violations: count(schemaViolations),
          date: new Date().toISOString(),
          test_cases: report.test_cases.generated,
          operations: report.operations.tested,
          seconds,
          schemathesis: report.schemathesis_version,
        },
        null,
        2,
      )}\n`,
    );

    const diagnosis = `schemathesis exit ${output.code}\n${output.text.slice(-6_000)}`;
    expect(report.complete, diagnosis).toBe(true);
    expect(report.operations.tested, diagnosis).toBe(report.operations.selected);
    expect(served.serverErrors, diagnosis).toEqual([]);
    expect(serverErrors, diagnosis).toEqual([]);
    expect(schemaViolations, diagnosis).toEqual([]);
    expect(report.errors, diagnosis).toEqual([]);
    expect(report.test_cases.generated).toBeGreaterThan(Math.min(500, MAX_SECONDS * 5));
    expect(output.code, diagnosis).toBe(0);
  }, (MAX_SECONDS + 150) * 1_000);
});

/** Stands for `levels` nested arrays, spelled out by jsonWithDeepArrays (JSON.stringify would overflow). */
function DEEP(levels: number): string {
  return `__DEEP_${levels}__`;
}

function jsonWithDeepArrays(body: unknown): string {
  return JSON.stringify(body).replace(/"__DEEP_(\d+)__"/g, (_match, levels: string) => '['.repeat(Number(levels)) + ']'.repeat(Number(levels)));
}

async function terminateRunning(ctx: TestContext): Promise<void> {
  const runs = ctx.client.workflow.list({ query: `TaskQueue = '${ctx.taskQueue}' AND ExecutionStatus = 'Running'` });
  for await (const run of runs) {
    await ctx.client.workflow.getHandle(run.workflowId, run.runId).terminate('api-fuzz cleanup').catch(() => undefined);
  }
}
