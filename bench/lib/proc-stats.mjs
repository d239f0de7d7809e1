// A running process seen from outside, through /proc (Linux): its CPU time so far (user + system,
// every thread) and its memory (VmRSS now, VmHWM the kernel's peak), sampled on a timer so that a
// peak between two samples of VmRSS still shows in VmHWM.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/PID/stat's utime and stime (100 on every Linux we run on). */
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/** utime + stime of `pid` in seconds (every thread), or undefined once the process is gone. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // fields 14 and 15 of the whole line
  } catch {
    return undefined;
  }
}

/** { rssMB, hwmMB } of `pid` from /proc/PID/status, or undefined once the process is gone. */
export function memory(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
    const m = { rssMB: kb('VmRSS') / 1024, hwmMB: kb('VmHWM') / 1024 };
    // A process that has exited but not been reaped (a zombie) has no Vm lines: it is gone.
    return Number.isFinite(m.rssMB) ? m : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Samples a process's memory every `everyMs` until stopped: the largest VmRSS seen and the last
 * VmHWM read (the kernel's own peak, which catches what falls between two samples).
 * `reset()` starts a new window for the RSS maximum (VmHWM cannot be reset from outside).
 */
export class MemorySampler {
  maxRssMB = NaN;
  hwmMB = NaN;
  lastRssMB = NaN;
  samples = 0;

  constructor(pid, everyMs = 500) {
    this.pid = pid;
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
    this.sample();
  }

  sample() {
    const m = memory(this.pid);
    if (!m) return;
    this.samples++;
    this.lastRssMB = m.rssMB;
    this.hwmMB = m.hwmMB;
    if (!(m.rssMB <= this.maxRssMB)) this.maxRssMB = m.rssMB;
  }

  /** The figures so far: { maxRssMB, hwmMB, lastRssMB, samples }. */
  read() {
    this.sample();
    return { maxRssMB: this.maxRssMB, hwmMB: this.hwmMB, lastRssMB: this.lastRssMB, samples: this.samples };
  }

  reset() {
    this.maxRssMB = NaN;
    this.sample();
  }

  stop() {
    clearInterval(this.timer);
  }
}
