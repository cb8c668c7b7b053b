// The chaos run's CI profile (issue 10, chaos/): a few hundred events through real role
// processes while the worker, the dispatcher and the API are kill -9'd and the Temporal
// and MongoDB servers restart, with receivers failing 30 % of attempts. It starts its own
// servers (it restarts them), so it does not use the global setup's.
import { describe, expect, it } from 'vitest';
import { runChaos } from '../../chaos/lib/harness';
import { PROFILES } from '../../chaos/lib/profiles';

const SEED = 20_261_127;

describe('chaos run, CI profile', () => {
  it(
    'loses nothing and leaves nothing stuck through kills, server restarts and faulty receivers',
    async () => {
      const lines: string[] = [];
      const result = await runChaos({
        profile: PROFILES.ci,
        seed: SEED,
        log: (line) => {
          lines.push(line);
          if (process.env.CHAOS_VERBOSE) console.log(line);
        },
      });
      const context = `\n${lines.slice(-40).join('\n')}\nfailures: ${result.failures.join('; ')}`;
      console.log(
        `chaos ci (seed ${SEED}): ${result.events.inserted} events, ${result.deliveries.attemptsReceived} attempts, ` +
          `${result.faults.timeline.length} kills/restarts, lost ${result.lost}, stuck ${result.stuck.total}, ` +
          `duplicates ${result.duplicates.deliveries}, API 5xx ${JSON.stringify(result.api.serverErrorStatuses)}, ${result.durationS} s`,
      );

      // Faults were really injected: each role killed, both servers restarted, receivers failing.
      expect(result.faults.injected['kill -9 worker'], context).toBe(PROFILES.ci.kills.worker);
      expect(result.faults.injected['kill -9 dispatcher'], context).toBe(PROFILES.ci.kills.dispatcher);
      expect(result.faults.injected['kill -9 api'], context).toBe(PROFILES.ci.kills.api);
      expect(result.faults.injected['Temporal server restart'], context).toBe(1);
      if (!process.env.MONGODB_URL) expect(result.faults.injected['MongoDB server restart'], context).toBe(1);
      expect(Object.values(result.faults.receiver).reduce((a, b) => a + b, 0), context).toBeGreaterThan(0);

      // The invariants.
      expect(result.events.inserted, context).toBe(PROFILES.ci.events);
      expect(result.lost, context).toBe(0);
      expect(result.stuck.total, context).toBe(0);
      expect(result.stuck.openWorkflows, context).toBe(0);
      expect(result.events.byStatus, context).toEqual({ delivered: PROFILES.ci.events });
      expect(result.deliveries.records, context).toBe(result.deliveries.expected);
      expect(result.deliveries.byStatus, context).toEqual({ delivered: result.deliveries.expected });
      expect(result.deliveries.badRequests, context).toBe(0);
      expect(result.api.serverErrorsOutsideFaultWindows, context).toBe(0);
      expect(result.unexpectedExits.filter((exit) => exit.phase === 'running'), context).toEqual([]);
      expect(result.failures, context).toEqual([]);
      expect(result.passed).toBe(true);
    },
    10 * 60_000,
  );
});
