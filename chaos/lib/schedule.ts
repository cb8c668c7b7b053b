import type { Rng } from './rng';
import type { ChaosProfile, RoleName } from './profiles';

export type FaultKind = `kill-${RoleName}` | 'restart-temporal' | 'restart-mongo';

export interface PlannedFault {
  /** When, from the start of the insert phase. */
  atMs: number;
  kind: FaultKind;
  /** Killed roles: how long they stay down before the restart. */
  pauseMs: number;
}

/**
 * The controller's seeded schedule over the insert phase. Each role's kills fall one
 * per equal slot (so a role is back up before its next kill is due); the two server
 * restarts fall in separate thirds of the run, in a seeded order, never at its very
 * start or end.
 */
export function planFaults(
  profile: ChaosProfile,
  rng: Rng,
  durationMs: number,
  options: { restartMongo: boolean },
): PlannedFault[] {
  const faults: PlannedFault[] = [];
  const from = durationMs * 0.05;
  const to = durationMs * 0.92;
  for (const role of Object.keys(profile.kills) as RoleName[]) {
    const count = profile.kills[role];
    const slot = (to - from) / Math.max(count, 1);
    for (let i = 0; i < count; i++) {
      const start = from + i * slot;
      faults.push({
        atMs: Math.round(rng.between(start + slot * 0.1, start + slot * 0.9)),
        kind: `kill-${role}`,
        pauseMs: rng.int(profile.restartPauseMs[0], profile.restartPauseMs[1]),
      });
    }
  }
  const servers: FaultKind[] = rng.next() < 0.5 ? ['restart-temporal', 'restart-mongo'] : ['restart-mongo', 'restart-temporal'];
  servers.forEach((kind, i) => {
    if (kind === 'restart-mongo' && !options.restartMongo) return;
    const start = durationMs * (0.2 + i * 0.35);
    faults.push({ atMs: Math.round(rng.between(start, start + durationMs * 0.25)), kind, pauseMs: 0 });
  });
  return faults.sort((a, b) => a.atMs - b.atMs);
}
