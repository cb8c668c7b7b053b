import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runBench } from '../../bench/lib/harness';

// The benchmark's smoke profile (`npm run bench -- --profile smoke`): every scenario and
// baseline runs for seconds on servers the harness starts itself. Only the shape of the
// report is checked, never a timing: figures depend on the machine and its load.

/** Paths (a.b.0.c) under `value` whose value is null or a non-finite number. */
function missingNumbers(value: unknown, path = ''): string[] {
  if (value === null || (typeof value === 'number' && !Number.isFinite(value))) return [path];
  if (typeof value !== 'object') return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, child]) =>
    missingNumbers(child, path ? `${path}.${key}` : key),
  );
}

function finite(value: unknown): boolean {
  return typeof value === 'number' && Number.isFinite(value);
}

describe('benchmark harness, smoke profile', () => {
  const outDir = mkdtempSync(join(tmpdir(), 'hookrelay-bench-smoke-'));
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('writes a report with every scenario, baseline and target, all numbers finite', { timeout: 600_000 }, async () => {
    const progress: string[] = [];
    const outcome = await runBench({ profile: 'smoke', outDir, log: (line) => progress.push(line) });
    const report = JSON.parse(readFileSync(outcome.jsonPath, 'utf8'));

    expect(report.errors, progress.join('\n')).toEqual({});
    expect(report.profile).toBe('smoke');
    expect(finite(report.machine.cores) && finite(report.machine.memoryGiB)).toBe(true);
    expect(report.machine.node).toMatch(/^v\d+/);
    expect(report.machine.temporal.server).toMatch(/^\d+\.\d+/);
    expect(report.machine.mongo.kind).toMatch(/standin|mongod|external/);
    // A run whose event workflows hookrelay itself failed or terminated may have no
    // deliveries to measure; the report says so (unsuccessfulWorkflows, the target's note).
    // Every other figure must be a finite number.
    const failedRuns = (report.scenarios.throughput.runs as Array<{ pipeline: { unsuccessfulWorkflows: number } }>)
      .map((run, i) => (run.pipeline.unsuccessfulWorkflows > 0 ? `throughput.runs.${i}.` : ''))
      .filter(Boolean);
    const unexplained = missingNumbers(report.scenarios).filter((path) => !failedRuns.some((prefix) => path.startsWith(prefix)));
    expect(unexplained).toEqual([]);
    for (const target of report.targets) {
      if (!target.note) expect(missingNumbers(target), target.id).toEqual([]);
    }

    const { latency, throughput, isolation, footprint, overload } = report.scenarios;
    expect(latency.rates.map((r: { ratePerS: number }) => r.ratePerS)).toEqual([10, 50]);
    for (const rate of latency.rates) {
      for (const figures of [rate.pipeline, rate.floor, rate.transport]) {
        expect(figures.latencyMs.count).toBeGreaterThan(0);
        expect([figures.latencyMs.p50, figures.latencyMs.p95, figures.latencyMs.p99].every(finite)).toBe(true);
      }
    }

    expect(throughput.runs.map((r: { fanOut: number }) => r.fanOut)).toEqual([1, 10, 100]);
    expect(finite(throughput.transport.rate.steadyPerS)).toBe(true);
    for (const run of throughput.runs) {
      expect(run.floor.received).toBeGreaterThan(0);
      expect(finite(run.floor.activities.steadyPerS)).toBe(true);
      expect(finite(run.floor.footprint.processes.floor.cpuSPer1000)).toBe(true);
      expect(finite(run.pipeline.footprint.processes.hookrelay.rssPeakMB)).toBe(true);
      if (run.pipeline.unsuccessfulWorkflows > 0) continue; // reported as such; see above
      expect(run.pipeline.received).toBeGreaterThan(0);
      expect([run.pipeline.deliveries.steadyPerS, run.ratioToFloor].every(finite)).toBe(true);
      expect(finite(run.pipeline.footprint.processes.hookrelay.cpuSPer1000)).toBe(true);
      expect(finite(run.pipeline.footprint.processes['temporal-server'].cpuSPer1000)).toBe(true);
    }

    expect(isolation.withoutDead.received).toBeGreaterThan(0);
    expect(isolation.withDead.received).toBeGreaterThan(0);
    expect(isolation.withDead.hangingAttempts).toBeGreaterThan(0);
    expect([isolation.throughputRatio, isolation.p99Ratio, isolation.withDead.latencyMs.p99].every(finite)).toBe(true);

    for (const process of [footprint.worker, footprint.dispatcher, footprint.floorWorker]) {
      expect([process.rssPeakMB, process.cpuSPer1000].every(finite)).toBe(true);
    }

    expect([overload.endpointConcurrency, overload.slowEvents, overload.slowRatePerS].every(finite)).toBe(true);
    const shared = overload.shared!;
    const burstControl = overload.burstControl!;
    for (const figures of [
      overload.unloaded,
      overload.control.overloaded,
      overload.steady.overloaded,
      burstControl.overloaded,
      overload.burst.overloaded,
      shared.alone,
      shared.withSlow.overloaded,
    ]) {
      expect(figures.latencyMs.count).toBeGreaterThan(0);
      expect([figures.latencyMs.p50, figures.latencyMs.p95, figures.latencyMs.p99].every(finite)).toBe(true);
    }
    for (const run of [overload.control, overload.steady, burstControl, overload.burst, shared.withSlow]) {
      expect([run.p99Ratio, run.slow.received, run.slow.maxInFlight, run.slow.dispatched].every(finite)).toBe(true);
      // Read back from the events' documents and workflow histories.
      expect(run.slowestWaits?.events).toBeGreaterThan(0);
      const waits = run.slowestWaits!;
      expect([waits.dispatchMs, waits.handOffMs, waits.inWorkerMs].every(finite)).toBe(true);
    }
    // The control's endpoint answers at once: every event reaches it during its run. The
    // burst control's burst is over the smoke profile's limit (5), so some of it is
    // deferred past the short window; it answers, and never more than once per event.
    expect(overload.control.slow.answered).toBe(overload.slowEvents);
    expect(burstControl.slow.answered).toBeGreaterThan(0);
    expect(burstControl.slow.received).toBeLessThanOrEqual(overload.slowEvents);
    // Each shared run's events all reach the healthy endpoint, and the slow one receives them too.
    expect(shared.alone.measured).toBe(overload.slowEvents);
    expect(shared.alone.received).toBe(shared.alone.sent);
    expect(shared.withSlow.overloaded.measured).toBe(overload.slowEvents);
    expect(shared.withSlow.overloaded.received).toBe(overload.slowEvents);
    expect(shared.withSlow.slow.received).toBeGreaterThan(0);

    expect(report.targets.map((t: { id: string }) => t.id)).toEqual([
      'latency-p50-10',
      'latency-p50-50',
      'throughput-vs-floor-1',
      'throughput-vs-floor-10',
      'throughput-vs-floor-100',
      'convoy-fanout-1',
      'convoy-fanout-10',
      'fanout-100-vs-1',
      'isolation',
      'overload-p99',
      'overload-burst-p99',
      'overload-shared-p99',
      'overload-endpoint-concurrency',
      'worker-rss',
    ]);
    for (const target of report.targets) expect(typeof target.met).toBe('boolean');

    const markdown = readFileSync(outcome.markdownPath, 'utf8');
    expect(markdown).toBe(outcome.markdown);
    for (const heading of ['### Targets', '### Latency', '### Throughput', '### Isolation', '### Overload', '### Footprint', '## Where the time goes']) {
      expect(markdown).toContain(heading);
    }
    expect(markdown).toContain('<!-- bench:figures:start -->');
    expect(markdown).toContain('<!-- bench:figures:end -->');
  });
});
