import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { machineCpuTicks, type ProcessFootprint, type ProcessSampler } from './process-sampler';
import { round } from './stats';

/** Sampler names of the processes every run uses: the servers and the bench (receiver, inserter). */
export const SHARED_PROCESSES = ['temporal-server', 'mongodb', 'bench'];

export interface ProcessCost extends ProcessFootprint {
  /** CPU seconds this process used per 1,000 deliveries (or floor activities). */
  cpuSPer1000: number;
}

/** CPU and memory of the processes doing a run's work. */
export interface WindowFootprint {
  windowS: number;
  /** The servers, the bench, and the processes under test. */
  processes: Record<string, ProcessCost>;
  /** Those processes together, CPU seconds per 1,000 deliveries. */
  totalCpuSPer1000: number;
  /** Share of the machine's cores those processes kept busy during the window. */
  machineCpuShare: number;
  /**
   * CPU seconds of tracked processes standing by during the run (e.g. the idle hookrelay
   * process while the floor runs); not part of the totals.
   */
  standbyCpuS: Record<string, number>;
  /**
   * Share of the cores busy with anything else (other programs on the machine). Figures
   * from a window where this is high are disturbed.
   */
  otherCpuShare: number;
}

/**
 * Opens a measurement window over the shared processes and `own` (the sampler names of
 * the processes under test); `end(units)` divides their CPU by the units of work done.
 */
export function beginWindow(sampler: ProcessSampler, own: string[]): { end(units: number): WindowFootprint } {
  const phase = sampler.begin();
  const machineBefore = machineCpuTicks();
  const startedAt = performance.now();
  const counted = new Set([...SHARED_PROCESSES, ...own]);
  return {
    end(units) {
      const footprints = phase.end();
      const machineAfter = machineCpuTicks();
      const windowS = (performance.now() - startedAt) / 1000;
      const per1000 = (cpuS: number) => (units > 0 ? round((cpuS * 1000) / units, 3) : Number.NaN);
      const processes: Record<string, ProcessCost> = {};
      const standbyCpuS: Record<string, number> = {};
      let total = 0;
      let standby = 0;
      for (const [name, footprint] of Object.entries(footprints)) {
        const cpuS = Number.isFinite(footprint.cpuS) ? footprint.cpuS : 0;
        if (counted.has(name)) {
          processes[name] = { ...footprint, cpuSPer1000: per1000(footprint.cpuS) };
          total += cpuS;
        } else {
          standbyCpuS[name] = footprint.cpuS;
          standby += cpuS;
        }
      }
      const share = (cpuS: number) => cpuS / (windowS * cpus().length);
      const machineShare = (machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total);
      return {
        windowS: round(windowS, 2),
        processes,
        totalCpuSPer1000: per1000(total),
        machineCpuShare: round(share(total), 3),
        standbyCpuS,
        otherCpuShare: round(Math.max(0, machineShare - share(total) - share(standby)), 3),
      };
    },
  };
}
