import type { LinkCounters } from '../ingest/link.js';
import type { LinkState } from './link-watchdog.js';

/** One --listen as status.json, `diode-receive status` and the metrics show it. */
export interface LinkStatus {
  name: string;
  url: string;
  state: LinkState;
  lastHeartbeat: string | null;
  /** Frames this link missed, from the sequence numbers it carried (the stride of a --stripe taken into account). */
  framesLost: number;
  counters: LinkCounters;
}

/** The status of one link, from what it counted and what its watchdog says. */
export function linkStatus(
  link: { spec: { name: string; url: string }; stats: LinkCounters; sequences: { lost: number } },
  watchdog: { state: LinkState; lastHeartbeat: number },
): LinkStatus {
  return {
    name: link.spec.name, url: link.spec.url, state: watchdog.state,
    lastHeartbeat: watchdog.lastHeartbeat ? new Date(watchdog.lastHeartbeat).toISOString() : null,
    framesLost: link.sequences.lost, counters: { ...link.stats, framing: { ...link.stats.framing } },
  };
}

/** One line per link for `diode-receive status`. */
export function formatLinkLines(links: readonly LinkStatus[] | undefined): string[] {
  return (links ?? []).map((l) => {
    const c = l.counters;
    const bad = Object.values(c.framing).reduce((a, b) => a + b, 0);
    return `link ${l.name.padEnd(7)} ${l.state}, ${c.framesReceived} frames (${c.bytesReceived} bytes), ~${l.framesLost} lost, ${c.duplicateFrames} already had, ${bad} bad, last heartbeat ${l.lastHeartbeat ?? 'never'}`;
  });
}

/** Prometheus lines labelled link="NAME": the totals keep their own unlabelled names. */
export function formatLinkMetrics(links: readonly LinkStatus[] | undefined, metric: (name: string, type: 'counter' | 'gauge', help: string, value: number, labels?: string) => void): void {
  for (const l of links ?? []) {
    const label = `{link="${l.name.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"}`;
    metric('link_frames_received_total', 'counter', 'Frames read from this link.', l.counters.framesReceived, label);
    metric('link_bytes_received_total', 'counter', 'Bytes read from this link.', l.counters.bytesReceived, label);
    metric('link_frames_lost_total', 'counter', 'Frames this link missed, from its sequence numbers.', l.framesLost, label);
    metric('link_duplicate_frames_total', 'counter', 'Frames this link brought that had arrived already (by another link).', l.counters.duplicateFrames, label);
    metric('link_heartbeats_total', 'counter', 'Heartbeats this link brought.', l.counters.heartbeats, label);
    metric('link_up', 'gauge', '1 while heartbeats arrive on this link.', l.state === 'up' ? 1 : 0, label);
  }
}
