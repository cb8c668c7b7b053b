import type { FootprintResult } from '../scenarios/footprint';
import type { IsolationResult } from '../scenarios/isolation';
import type { LatencyResult } from '../scenarios/latency';
import type { OverloadResult, OverloadRun } from '../scenarios/overload';
import type { ThroughputResult } from '../scenarios/throughput';
import type { WindowFootprint } from './measure';
import type { BacklogRun } from './pipeline';
import type { HistoryShape } from './temporal-history';
import { ratio, round } from './stats';

/**
 * In the order they run: isolation and overload last, they leave workflows behind (a
 * dead endpoint's retries, a slow endpoint's undelivered backlog).
 */
export const SCENARIOS = ['latency', 'throughput', 'footprint', 'isolation', 'overload'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface MachineInfo {
  hostname: string;
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  node: string;
  /** `temporal --version`, and the server/UI versions parsed from it. */
  temporal: { versionOutput: string; server: string; ui: string; mode: string };
  mongo: { kind: string; description: string };
  /** 1, 5 and 15 minute load averages when the run started. */
  loadAverageAtStart: number[];
}

export interface BenchSettings {
  devServerDynamicConfig: string[];
  /** The dev server's GOGC (absent in reports from before it was set). */
  devServerGoGc?: string;
  /** The floor worker's compiled options: hookrelay's (src/temporal/worker.ts), same factory. */
  worker: Record<string, unknown>;
  connectionsPerOrigin: number;
  /** Concurrent workflow starts: the dispatcher's default, and the floor's. */
  startConcurrency: number;
}

export interface TargetCheck {
  id: string;
  target: string;
  measured: number;
  unit: string;
  baseline: number;
  baselineLabel: string;
  /** measured ÷ baseline. */
  ratio: number;
  /** The quantity the target bounds (a ratio, or ms over the floor), and the bound. */
  check: { value: number; label: string; comparison: '<=' | '>='; limit: number };
  met: boolean;
  /** What went wrong in the run the figure comes from (incomplete, duplicates, …). */
  note?: string;
}

export interface BenchReport {
  profile: string;
  startedAt: string;
  finishedAt: string;
  durationS: number;
  machine: MachineInfo;
  settings: BenchSettings;
  scenarios: {
    latency?: LatencyResult;
    throughput?: ThroughputResult;
    isolation?: IsolationResult;
    footprint?: FootprintResult;
    overload?: OverloadResult;
  };
  /** Scenarios that failed, with the error. */
  errors: Partial<Record<ScenarioName, string>>;
  targets: TargetCheck[];
  /** Highest share of the cores other programs used during any measured window. */
  maxOtherCpuShare: number;
}

/** Windows where other programs kept more than this share of the cores busy are flagged. */
export const DISTURBED_SHARE = 0.1;

/** The largest `otherCpuShare` anywhere in the scenarios' measurement windows. */
export function maxOtherCpuShare(scenarios: BenchReport['scenarios']): number {
  let max = 0;
  const visit = (value: unknown): void => {
    if (!value || typeof value !== 'object') return;
    for (const [key, child] of Object.entries(value)) {
      if (key === 'otherCpuShare' && typeof child === 'number' && Number.isFinite(child)) max = Math.max(max, child);
      else visit(child);
    }
  };
  visit(scenarios);
  return max;
}

/** Reference figures of a peer measured on the same machine kind (issue 9); not this run. */
export const CONVOY = { fanOut1EventsPerS: 220, fanOut10DeliveriesPerS: 350 };
const WORKER_RSS_LIMIT_MB = 250;

function satisfied({ value, comparison, limit }: TargetCheck['check']): boolean {
  return Number.isFinite(value) && (comparison === '<=' ? value <= limit : value >= limit);
}

/** What went wrong in a pipeline run, if anything: incomplete, duplicates, failed workflows. */
function problems(run: BacklogRun): string | undefined {
  const notes = [
    run.received < run.expected
      ? `incomplete: ${run.received} of ${run.expected} deliveries`
      : run.complete
        ? ''
        : 'events still unfinished 30 s after the last delivery',
    run.duplicates > 0 ? `${run.duplicates} duplicate deliveries` : '',
    run.unsuccessfulWorkflows > 0 ? `${run.unsuccessfulWorkflows} workflows closed unsuccessfully` : '',
  ].filter(Boolean);
  return notes.length ? notes.join(', ') : undefined;
}

/** How the steady run's events were spaced; reports written before the setting spaced them fixed. */
function spacing(overload: OverloadResult): string {
  const arrivals = overload.slowArrivals;
  return arrivals?.kind === 'poisson' ? `Poisson arrivals, seed ${arrivals.seed}` : 'fixed spacing, as the healthy stream';
}

/** What makes an overload run's figures weaker than they look, if anything. */
function overloadProblems(run: OverloadRun): string | undefined {
  const undelivered = run.overloaded.sent - run.overloaded.received;
  const notes = [
    undelivered > 0 ? `${undelivered} healthy events undelivered at the end, counted with their wait so far` : '',
    run.slow.received === 0 ? 'the slow endpoint received no request' : '',
  ].filter(Boolean);
  return notes.length ? notes.join(', ') : undefined;
}

/** Issue 9's targets, each computed from figures of this run. */
export function computeTargets(scenarios: BenchReport['scenarios']): TargetCheck[] {
  const targets: TargetCheck[] = [];
  const add = (t: Omit<TargetCheck, 'met' | 'ratio'>) =>
    targets.push({
      ...t,
      ratio: round(t.measured / t.baseline, 2),
      met: satisfied(t.check),
    });

  for (const rate of scenarios.latency?.rates ?? []) {
    const p50 = rate.pipeline.latencyMs.p50;
    const floor = rate.floor.latencyMs.p50;
    add({
      id: `latency-p50-${rate.ratePerS}`,
      target: `insert-to-receipt p50 at ${rate.ratePerS} ev/s ≤ floor start-to-activity p50 + 10 ms`,
      measured: p50,
      unit: 'ms',
      baseline: floor,
      baselineLabel: 'floor start-to-activity p50',
      check: { value: round(p50 - floor, 1), label: 'ms over the floor', comparison: '<=', limit: 10 },
    });
  }

  const byFanOut = new Map((scenarios.throughput?.runs ?? []).map((run) => [run.fanOut, run]));
  for (const run of byFanOut.values()) {
    add({
      note: problems(run.pipeline),
      id: `throughput-vs-floor-${run.fanOut}`,
      target: `deliveries/s at fan-out ${run.fanOut} ≥ 0.8 × floor activities/s`,
      measured: run.pipeline.deliveries.steadyPerS,
      unit: 'deliveries/s',
      baseline: run.floor.activities.steadyPerS,
      baselineLabel: `floor activities/s at fan-out ${run.fanOut}`,
      check: { value: run.ratioToFloor, label: '× floor', comparison: '>=', limit: 0.8 },
    });
  }
  const one = byFanOut.get(1);
  if (one) {
    add({
      note: problems(one.pipeline),
      id: 'convoy-fanout-1',
      target: `events/s at fan-out 1 ≥ Convoy's ${CONVOY.fanOut1EventsPerS}`,
      measured: one.pipeline.eventsPerS,
      unit: 'events/s',
      baseline: CONVOY.fanOut1EventsPerS,
      baselineLabel: 'Convoy, one endpoint (reference)',
      check: { value: round(one.pipeline.eventsPerS / CONVOY.fanOut1EventsPerS, 2), label: '× Convoy', comparison: '>=', limit: 1 },
    });
  }
  const ten = byFanOut.get(10);
  if (ten) {
    add({
      note: problems(ten.pipeline),
      id: 'convoy-fanout-10',
      target: `deliveries/s at fan-out 10 ≥ Convoy's ${CONVOY.fanOut10DeliveriesPerS}`,
      measured: ten.pipeline.deliveries.steadyPerS,
      unit: 'deliveries/s',
      baseline: CONVOY.fanOut10DeliveriesPerS,
      baselineLabel: 'Convoy, fan-out 10 (reference)',
      check: {
        value: round(ten.pipeline.deliveries.steadyPerS / CONVOY.fanOut10DeliveriesPerS, 2),
        label: '× Convoy',
        comparison: '>=',
        limit: 1,
      },
    });
  }
  const hundred = byFanOut.get(100);
  if (one && hundred) {
    add({
      note: problems(hundred.pipeline) ?? problems(one.pipeline),
      id: 'fanout-100-vs-1',
      target: 'deliveries/s at fan-out 100 ≥ 5 × fan-out 1',
      measured: hundred.pipeline.deliveries.steadyPerS,
      unit: 'deliveries/s',
      baseline: one.pipeline.deliveries.steadyPerS,
      baselineLabel: 'hookrelay deliveries/s at fan-out 1',
      check: {
        value: round(hundred.pipeline.deliveries.steadyPerS / one.pipeline.deliveries.steadyPerS, 2),
        label: '× fan-out 1',
        comparison: '>=',
        limit: 5,
      },
    });
  }

  const isolation = scenarios.isolation;
  if (isolation) {
    add({
      note: problems(isolation.withDead) ?? problems(isolation.withoutDead),
      id: 'isolation',
      target: `one dead endpoint costs healthy deliveries ≤ 10 % throughput (fan-out ${isolation.fanOut})`,
      measured: isolation.withDead.deliveries.steadyPerS,
      unit: 'deliveries/s',
      baseline: isolation.withoutDead.deliveries.steadyPerS,
      baselineLabel: 'healthy deliveries/s without the dead endpoint',
      check: { value: isolation.throughputRatio, label: '× without', comparison: '>=', limit: 0.9 },
    });
  }

  const overload = scenarios.overload;
  if (overload) {
    const slowLoad = (arriving: string) =>
      `healthy insert-to-receipt p99 at ${overload.healthyRatePerS} ev/s while another endpoint takes ` +
      `${overload.slowHoldS} s per request for ${overload.slowEvents.toLocaleString('en-US')} events ${arriving} ≤ 2 × unloaded p99`;
    add({
      note: overloadProblems(overload.steady),
      id: 'overload-p99',
      target: slowLoad(`arriving at ${overload.slowRatePerS} ev/s (${spacing(overload)})`),
      measured: overload.steady.overloaded.latencyMs.p99,
      unit: 'ms',
      baseline: overload.unloaded.latencyMs.p99,
      baselineLabel: 'healthy p99 alone, same process',
      check: { value: overload.steady.p99Ratio, label: '× unloaded', comparison: '<=', limit: 2 },
    });
    add({
      note: overloadProblems(overload.burst),
      id: 'overload-burst-p99',
      target: slowLoad('inserted in one burst'),
      measured: overload.burst.overloaded.latencyMs.p99,
      unit: 'ms',
      baseline: overload.unloaded.latencyMs.p99,
      // The burst runs in a fresh process; the baseline is the steady run's.
      baselineLabel: 'healthy p99 alone, same run, measured before the steady run',
      check: { value: overload.burst.p99Ratio, label: '× unloaded', comparison: '<=', limit: 2 },
    });
    const shared = overload.shared;
    if (shared) {
      add({
        note: overloadProblems(shared.withSlow),
        id: 'overload-shared-p99',
        target:
          `healthy insert-to-receipt p99 of ${overload.slowEvents.toLocaleString('en-US')} events at ${overload.slowRatePerS} ev/s ` +
          `that also go to an endpoint taking ${overload.slowHoldS} s per request ≤ 2 × the same events' p99 without it`,
        measured: shared.withSlow.overloaded.latencyMs.p99,
        unit: 'ms',
        baseline: shared.alone.latencyMs.p99,
        baselineLabel: 'healthy p99 of as many events at the same rate, healthy endpoint alone, same process',
        check: { value: shared.withSlow.p99Ratio, label: '× alone', comparison: '<=', limit: 2 },
      });
    }
    const maxInFlight = Math.max(
      overload.steady.slow.maxInFlight,
      overload.burst.slow.maxInFlight,
      shared?.withSlow.slow.maxInFlight ?? 0,
    );
    add({
      id: 'overload-endpoint-concurrency',
      target: `slow endpoint's requests in flight ≤ HOOKRELAY_ENDPOINT_CONCURRENCY (${overload.endpointConcurrency}), most of all runs`,
      measured: maxInFlight,
      unit: 'requests',
      baseline: overload.endpointConcurrency,
      baselineLabel: 'HOOKRELAY_ENDPOINT_CONCURRENCY',
      check: { value: maxInFlight, label: 'in flight', comparison: '<=', limit: overload.endpointConcurrency },
    });
  }

  const worker = scenarios.footprint?.worker;
  const start = (scenarios.throughput?.runs ?? []).map((run) => run.pipeline.footprint.processes.hookrelay?.rssPeakMB ?? Number.NaN);
  const workerRss = worker ? worker.rssPeakMB : start.length ? Math.max(...start) : undefined;
  if (workerRss !== undefined) {
    const floorRss =
      scenarios.footprint?.floorWorker.rssPeakMB ??
      Math.max(...(scenarios.throughput?.runs ?? []).map((run) => run.floor.footprint.processes.floor?.rssPeakMB ?? Number.NaN));
    add({
      id: 'worker-rss',
      target: `worker RSS ≤ ${WORKER_RSS_LIMIT_MB} MB at saturation (${worker ? '`hookrelay worker`' : '`hookrelay start`'})`,
      measured: workerRss,
      unit: 'MB',
      baseline: floorRss,
      baselineLabel: 'floor worker process RSS peak',
      check: { value: workerRss, label: 'MB', comparison: '<=', limit: WORKER_RSS_LIMIT_MB },
    });
  }
  return targets;
}

// ---------------------------------------------------------------- Markdown

const FIGURES_START = '<!-- bench:figures:start -->';
const FIGURES_END = '<!-- bench:figures:end -->';

const n = (value: number | undefined, digits = 1) =>
  value === undefined || !Number.isFinite(value) ? '–' : round(value, digits).toLocaleString('en-US');
const pct = (p: { p50: number; p95: number; p99: number }) => `${n(p.p50)} / ${n(p.p95)} / ${n(p.p99)}`;

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}

/** The Markdown summary: machine, targets, and every figure beside its baseline. */
export function renderMarkdown(report: BenchReport): string {
  const m = report.machine;
  const out: string[] = [];
  out.push(`# hookrelay benchmark: ${report.profile} profile, ${report.startedAt.slice(0, 10)}`);
  out.push('');
  out.push(
    `Machine: ${m.cores} cores (${m.cpuModel}), ${n(m.memoryGiB)} GiB, ${m.os}, Node ${m.node}. ` +
      `Temporal: CLI dev server ${m.temporal.server} (UI ${m.temporal.ui}), ${m.temporal.mode}; \`${m.temporal.versionOutput}\`. ` +
      `MongoDB: ${m.mongo.description}.`,
  );
  out.push('');
  out.push(
    `Run: ${report.startedAt} → ${report.finishedAt} (${n(report.durationS / 60)} min). ` +
      `Dev-server dynamic config: ${report.settings.devServerDynamicConfig.map((v) => `\`${v}\``).join(', ')}` +
      (report.settings.devServerGoGc ? `; its Go collector \`GOGC=${report.settings.devServerGoGc}\`. ` : '. ') +
      `Worker (hookrelay's settings, also the floor's): \`${JSON.stringify(report.settings.worker)}\`.`,
  );
  const others = `Other programs used up to ${n(report.maxOtherCpuShare * 100, 0)} % of the cores during the measured runs ` +
    `(load average at the start: ${m.loadAverageAtStart.map((l) => n(l, 2)).join(', ')}).`;
  out.push(
    '',
    report.maxOtherCpuShare > DISTURBED_SHARE
      ? `**Disturbed run:** ${others} Figures are only comparable with a quiet machine; rerun when it is idle.`
      : others,
  );
  for (const [scenario, error] of Object.entries(report.errors)) out.push('', `**${scenario} failed:** ${error.split('\n')[0]}`);
  out.push('', FIGURES_START, '', renderFigures(report), '', FIGURES_END);
  const details = renderDetails(report);
  if (details) out.push('', details);
  return `${out.join('\n')}\n`;
}

/** Targets and the main tables: what docs/performance.md's "Latest figures" holds. */
export function renderFigures(report: BenchReport): string {
  const out: string[] = [];
  const { latency, throughput, isolation, footprint, overload } = report.scenarios;
  if (report.targets.length > 0) {
    out.push('### Targets');
    out.push('');
    out.push(
      table(
        ['target', 'measured', 'baseline (same run)', 'ratio', 'required', 'result'],
        report.targets.map((t) => [
          t.target,
          `${n(t.measured)} ${t.unit}${t.note ? ` (${t.note})` : ''}`,
          `${n(t.baseline)} (${t.baselineLabel})`,
          `${n(t.check.value, 2)} ${t.check.label}`,
          `${t.check.comparison === '<=' ? '≤' : '≥'} ${t.check.limit} ${t.check.label}`,
          t.met ? 'met' : `**missed**`,
        ]),
      ),
    );
  }
  if (latency) {
    out.push('', `### Latency (fan-out 1, open loop, ${latency.durationS} s per rate after ${latency.warmupS} s warm-up; ms p50 / p95 / p99)`);
    out.push('');
    out.push(
      table(
        ['rate', 'hookrelay insert-to-receipt', 'Temporal floor start-to-activity', 'transport floor send-to-receipt', 'hookrelay − floor p50', 'received / sent'],
        latency.rates.map((r) => [
          `${r.ratePerS} ev/s`,
          pct(r.pipeline.latencyMs),
          pct(r.floor.latencyMs),
          pct(r.transport.latencyMs),
          `${n(r.pipeline.latencyMs.p50 - r.floor.latencyMs.p50)} ms`,
          `${r.pipeline.received} / ${r.pipeline.sent}`,
        ]),
      ),
    );
  }
  if (throughput) {
    out.push('', '### Throughput (backlog; steady state = 20 %..90 % of the receipts)');
    out.push('');
    out.push(
      table(
        ['fan-out', 'events', 'hookrelay deliveries/s (events/s)', 'Temporal floor activities/s (workflows/s)', 'ratio to floor', 'transport floor req/s', 'hookrelay CPU s / 1k deliveries (all processes)', 'floor CPU s / 1k activities (all processes)'],
        throughput.runs.map((r) => [
          String(r.fanOut),
          `${r.events}${runNotes(r.pipeline)}`,
          `${n(r.pipeline.deliveries.steadyPerS)} (${n(r.pipeline.eventsPerS)})`,
          `${n(r.floor.activities.steadyPerS)} (${n(r.floor.workflowsPerS)})${r.floor.complete ? '' : ' (incomplete)'}`,
          n(r.ratioToFloor, 2),
          n(throughput.transport.rate.steadyPerS, 0),
          n(r.pipeline.footprint.totalCpuSPer1000, 2),
          n(r.floor.footprint.totalCpuSPer1000, 2),
        ]),
      ),
    );
  }
  if (isolation) {
    out.push('', `### Isolation (fan-out ${isolation.fanOut}, ${isolation.events} events; healthy deliveries only)`);
    out.push('');
    out.push(
      table(
        ['run', 'healthy deliveries/s', 'insert-to-receipt p50 / p95 / p99 ms', 'attempts at the dead endpoint'],
        [
          [
            `without a dead endpoint${runNotes(isolation.withoutDead)}`,
            n(isolation.withoutDead.deliveries.steadyPerS),
            pct(isolation.withoutDead.latencyMs),
            '–',
          ],
          [
            `with one dead endpoint${runNotes(isolation.withDead)}`,
            n(isolation.withDead.deliveries.steadyPerS),
            pct(isolation.withDead.latencyMs),
            String(isolation.withDead.hangingAttempts),
          ],
          ['ratio', n(isolation.throughputRatio, 2), `p99 × ${n(isolation.p99Ratio, 2)}`, ''],
        ],
      ),
    );
  }
  if (overload) out.push('', renderOverload(overload));
  const footprintRows: string[][] = [];
  for (const r of throughput?.runs ?? []) {
    footprintRows.push(footprintRow(`\`hookrelay start\`, fan-out ${r.fanOut}`, r.pipeline.footprint, 'hookrelay', r.pipeline.memory.hookrelay?.rssBeforeMB));
    footprintRows.push(footprintRow(`floor worker, fan-out ${r.fanOut}`, r.floor.footprint, 'floor', r.floor.rssBeforeMB));
  }
  if (footprint) {
    const label = (role: string) => `\`hookrelay ${role}\`, fan-out ${footprint.fanOut}`;
    for (const role of ['worker', 'dispatcher']) {
      footprintRows.push(footprintRow(label(role), footprint.pipeline.footprint, role, footprint.pipeline.memory[role]?.rssBeforeMB));
    }
    footprintRows.push(footprintRow(`floor worker, fan-out ${footprint.fanOut}`, footprint.floor.footprint, 'floor', footprint.floor.rssBeforeMB));
  }
  if (footprintRows.length > 0) {
    out.push('', '### Footprint at saturation (RSS sampled every 250 ms; CPU from /proc utime+stime)');
    out.push('');
    out.push(
      table(
        ['process', 'RSS peak MB', 'RSS idle before the run MB', 'CPU s / 1k deliveries', 'Temporal server CPU s / 1k', 'MongoDB CPU s / 1k'],
        footprintRows,
      ),
    );
  }
  return out.join('\n');
}

/** The overload table: the healthy endpoint alone, then beside the slow endpoint in each run. */
function renderOverload(overload: OverloadResult): string {
  const limit = `HOOKRELAY_ENDPOINT_CONCURRENCY ${overload.endpointConcurrency}`;
  const received = (figures: OverloadResult['unloaded']) => `${figures.received} / ${figures.sent}`;
  const vsAlone = (p99: number) => `× ${n(ratio(p99, overload.unloaded.latencyMs.p99), 2)}`;
  const runRows = (name: string, run: OverloadRun, beside: string, afterDispatch: string, required = true): string[][] => {
    const slow = run.slow;
    const rows = [
      [
        `${name}: ${beside}`,
        pct(run.overloaded.latencyMs),
        `× ${n(run.p99Ratio, 2)}${required ? ' (required ≤ 2)' : ''}`,
        received(run.overloaded),
        `${slow.received} (${slow.answered} answered, ${slow.abandoned} abandoned by the sender, ${slow.held} still held); ` +
          `${slow.dispatched} of ${overload.slowEvents} events dispatched`,
        `${slow.maxInFlight} (${limit})`,
      ],
    ];
    if (run.afterDispatch) {
      rows.push([
        `${name}: … inserted after ${afterDispatch} (from ${n(run.afterDispatch.fromS)} s)`,
        pct(run.afterDispatch.latencyMs),
        vsAlone(run.afterDispatch.latencyMs.p99),
        `${run.afterDispatch.latencyMs.count} of the above`,
        '',
        '',
      ]);
    }
    return rows;
  };
  const rows: string[][] = [
    [
      `healthy endpoint alone (${overload.unloadedS} s after ${overload.warmupS} s warm-up, in the steady run's process; baseline of the runs below)`,
      pct(overload.unloaded.latencyMs),
      '',
      received(overload.unloaded),
      '–',
      '–',
    ],
    ...runRows(
      'control',
      overload.control,
      `beside the steady run's arrivals to an endpoint that answers at once (${overload.overloadS} s; what the extra events cost, without slowness)`,
      'all of them were dispatched',
      false,
    ),
    ...runRows('steady', overload.steady, `beside the slow stream (${overload.overloadS} s from the first slow event)`, 'all slow events were dispatched'),
    ...(overload.burstControl
      ? runRows(
          'burst control',
          overload.burstControl,
          `beside the burst's events to an endpoint that answers at once (fresh process, ${overload.warmupS} s warm-up, ` +
            `then ${overload.overloadS} s from the burst)`,
          'all of them were dispatched',
          false,
        )
      : []),
    ...runRows(
      'burst',
      overload.burst,
      overload.burstControl
        ? `beside the burst (same process, right after its control, ${overload.overloadS} s from the burst)`
        : `beside the burst (fresh process, ${overload.warmupS} s warm-up, then ${overload.overloadS} s from the burst)`,
      'the burst was dispatched',
    ),
  ];
  const shared = overload.shared;
  if (shared) {
    rows.push(
      [
        `shared: ${overload.slowEvents.toLocaleString('en-US')} events at ${overload.slowRatePerS} ev/s to the healthy endpoint alone ` +
          `(fresh process, ${overload.warmupS + overload.slowEvents / overload.slowRatePerS} s warm-up; baseline of the next row)`,
        pct(shared.alone.latencyMs),
        '',
        received(shared.alone),
        '–',
        '–',
      ],
      ...runRows(
        'shared',
        shared.withSlow,
        `${overload.slowEvents.toLocaleString('en-US')} other events at ${overload.slowRatePerS} ev/s to the healthy endpoint and the slow one ` +
          '(ratio: ÷ the row above)',
        '',
      ),
    );
  }
  return [
    `### Overload (healthy endpoint at ${overload.healthyRatePerS} ev/s; slow endpoint: ` +
      `${overload.slowEvents.toLocaleString('en-US')} events per run, each request held ${overload.slowHoldS} s, ` +
      `arriving at ${overload.slowRatePerS} ev/s (${spacing(overload)}) in the steady run and in one burst in the burst run; ` +
      'in the shared run, the slow endpoint and the healthy one both receive them)',
    '',
    table(
      [
        'run',
        'healthy insert-to-receipt p50 / p95 / p99 ms',
        'healthy p99 ÷ alone',
        'healthy received / sent',
        'requests at the other endpoint',
        'other endpoint max in flight',
      ],
      rows,
    ),
    '',
    'Where the 10 slowest healthy events of each run waited (medians, ms): insert to workflow started ' +
      '(change stream, dispatcher, start request); started to its first workflow task picked up by the worker; ' +
      'pick-up to receipt (activations, local activities, the POST).',
    '',
    table(
      ['run', 'dispatch', 'hand-off to the worker', 'in the worker'],
      (
        [
          ['control', overload.control],
          ['steady', overload.steady],
          ['burst control', overload.burstControl],
          ['burst', overload.burst],
          ['shared', shared?.withSlow],
        ] as const
      ).flatMap(([name, run]) =>
        run ? [[name, n(run.slowestWaits?.dispatchMs), n(run.slowestWaits?.handOffMs), n(run.slowestWaits?.inWorkerMs)]] : [],
      ),
    ),
  ].join('\n');
}

/** " (incomplete, 3 duplicate deliveries, …)" when anything went wrong in the run. */
function runNotes(run: BacklogRun): string {
  const notes = problems(run);
  return notes ? ` (${notes})` : '';
}

function footprintRow(label: string, footprint: WindowFootprint, name: string, rssBeforeMB?: number): string[] {
  const process = footprint.processes[name];
  return [
    label,
    n(process?.rssPeakMB, 0),
    n(rssBeforeMB, 0),
    n(process?.cpuSPer1000, 2),
    n(footprint.processes['temporal-server']?.cpuSPer1000, 2),
    n(footprint.processes.mongodb?.cpuSPer1000, 2),
  ];
}

interface DetailRun {
  label: string;
  footprint: WindowFootprint;
  mongoCalls?: Record<string, number>;
  eventLoopUtilization?: Record<string, number>;
  history?: HistoryShape;
}

function detailRuns(report: BenchReport): DetailRun[] {
  const runs: DetailRun[] = [];
  const pipeline = (label: string, run: BacklogRun): DetailRun => ({
    label,
    footprint: run.footprint,
    mongoCalls: run.mongoCallsPerDelivery,
    eventLoopUtilization: run.eventLoopUtilization,
    history: run.history,
  });
  for (const r of report.scenarios.throughput?.runs ?? []) {
    runs.push(pipeline(`hookrelay start, fan-out ${r.fanOut}`, r.pipeline));
    runs.push({ label: `floor, fan-out ${r.fanOut}`, footprint: r.floor.footprint, history: r.floor.history });
  }
  const footprint = report.scenarios.footprint;
  if (footprint) runs.push(pipeline(`hookrelay worker + dispatcher, fan-out ${footprint.fanOut}`, footprint.pipeline));
  const isolation = report.scenarios.isolation;
  if (isolation) runs.push(pipeline(`hookrelay start, fan-out ${isolation.fanOut} + dead endpoint`, isolation.withDead));
  return runs;
}

/** Where time goes: CPU per process and thread, MongoDB calls, history shapes. */
function renderDetails(report: BenchReport): string {
  const runs = detailRuns(report);
  if (runs.length === 0) return '';
  const out: string[] = ['## Where the time goes', ''];
  out.push('CPU seconds per 1,000 deliveries (floor: per 1,000 activities) by process, and the share of the cores the measured processes (and other programs) kept busy during the run.');
  out.push('');
  const names = [...new Set(runs.flatMap((r) => Object.keys(r.footprint.processes)))];
  out.push(
    table(
      ['run', ...names, 'all', 'cores busy'],
      runs.map((r) => [
        r.label,
        ...names.map((name) => n(r.footprint.processes[name]?.cpuSPer1000, 2)),
        n(r.footprint.totalCpuSPer1000, 2),
        `${n(r.footprint.machineCpuShare * 100, 0)} % (+${n(r.footprint.otherCpuShare * 100, 0)} % other programs)`,
      ]),
    ),
  );
  const standby = report.scenarios.throughput?.standby;
  if (standby) {
    const busy = Object.entries(standby.coresBusy)
      .map(([name, cores]) => `${name} ${n(cores * 100, 0)} %`)
      .join(', ');
    out.push(
      '',
      `\`hookrelay start\` standing by with nothing to do (${n(standby.windowS)} s before the first throughput run), ` +
        `share of one core: ${busy}.`,
    );
  }
  out.push(
    '',
    'Node processes by thread, CPU seconds over the run. `main` runs the JavaScript event loop (activities, dispatcher, ' +
      'API); `node` is every other unnamed Node thread (the SDK\'s workflow worker thread, V8 GC and compiler helpers); ' +
      '`tokio-runtime-w` is the SDK core (Rust: gRPC, task state machines).',
    '',
  );
  for (const r of runs) {
    for (const [name, process] of Object.entries(r.footprint.processes)) {
      if (!process.threads) continue;
      const threads = Object.entries(process.threads)
        .slice(0, 6)
        .map(([thread, cpu]) => `${thread} ${n(cpu, 2)}`)
        .join(', ');
      const elu = r.eventLoopUtilization?.[name];
      out.push(`- ${r.label}, ${name}: ${threads}${elu !== undefined ? `; main-thread event-loop utilization ${n(elu * 100, 0)} %` : ''}`);
    }
  }
  out.push('', 'MongoDB calls of the hookrelay processes per delivery (collection.method):', '');
  for (const r of runs) {
    if (!r.mongoCalls) continue;
    const calls = Object.entries(r.mongoCalls)
      .filter(([, count]) => count >= 0.005)
      .sort((a, b) => b[1] - a[1])
      .map(([key, count]) => `${key} ${n(count, 2)}`)
      .join(', ');
    const total = Object.values(r.mongoCalls).reduce((a, b) => a + b, 0);
    out.push(`- ${r.label}: ${n(total, 2)} in all: ${calls}`);
  }
  const histories = runs.filter((r) => r.history);
  out.push('', 'One workflow history per run (the last event\'s / workflow\'s):', '');
  out.push(
    table(
      ['run', 'status', 'history events', 'workflow tasks', 'task timeouts / failures', 'activities', 'local activities', 'timers', 'bytes'],
      histories.map(({ label, history: h }) => [
        label,
        h!.status,
        String(h!.events),
        String(h!.workflowTasks),
        `${h!.workflowTaskTimeouts} / ${h!.workflowTaskFailures}`,
        String(h!.activities),
        String(h!.localActivities),
        String(h!.timers),
        String(h!.bytes),
      ]),
    ),
  );
  for (const { label, history } of histories) {
    if (history!.lastTaskFailure) out.push('', `- ${label}: last workflow task failure: ${history!.lastTaskFailure}`);
  }
  return out.join('\n');
}
