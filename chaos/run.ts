// `npm run chaos [-- --profile full|ci] [--seed N] [--report] [--keep]`
// Runs hookrelay's chaos suite (issue 10; see docs/reliability.md) and, with --report,
// regenerates docs/reliability.md from the latest full run's JSON in chaos/results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runChaos } from './lib/harness';
import { PROFILES } from './lib/profiles';
import { RESULTS_DIR, writeScorecard } from './lib/scorecard';

const USAGE = `usage: npm run chaos -- [--profile full|ci] [--seed N] [--report] [--keep] [--events N] [--rate R]

  --profile  full (default: ≥ 10,000 events, ~15 min on 2 cores) or ci (a few hundred, < 5 min)
  --seed     seed of the fault schedule and the receivers' answers (default: random, printed)
  --report   write docs/reliability.md from the latest full run in chaos/results/;
             alone, only that (no run); with --profile, after the run
  --keep     keep the run's scratch folder (role logs, server data) even when it passes
  --events, --rate
             override the profile's event count and insert rate (events/s), to explore what a
             machine sustains; such runs are never written to chaos/results`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      profile: { type: 'string' },
      seed: { type: 'string' },
      report: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      events: { type: 'string' },
      rate: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const reportOnly = values.report && values.profile === undefined && values.seed === undefined;
  if (!reportOnly) {
    const name = values.profile ?? 'full';
    if (!(name in PROFILES)) throw new Error(`unknown profile "${name}"\n${USAGE}`);
    const base = PROFILES[name as keyof typeof PROFILES];
    const custom = values.events !== undefined || values.rate !== undefined;
    const profile = {
      ...base,
      events: values.events === undefined ? base.events : Number(values.events),
      ratePerS: values.rate === undefined ? base.ratePerS : Number(values.rate),
    };
    if (!(profile.events > 0 && profile.ratePerS > 0)) throw new Error(`--events and --rate must be positive numbers\n${USAGE}`);
    const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
    if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed must be a non-negative integer\n${USAGE}`);

    // Ctrl-C: stop every process and server the run started, then leave.
    const controller = new AbortController();
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => (controller.signal.aborted ? process.exit(130) : controller.abort()));
    }
    const result = await runChaos({ profile, seed, log: (line) => console.log(line), signal: controller.signal, keepScratch: values.keep });
    const day = result.startedAt.slice(0, 10);
    const dir = profile.name === 'full' && !custom ? RESULTS_DIR : join(tmpdir(), 'hookrelay-chaos-results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${day}-${profile.name}${custom ? '-custom' : ''}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`\nresult: ${file}`);
    console.log(
      `events ${result.events.inserted}, lost ${result.lost}, stuck ${result.stuck.total}, duplicates ${result.duplicates.deliveries}, ` +
        `API 5xx outside fault windows ${result.api.serverErrorsOutsideFaultWindows}: ${result.passed ? 'PASSED' : 'FAILED'}`,
    );
    if (!result.passed) process.exitCode = 1;
  }
  if (values.report) {
    const written = writeScorecard();
    console.log(`scorecard: ${written.path} (from ${written.source})`);
  }
}

main().catch((error: Error) => {
  console.error(error.stack ?? String(error));
  process.exitCode = 1;
});
