import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { round } from './stats';

/**
 * CPU time and resident memory of processes, read from /proc (Linux): utime + stime
 * from /proc/<pid>/stat, VmRSS / VmHWM from /proc/<pid>/status, per-thread CPU from
 * /proc/<pid>/task/<tid>/stat grouped by thread name.
 */

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

interface StatFields {
  comm: string;
  ppid: number;
  cpuS: number;
}

function readStat(path: string): StatFields | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined; // the process (or thread) is gone
  }
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const rest = text.slice(close + 2).split(' ');
  // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  return {
    comm: text.slice(open + 1, close),
    ppid: Number(rest[1]),
    cpuS: (Number(rest[11]) + Number(rest[12])) / clockTicks(),
  };
}

/** Busy and total CPU ticks of the whole machine so far (first line of /proc/stat). */
export function machineCpuTicks(): { busy: number; total: number } {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0);
    return { busy: total - fields[3]! - fields[4]!, total };
  } catch {
    return { busy: Number.NaN, total: Number.NaN };
  }
}

/** CPU seconds (user + system) the process has used so far; NaN when it is gone. */
export function cpuSeconds(pid: number): number {
  return readStat(`/proc/${pid}/stat`)?.cpuS ?? Number.NaN;
}

/** VmRSS and VmHWM (peak RSS since start) in MB; NaN when the process is gone. */
export function memoryMB(pid: number): { rss: number; hwm: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return { rss: Number.NaN, hwm: Number.NaN };
  }
}

/** CPU seconds per thread name (main thread reported as "main"). */
export function threadCpuSeconds(pid: number): Record<string, number> {
  const byName: Record<string, number> = {};
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return byName;
  }
  for (const tid of tids) {
    const stat = readStat(`/proc/${pid}/task/${tid}/stat`);
    if (!stat) continue;
    const name = tid === String(pid) ? 'main' : stat.comm.replace(/[0-9]+$/, '#');
    byName[name] = (byName[name] ?? 0) + stat.cpuS;
  }
  return byName;
}

/** Processes below `root` (children, grandchildren, …) with their command names. */
export function descendants(root: number): Array<{ pid: number; comm: string }> {
  const children = new Map<number, Array<{ pid: number; comm: string }>>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(`/proc/${entry}/stat`);
    if (!stat) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push({ pid: Number(entry), comm: stat.comm });
    children.set(stat.ppid, list);
  }
  const found: Array<{ pid: number; comm: string }> = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

export interface ProcessFootprint {
  /** CPU seconds used during the phase. */
  cpuS: number;
  /** Highest VmRSS sampled during the phase, MB. */
  rssPeakMB: number;
  /** VmHWM at the end of the phase (peak since process start, start-up included), MB. */
  hwmMB: number;
  /** CPU seconds per thread name during the phase (only for processes tracked with threads). */
  threads?: Record<string, number>;
}

interface Tracked {
  pid: number;
  threads: boolean;
}

/** An open measurement window: CPU deltas and RSS peaks of every tracked process. */
export interface SamplerPhase {
  end(): Record<string, ProcessFootprint>;
}

/**
 * Samples the tracked processes' RSS every `intervalMs` while phases are open; CPU is
 * read at the start and end of each phase (the kernel counts it exactly).
 */
export class ProcessSampler {
  private readonly tracked = new Map<string, Tracked>();
  private readonly open = new Set<{ peaks: Map<string, number> }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly intervalMs = 250) {}

  track(name: string, pid: number, options: { threads?: boolean } = {}): void {
    this.tracked.set(name, { pid, threads: options.threads ?? false });
  }

  untrack(name: string): void {
    this.tracked.delete(name);
  }

  begin(): SamplerPhase {
    const names = [...this.tracked.keys()];
    const startCpu = new Map(names.map((name) => [name, cpuSeconds(this.tracked.get(name)!.pid)]));
    const startThreads = new Map(
      names.filter((name) => this.tracked.get(name)!.threads).map((name) => [name, threadCpuSeconds(this.tracked.get(name)!.pid)]),
    );
    const window = { peaks: new Map<string, number>() };
    this.open.add(window);
    this.sample();
    this.ensureTimer();
    return {
      end: () => {
        this.sample();
        this.open.delete(window);
        if (this.open.size === 0) this.stopTimer();
        const result: Record<string, ProcessFootprint> = {};
        for (const name of names) {
          const tracked = this.tracked.get(name);
          if (!tracked) continue;
          const footprint: ProcessFootprint = {
            cpuS: round(cpuSeconds(tracked.pid) - startCpu.get(name)!, 2),
            rssPeakMB: round(window.peaks.get(name) ?? Number.NaN, 1),
            hwmMB: round(memoryMB(tracked.pid).hwm, 1),
          };
          const before = startThreads.get(name);
          if (before) {
            const after = threadCpuSeconds(tracked.pid);
            footprint.threads = Object.fromEntries(
              Object.entries(after)
                .map(([thread, cpu]) => [thread, round(cpu - (before[thread] ?? 0), 2)] as const)
                .filter(([, cpu]) => cpu > 0)
                .sort((a, b) => b[1] - a[1]),
            );
          }
          result[name] = footprint;
        }
        return result;
      },
    };
  }

  stop(): void {
    this.open.clear();
    this.stopTimer();
  }

  private sample(): void {
    for (const [name, { pid }] of this.tracked) {
      const { rss } = memoryMB(pid);
      if (!Number.isFinite(rss)) continue;
      for (const window of this.open) window.peaks.set(name, Math.max(window.peaks.get(name) ?? 0, rss));
    }
  }

  private ensureTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
