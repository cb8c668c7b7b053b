// `npm run bench [-- --profile smoke] [--only latency,throughput] [--out DIR]`
// Runs hookrelay's benchmark (see docs/performance.md) and prints the Markdown summary.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runBench } from './lib/harness';
import { PROFILES, type Profile } from './lib/profiles';
import { SCENARIOS, type ScenarioName } from './lib/report';

const USAGE = `usage: npm run bench -- [--profile full|smoke] [--only ${SCENARIOS.join(',')}] [--out DIR]

  --profile  full (default, ~20 min) or smoke (seconds per scenario, checks the harness)
  --only     comma-separated scenarios to run (default: all)
  --out      output directory (default: bench/results for full, a temp dir for smoke)`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      profile: { type: 'string', default: 'full' },
      only: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!(values.profile! in PROFILES)) throw new Error(`unknown profile "${values.profile}"\n${USAGE}`);
  const only = values.only?.split(',').map((name) => name.trim()).filter(Boolean);
  for (const name of only ?? []) {
    if (!(SCENARIOS as readonly string[]).includes(name)) throw new Error(`unknown scenario "${name}"\n${USAGE}`);
  }
  const profile = values.profile as Profile['name'];

  // Ctrl-C: stop every child process and server, then leave. A second Ctrl-C leaves at once.
  const controller = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => (controller.signal.aborted ? process.exit(130) : controller.abort()));
  }
  const outcome = await runBench({
    profile,
    only: only as ScenarioName[] | undefined,
    outDir: values.out ?? (profile === 'smoke' ? join(tmpdir(), 'hookrelay-bench-smoke') : undefined),
    signal: controller.signal,
    onInterrupted: () => process.exit(130),
  });
  process.stdout.write(`\n${outcome.markdown}\n`);
  if (Object.keys(outcome.report.errors).length > 0) process.exitCode = 1;
}

main().catch((error: Error) => {
  console.error(error.stack ?? String(error));
  process.exitCode = 1;
});
