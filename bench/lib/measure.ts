import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { machineCpuTicks, type ProcessFootprint, type ProcessSampler } from './process-sampler';
import { round } from './stats';

export interface ProcessCost extends ProcessFootprint {
  /** CPU seconds this process used per 1,000 deliveries (or floor activities). */
  cpuSPer1000: number;
}

/** CPU and memory of every tracked process over one run. */
export interface WindowFootprint {
  windowS: number;
  processes: Record<string, ProcessCost>;
  /** All tracked processes together, CPU seconds per 1,000 deliveries. */
  totalCpuSPer1000: number;
  /** Share of the machine's cores the tracked processes kept busy during the window. */
  machineCpuShare: number;
  /**
   * Share of the cores busy with anything else (other programs on the machine). Figures
   * from a window where this is high are disturbed.
   */
  otherCpuShare: number;
}

/** Opens a measurement window; `end(units)` divides the CPU by the units of work done. */
export function beginWindow(sampler: ProcessSampler): { end(units: number): WindowFootprint } {
  const phase = sampler.begin();
  const machineBefore = machineCpuTicks();
  const startedAt = performance.now();
  return {
    end(units) {
      const footprints = phase.end();
      const machineAfter = machineCpuTicks();
      const windowS = (performance.now() - startedAt) / 1000;
      const per1000 = (cpuS: number) => (units > 0 ? round((cpuS * 1000) / units, 3) : Number.NaN);
      const processes: Record<string, ProcessCost> = {};
      let total = 0;
      for (const [name, footprint] of Object.entries(footprints)) {
        processes[name] = { ...footprint, cpuSPer1000: per1000(footprint.cpuS) };
        if (Number.isFinite(footprint.cpuS)) total += footprint.cpuS;
      }
      const trackedShare = total / (windowS * cpus().length);
      const machineShare = (machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total);
      return {
        windowS: round(windowS, 2),
        processes,
        totalCpuSPer1000: per1000(total),
        machineCpuShare: round(trackedShare, 3),
        otherCpuShare: round(Math.max(0, machineShare - trackedShare), 3),
      };
    },
  };
}
