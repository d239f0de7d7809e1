import { spawn } from 'node:child_process';

export type LinkState = 'unknown' | 'up' | 'down';
export type LinkEvent = 'link-down' | 'link-up' | 'sender-restart';

/** Heartbeats missed before the link is declared down. */
const MISSED_HEARTBEATS = 3;

/**
 * Watches the sender's heartbeats. Three intervals without one: "link down", and the
 * operator's --on-alert command runs (a bell, an LED sign, a ticket); the next one: "link up".
 * A new session id means the sender restarted. The receiver passes on only heartbeats of the newest
 * session (session-order.ts), so a replay of an older session neither flips the session back nor
 * raises an alert, and does not keep the link up: a link that carries only a replay has lost its sender.
 */
export class LinkWatchdog {
  state: LinkState = 'unknown';
  lastHeartbeat = 0;
  private intervalMs = 5_000;
  private sessionId: number | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly onEvent: (event: LinkEvent, detail: Record<string, string | number>) => void,
    private readonly alertCommand?: string,
    /** One of several --listen: its name goes into every event (DIODESYNC_LINK); sender restarts are the whole receiver's to tell. */
    private readonly link?: string,
  ) {
    this.timer = setInterval(() => this.check(Date.now()), 500);
    this.timer.unref();
  }

  heartbeat(sessionId: number, intervalMs: number, host: string, now = Date.now()): void {
    this.lastHeartbeat = now;
    this.intervalMs = Math.max(100, intervalMs);
    if (this.link === undefined && this.sessionId !== undefined && sessionId !== this.sessionId) {
      this.emit('sender-restart', { session: sessionId.toString(16), previous: this.sessionId.toString(16), host });
    }
    this.sessionId = sessionId;
    if (this.state === 'down') this.emit('link-up', { host });
    this.state = 'up';
  }

  check(now: number): void {
    if (this.state === 'up' && now - this.lastHeartbeat > MISSED_HEARTBEATS * this.intervalMs) {
      this.state = 'down';
      this.emit('link-down', { silentSeconds: Math.round((now - this.lastHeartbeat) / 1000) });
    }
  }

  private emit(event: LinkEvent, detail: Record<string, string | number>): void {
    if (this.link !== undefined) detail = { link: this.link, ...detail };
    this.onEvent(event, detail);
    if (!this.alertCommand) return;
    // The command learns what happened from its environment; its output goes to our stderr.
    const child = spawn(this.alertCommand, {
      shell: true,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DIODESYNC_EVENT: event, ...Object.fromEntries(Object.entries(detail).map(([k, v]) => [`DIODESYNC_${k.toUpperCase()}`, String(v)])) },
    });
    child.on('error', () => undefined);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
