import { createWriteStream, mkdirSync, renameSync, type WriteStream } from 'node:fs';
import * as path from 'node:path';
import { log } from '../log.js';
import type { ChannelOutlet, OutletCounts } from './channel-outlet.js';

/** A datagram file is closed and a new one started beyond this size, or at the next hour (UTC). */
export const FILE_ROTATE_BYTES = 64 * 1024 * 1024;

/**
 * `--deliver NAME=file:DIR`. Datagrams are appended, one per line, to NAME-YYYYMMDD-HH.log
 * (UTC hour; .1, .2 ... once one passes FILE_ROTATE_BYTES). Each TCP session gets its own
 * NAME-YYYYMMDD-HHMMSS-sN.part, renamed to .log when the session ends whole and to .cut when it
 * lost records: a file named .log is never one with a hole.
 */
export class FileOutlet implements ChannelOutlet {
  readonly description: string;
  private current: { key: string; part: number; bytes: number; out: WriteStream } | undefined;
  private readonly sessions = new Map<number, { file: string; out: WriteStream }>();

  constructor(private readonly dir: string, private readonly channel: string, private readonly counts: OutletCounts) {
    this.description = `file:${dir}`;
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw new RangeError(`cannot use --deliver directory '${dir}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }

  datagram(data: Buffer): void {
    const out = this.datagramFile(data.length + 1);
    out.write(data);
    if (data[data.length - 1] !== 0x0a) out.write('\n');
  }

  open(session: number): void {
    const file = path.join(this.dir, `${this.channel}-${stamp(new Date(), true)}-s${session}.part`);
    const out = this.stream(file);
    this.sessions.set(session, { file, out });
  }

  data(session: number, data: Buffer): void {
    const s = this.sessions.get(session);
    if (s) s.out.write(data);
    else this.counts.deliveryErrors++;
  }

  close(session: number): void {
    this.finish(session, '.log');
  }

  abort(session: number): void {
    this.finish(session, '.cut');
  }

  async stop(): Promise<void> {
    for (const session of [...this.sessions.keys()]) this.finish(session, '.cut');
    const out = this.current?.out;
    this.current = undefined;
    if (out) await new Promise<void>((resolve) => out.end(() => resolve()));
  }

  /** The file this datagram goes to: the hour's, or the next part once the size limit is reached. */
  private datagramFile(bytes: number): WriteStream {
    const key = stamp(new Date(), false);
    const c = this.current;
    if (c && c.key === key && c.bytes + bytes <= FILE_ROTATE_BYTES) {
      c.bytes += bytes;
      return c.out;
    }
    c?.out.end();
    const part = c && c.key === key ? c.part + 1 : 0;
    const file = path.join(this.dir, `${this.channel}-${key}${part ? `.${part}` : ''}.log`);
    this.current = { key, part, bytes, out: this.stream(file) };
    return this.current.out;
  }

  private finish(session: number, suffix: '.log' | '.cut'): void {
    const s = this.sessions.get(session);
    if (!s) return;
    this.sessions.delete(session);
    s.out.end(() => {
      try {
        renameSync(s.file, s.file.slice(0, -'.part'.length) + suffix);
      } catch (err) {
        this.failed(err as NodeJS.ErrnoException);
      }
    });
  }

  private stream(file: string): WriteStream {
    const out = createWriteStream(file, { flags: 'a' });
    out.on('error', (err: NodeJS.ErrnoException) => this.failed(err));
    return out;
  }

  private failed(err: NodeJS.ErrnoException): void {
    this.counts.deliveryErrors++;
    log('stream-deliver-failed', { channel: this.channel, to: this.description, error: err.code ?? err.message });
  }
}

/** UTC YYYYMMDD-HH, or YYYYMMDD-HHMMSS for a session. */
function stamp(d: Date, seconds: boolean): string {
  const iso = d.toISOString().replace(/[-:]/g, '');
  return `${iso.slice(0, 8)}-${iso.slice(9, seconds ? 15 : 11)}`;
}
