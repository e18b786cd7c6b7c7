import type { Fault } from './feed';

// A fault band is the time a fault was in force, drawn behind the charts
// and used to mark the cluster map's links.
export interface FaultBand {
  startMs: number;
  endMs: number;
  label: string;
  target?: string;
  // open: nothing has ended it yet (it lasts until the chart's right edge).
  open: boolean;
}

// What ends a fault given without a duration (scenarios/fault.go's actions).
const endedBy: Record<string, string[]> = {
  pause: ['resume'],
  partition: ['heal'],
  delay: ['heal'],
  loss: ['heal'],
  kill: ['restart'],
  drain: ['restart'],
};

// A fault that is over at once (a restart) still gets a sliver of a band,
// this share of the chart's width, so that it can be seen.
export const instantShare = 0.01;

function ends(fault: Fault, later: Fault): boolean {
  if (!(endedBy[fault.action] ?? []).includes(later.action)) {
    return false;
  }
  // A heal without a target heals every partition.
  return later.target === fault.target || (later.action === 'heal' && !later.target);
}

function isEnding(fault: Fault): boolean {
  return fault.action === 'resume' || fault.action === 'heal';
}

// faultBands pairs each fault with what ended it. untilMs is the chart's
// right edge; spanMs its width.
export function faultBands(faults: Fault[], untilMs: number, spanMs: number): FaultBand[] {
  const bands: FaultBand[] = [];
  faults.forEach((fault, i) => {
    if (isEnding(fault)) {
      return;
    }
    const label = fault.target ? `${fault.action} ${fault.target}` : fault.action;
    const base = { startMs: fault.at_ms, label, target: fault.target };
    if (fault.duration_ms) {
      bands.push({ ...base, endMs: fault.at_ms + fault.duration_ms, open: false });
      return;
    }
    const ender = faults.slice(i + 1).find((later) => ends(fault, later));
    if (ender) {
      bands.push({ ...base, endMs: ender.at_ms, open: false });
    } else if (endedBy[fault.action]) {
      bands.push({ ...base, endMs: Math.max(untilMs, fault.at_ms), open: true });
    } else {
      bands.push({ ...base, endMs: fault.at_ms + spanMs * instantShare, open: false });
    }
  });
  return bands;
}

// activeBands are the bands in force at nowMs.
export function activeBands(bands: FaultBand[], nowMs: number): FaultBand[] {
  return bands.filter((band) => band.startMs <= nowMs && (band.open || nowMs < band.endMs));
}
