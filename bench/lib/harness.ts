import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, hostname, loadavg, release, tmpdir, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { MongoClient } from 'mongodb';
import { MONGO_STANDIN_VERSION, startMongoServer, type MongoServerHandle } from '../../src/infra/mongo-server';
import {
  DEV_SERVER_DYNAMIC_CONFIG,
  devServerEnv,
  provisionTemporalCli,
  startTemporalDevServer,
} from '../../src/infra/temporal-server';
import { createSecretBox, generateEncryptionKey } from '../../src/security/secret-box';
import { runFootprintScenario } from '../scenarios/footprint';
import { runIsolationScenario } from '../scenarios/isolation';
import { runLatencyScenario } from '../scenarios/latency';
import { runOverloadScenario } from '../scenarios/overload';
import { runThroughputScenario } from '../scenarios/throughput';
import type { BenchContext } from './context';
import { buildHookrelay } from './build-hookrelay';
import { bundleFloorWorkflows } from './floor-runner';
import { descendants, ProcessSampler } from './process-sampler';
import { PROFILES, type Profile } from './profiles';
import { startBenchReceiver } from './receiver';
import {
  computeTargets,
  maxOtherCpuShare,
  renderMarkdown,
  SCENARIOS,
  type BenchReport,
  type BenchSettings,
  type MachineInfo,
  type ScenarioName,
} from './report';
import { round } from './stats';
import { CONNECTIONS_PER_ORIGIN } from './transport-floor';

const run = promisify(execFile);

export interface BenchOptions {
  profile: Profile['name'];
  /** Scenarios to run (all by default), always in the order of SCENARIOS. */
  only?: ScenarioName[];
  /** Where the .json and .md go; bench/results by default. */
  outDir?: string;
  /** Progress lines (stderr by default). */
  log?: (line: string) => void;
  /** Aborting stops every process and server; then `onInterrupted` runs. */
  signal?: AbortSignal;
  onInterrupted?: () => void;
}

export interface BenchOutcome {
  report: BenchReport;
  markdown: string;
  jsonPath: string;
  markdownPath: string;
}

const RUNNERS: Record<ScenarioName, (ctx: BenchContext) => Promise<unknown>> = {
  latency: runLatencyScenario,
  throughput: runThroughputScenario,
  footprint: runFootprintScenario,
  // Late: its dead endpoint's workflows keep retrying until their process stops.
  isolation: runIsolationScenario,
  // Last: it ends with its slow backlog undelivered, whose workflows stay open.
  overload: runOverloadScenario,
};

/**
 * Runs the benchmark: starts a Temporal dev server (in memory, with the product's
 * dynamic config) and a MongoDB server on loopback, runs the chosen scenarios with
 * their baselines, writes `<date>-<machine>.json` and `.md`, and stops everything.
 */
export async function runBench(options: BenchOptions): Promise<BenchOutcome> {
  const profile = PROFILES[options.profile];
  const startedAt = new Date();
  const t0 = performance.now();
  const log = (message: string) => {
    const elapsed = Math.round((performance.now() - t0) / 1000);
    (options.log ?? ((line: string) => process.stderr.write(`${line}\n`)))(
      `[${String(Math.floor(elapsed / 60)).padStart(2, '0')}:${String(elapsed % 60).padStart(2, '0')}] ${message}`,
    );
  };
  const order = SCENARIOS.filter((name) => !options.only || options.only.includes(name));

  const stoppers: Array<() => Promise<void>> = [];
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      while (stoppers.length > 0) await stoppers.pop()!().catch(() => undefined);
    })());
  const defer = (stop: () => Promise<void>) => {
    stoppers.push(stop);
    return () => {
      const index = stoppers.indexOf(stop);
      if (index >= 0) stoppers.splice(index, 1);
    };
  };
  const signal = options.signal ?? new AbortController().signal;
  const onAbort = () => {
    log('interrupted: stopping every process and server');
    void cleanup().finally(() => options.onInterrupted?.());
  };
  signal.addEventListener('abort', onAbort, { once: true });

  const scratch = mkdtempSync(join(tmpdir(), 'hookrelay-bench-'));
  defer(async () => rmSync(scratch, { recursive: true, force: true }));
  const sampler = new ProcessSampler();
  defer(async () => sampler.stop());
  try {
    log(`profile ${profile.name}: ${order.join(', ')}`);
    log('starting the Temporal dev server and MongoDB, building hookrelay (npm run build), bundling the floor workflow');
    const [temporalServer, mongoServer, floorBundlePath] = await Promise.all([
      startTemporalDevServer({ ui: false, log }).then((handle) => {
        defer(() => handle.stop());
        return handle;
      }),
      startMongoServer({ backend: 'memory', log: () => undefined }).then((handle) => {
        defer(() => handle.stop());
        return handle;
      }),
      bundleFloorWorkflows(scratch),
      buildHookrelay(),
    ]);
    const servers = descendants(process.pid);
    const temporalPid = servers.find((p) => p.comm === 'temporal')?.pid;
    const mongoPid = servers.find((p) => p.comm === 'java' || p.comm === 'mongod')?.pid;
    if (temporalPid) sampler.track('temporal-server', temporalPid);
    if (mongoPid) sampler.track('mongodb', mongoPid);
    sampler.track('bench', process.pid);

    const connection = await Connection.connect({ address: temporalServer.address });
    defer(() => connection.close());
    const mongo = await MongoClient.connect(mongoServer.url);
    defer(() => mongo.close());
    const receiver = await startBenchReceiver();
    defer(() => receiver.close());
    const machine = await machineInfo(mongoServer, mongo);
    if (machine.loadAverageAtStart[0]! > 0.5 * machine.cores) {
      log(`warning: load average ${machine.loadAverageAtStart.join(' ')}: other programs are busy, figures will be disturbed`);
    }
    log(`machine: ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, Temporal server ${machine.temporal.server}, MongoDB ${machine.mongo.description}`);

    const encryptionKey = generateEncryptionKey();
    const ctx: BenchContext = {
      profile,
      runTag: randomBytes(3).toString('hex'),
      temporalAddress: temporalServer.address,
      mongoUrl: mongoServer.url,
      temporal: new Client({ connection, namespace: 'default' }),
      mongo,
      receiver,
      sampler,
      floorBundlePath,
      encryptionKey,
      box: createSecretBox(encryptionKey),
      signal,
      log,
      defer,
      observed: {},
    };

    const scenarios: BenchReport['scenarios'] = {};
    const errors: BenchReport['errors'] = {};
    for (const name of order) {
      if (signal.aborted) break;
      log(`── ${name}`);
      try {
        (scenarios as Record<string, unknown>)[name] = await RUNNERS[name](ctx);
      } catch (error) {
        if (signal.aborted) break;
        errors[name] = (error as Error).stack ?? String(error);
        log(`${name} failed: ${(error as Error).message}`);
      }
    }
    if (signal.aborted) throw new Error('interrupted');

    const settings: BenchSettings = {
      devServerDynamicConfig: DEV_SERVER_DYNAMIC_CONFIG,
      devServerGoGc: devServerEnv(process.env).GOGC,
      worker: ctx.observed.workerSettings ?? {},
      connectionsPerOrigin: CONNECTIONS_PER_ORIGIN,
      startConcurrency: 32,
    };
    const report: BenchReport = {
      profile: profile.name,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      durationS: round((performance.now() - t0) / 1000, 1),
      machine,
      settings,
      scenarios,
      errors,
      targets: computeTargets(scenarios),
      maxOtherCpuShare: maxOtherCpuShare(scenarios),
    };
    const markdown = renderMarkdown(report);
    const outDir = options.outDir ?? join(__dirname, '..', 'results');
    mkdirSync(outDir, { recursive: true });
    const base = join(outDir, `${localDate(startedAt)}-${machineName()}${profile.name === 'full' ? '' : `-${profile.name}`}`);
    writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(`${base}.md`, markdown);
    log(`wrote ${base}.json and ${base}.md`);
    return { report, markdown, jsonPath: `${base}.json`, markdownPath: `${base}.md` };
  } finally {
    signal.removeEventListener('abort', onAbort);
    await cleanup();
  }
}

async function machineInfo(mongoServer: MongoServerHandle, mongo: MongoClient): Promise<MachineInfo> {
  const cli = await provisionTemporalCli();
  const versionOutput = (await run(cli, ['--version'])).stdout.trim();
  let mongoVersion = '';
  try {
    mongoVersion = String((await mongo.db('admin').command({ buildInfo: 1 })).version ?? '');
  } catch {
    // not every server answers buildInfo
  }
  const description =
    mongoServer.kind === 'standin'
      ? `${MONGO_STANDIN_VERSION} stand-in, memory backend (reports ${mongoVersion || 'unknown'})`
      : `${mongoServer.kind === 'mongod' ? 'mongod one-node replica set' : 'external (MONGODB_URL)'} ${mongoVersion}`;
  return {
    hostname: hostname(),
    cores: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    os: `${type()} ${release()}`,
    node: process.version,
    temporal: {
      versionOutput,
      server: /Server ([^,)\s]+)/.exec(versionOutput)?.[1] ?? 'unknown',
      ui: /UI ([^,)\s]+)/.exec(versionOutput)?.[1] ?? 'unknown',
      mode: 'in memory, headless',
    },
    mongo: { kind: mongoServer.kind, description },
    loadAverageAtStart: loadavg().map((value) => round(value, 2)),
  };
}

function localDate(date: Date): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

function machineName(): string {
  return hostname().toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'machine';
}

