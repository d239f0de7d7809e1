/*
 * The receiver: its stages, put together. Each stage is one folder; arrows are the data.
 *
 *   transport         ingest/udp-source (+ udp-reader-thread), ingest/stream-source (TCP, stdin)
 *       │ datagrams; frames cut from a byte stream
 *       ▼
 *   ingest            FrameIntake: decode, count, authenticate, newest sender session only,
 *       │             payloads decoded once                 ├─ heartbeats ──▶ onHeartbeat (watchdog)
 *       │ object headers, data, parity                      └─ deletes, renames ──▶ placement/ChangeQueue
 *       ▼
 *   assembly          Assembler: Admission (paths, limits), ObjectTable (wire ids, partials, completed),
 *       │             ChunkRouter (ByteBudget, FecRepair, early and held frames), PartialObject
 *       │             (temp file, bitmap, checkpoint), recovery after a restart
 *       │ complete objects                      ▲ verdict: unwritten → resume; spoilt → restart (the frames
 *       ▼                                       │ held meanwhile start a fresh copy); placed, in-place,
 *   placement         Placement.verify ─────────┘ manifest, failed → forget the partial
 *                     (SHA-256 read back, one in-place check, rename), SyncTracker, ChangeApplier
 *
 *   operations        Maintenance ticks the assembly (flush, checkpoint, expire); status, metrics,
 *                     watchdog and report read the counters and the stages (wired in cli.ts).
 */
import type { Frame, Heartbeat, StreamRecord } from '@diodesync/protocol';
import { Assembler, type AssemblerSettings, type ExpiredObject } from './assembly/assembler.js';
import type { ByteBudget } from './assembly/byte-budget.js';
import type { PartialObject } from './assembly/partial-object.js';
import { newCounters, type ReceiverCounters } from './counters.js';
import { FrameIntake, type IntakeLink, type IntakeSettings } from './ingest/frame-intake.js';
import type { SequenceTracker } from './ingest/sequence-tracker.js';
import { Maintenance } from './operations/maintenance.js';
import type { ChangeApplier } from './placement/change-applier.js';
import { ChangeQueue } from './placement/change-queue.js';
import type { DestTree } from './placement/dest-tree.js';
import { Placement } from './placement/placement.js';
import type { SyncTracker } from './placement/sync-tracker.js';

export interface ReceiverConfig extends AssemblerSettings, IntakeSettings {
  /** Called each time the mirror matches the latest manifest. */
  onSynced?: () => void;
  /** Called after each manifest has been compared with the mirror. */
  onManifest?: () => void;
  /** Applies delete and rename announcements; without it they are counted as unsupported. */
  changes?: ChangeApplier;
  /** Called for each valid heartbeat of the newest sender session (the link watchdog listens). */
  onHeartbeat?: (sessionId: number, heartbeat: Heartbeat) => void;
  /** Pass-through stream records (streams/StreamDelivery); without it they are counted as unsupported. */
  onStream?: (senderSession: number, record: StreamRecord, raw: Buffer) => void;
}

/** The receiving pipeline after the transport: frames in, verified files in the mirror out. */
export class Receiver {
  readonly counters: ReceiverCounters = newCounters();
  private readonly intake: FrameIntake;
  private readonly assembler: Assembler;
  private readonly placement: Placement;
  private readonly maintenance: Maintenance;

  constructor(
    private readonly config: ReceiverConfig,
    dest: DestTree,
    private readonly sync: SyncTracker,
  ) {
    this.placement = new Placement(this.counters, dest, sync);
    this.assembler = new Assembler(config, this.counters, this.placement, (id, partial) => this.place(id, partial));
    const changes = config.changes && new ChangeQueue(config.changes, this.counters, this.placement, sync, {
      settled: () => this.assembler.settle(),
      forget: (path) => this.assembler.table.forgetCompleted(path),
    });
    this.intake = new FrameIntake(this.counters, config, this.assembler, {
      heartbeat: config.onHeartbeat,
      change: changes && ((change) => changes.push(change)),
      stream: config.onStream,
    });
    this.maintenance = new Maintenance((now, checkpoint) => this.assembler.tick(now, checkpoint));
  }

  /** Picks up the partial objects an earlier run checkpointed, counts the mirror's files, measures free space. */
  async init(): Promise<void> {
    await this.assembler.start();
    await this.placement.start();
    await this.assembler.refreshLimits();
  }

  /** One datagram = one superframe; `link`: which of several --listen it came by. */
  handleDatagram(datagram: Buffer, link?: IntakeLink): void {
    this.intake.datagram(datagram, link);
  }

  /** A frame a stream deframer cut. */
  handleFrame(frame: Frame, link?: IntakeLink): void {
    this.intake.frame(frame, link);
  }

  /** A complete object through placement, and its verdict back to the assembly. */
  private async place(id: string, partial: PartialObject): Promise<void> {
    const verdict = await this.placement.verify(partial);
    if (verdict.kind === 'unwritten') return this.assembler.resume(id, partial);
    if (verdict.kind === 'failed') return this.assembler.drop(id, partial);
    try {
      switch (verdict.kind) {
        case 'spoilt':
          return await this.assembler.restart(id, partial);
        case 'manifest':
          await this.assembler.drop(id, partial);
          await this.placement.applyManifest(verdict.file);
          this.config.onManifest?.();
          break;
        case 'in-place':
          await this.assembler.inPlace(id, partial);
          break;
        case 'placed':
          await this.assembler.placed(id, partial);
          this.placement.record(partial.header);
          break;
      }
      if (this.sync.synced) this.config.onSynced?.();
    } catch (err) {
      this.placement.failed(partial.header, err);
      await this.assembler.drop(id, partial);
    }
  }

  /** The mirror lost this file (an operator removed it): accept its data again. */
  forgetCompleted(path: string): void {
    this.assembler.table.forgetCompleted(path);
  }

  /** Frames lost on the link, estimated from sequence numbers. */
  get sequences(): SequenceTracker {
    return this.intake.sequences;
  }

  /** Chunks not yet on disk plus parity held: what --max-buffer bounds. */
  get budget(): ByteBudget {
    return this.assembler.budget;
  }

  get partialCount(): number {
    return this.assembler.partialCount;
  }

  /** Objects still being assembled, for status and the report. */
  partialSummary(): ReturnType<Assembler['summary']> {
    return this.assembler.summary();
  }

  /** Partial objects given up after --partial-ttl, for the report. */
  get expired(): ExpiredObject[] {
    return this.assembler.expired;
  }

  /** Waits for objects being verified and placed. */
  settle(): Promise<void> {
    return this.assembler.settle();
  }

  /** Stops, leaving every partial object checkpointed for the next run. */
  async close(): Promise<void> {
    this.maintenance.stop();
    await this.assembler.stop();
  }
}
