import { createHash } from 'node:crypto';
import { hashKnown, type FrameHeader, type HashedHeader, type ObjectHeader } from '@diodesync/protocol';
import type { PartialObject } from './partial-object.js';

/** Wire ids remembered; the oldest go first (a live object's next header copy brings its id back). */
export const MAX_WIRE_IDS = 65_536;
/**
 * Completed objects remembered; the oldest go first, so memory does not grow with the tree. One
 * forgotten is still known: its next header finds the version verified in the mirror's index
 * (`holds`), and is marked completed again.
 */
export const MAX_COMPLETED = 65_536;

/** How frames name their object on the wire: "session:objectId". */
export function wireIdOf(h: FrameHeader): string {
  return `${h.sessionId}:${h.objectId}`;
}

/**
 * Identifies content, not a wire id: a later pass or a restarted sender fills the same partial.
 * Hex of the first 16 bytes, not a slice of the 64-character hex, which would keep that alive too.
 */
export function contentId(h: HashedHeader): string {
  return createHash('sha256')
    .update(`${h.kind}\0${h.path}\0${h.size}\0${h.chunkSize}\0`)
    .update(h.sha256)
    .digest()
    .toString('hex', 0, 16);
}

/**
 * Identifies a sender's file version whose hash follows its data (a first send, read once): its
 * ledger row (`version`) and what the sender saw of the file. A restarted sender's first send of
 * the same version fills the same partial, and the header with the hash (that pass's, or a later
 * one's) finds it.
 */
export function provisionalId(h: ObjectHeader): string {
  return createHash('sha256')
    .update(`hash-follows\0${h.kind}\0${h.path}\0${h.size}\0${h.chunkSize}\0${h.version}\0${h.mtimeNs ?? h.mtimeMs}`)
    .digest()
    .toString('hex', 0, 16);
}

/** The id an object's header gives it: by content once its hash is known. */
export function headerId(h: ObjectHeader): string {
  return hashKnown(h) ? contentId(h) : provisionalId(h);
}

/**
 * A copy of `s` that holds nothing else. A decoded header's path is a slice of one string that the
 * decoder made of all the header's text (about 200 bytes), and a slice keeps its whole parent
 * alive: 65,536 remembered paths held 15 MB. JSON keeps every UTF-16 unit, lone surrogates too.
 */
function ownCopy(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}

/**
 * What the assembler knows of objects, every table bounded: which content a wire id names
 * (the least recently announced go first), the objects being assembled or verified, and the
 * objects completed recently (one per path, the least recently completed go first).
 */
export class ObjectTable {
  /** Wire id -> content id (objects of several sessions may share one). */
  private readonly wireIds = new Map<string, string>();
  /** Objects being assembled, verified and placed, by content id. */
  readonly partials = new Map<string, PartialObject>();
  private readonly completed = new Set<string>();
  /** Path -> content id of completed files, so a file lost from the mirror can be taken again. */
  private readonly completedPaths = new Map<string, string>();
  /** Provisional id -> content id of objects whose hash came after their data: late copies of the header without it. */
  private readonly hashedIds = new Map<string, string>();
  /**
   * The last frame's answer of idOfFrame: frames come in long runs of one object, and building
   * its wire id string and hashing it for the Map cost more than the rest of a frame's routing.
   * `lookedUp` is cleared whenever the wire ids change.
   */
  private lookedUp = false;
  private lastSessionId = 0;
  private lastObjectId = 0;
  private lastId: string | undefined;

  /** The content id a wire id names, if its header has been seen. */
  idOf(wireId: string): string | undefined {
    return this.wireIds.get(wireId);
  }

  /** idOf(wireIdOf(h)), without a string per frame while frames of one object follow each other. */
  idOfFrame(h: FrameHeader): string | undefined {
    if (this.lookedUp && h.objectId === this.lastObjectId && h.sessionId === this.lastSessionId) return this.lastId;
    this.lastId = this.wireIds.get(wireIdOf(h));
    this.lastSessionId = h.sessionId;
    this.lastObjectId = h.objectId;
    this.lookedUp = true;
    return this.lastId;
  }

  /** The id a partial object is listed by now (by content once its hash came), or undefined if it is no longer listed. */
  idOfPartial(partial: PartialObject): string | undefined {
    const id = headerId(partial.header);
    return this.partials.get(id) === partial ? id : undefined;
  }

  /** Complete, or under way: a header copy for it changes nothing. */
  knows(id: string): boolean {
    return this.completed.has(id) || this.partials.has(id);
  }

  isCompleted(id: string): boolean {
    return this.completed.has(id);
  }

  /** The content id a provisional object took once its hash came, if that object is still known. */
  hashedAs(provisional: string): string | undefined {
    const id = this.hashedIds.get(provisional);
    return id !== undefined && this.knows(id) ? id : undefined;
  }

  /** A provisional object is known by its content from now on. */
  rekey(provisional: string, id: string): void {
    this.lookedUp = false;
    if (this.hashedIds.size >= MAX_WIRE_IDS) this.hashedIds.delete(this.hashedIds.keys().next().value!);
    this.hashedIds.set(provisional, id);
    const partial = this.partials.get(provisional);
    if (!partial) return;
    this.partials.delete(provisional);
    this.partials.set(id, partial);
  }

  remember(wireId: string, id: string): void {
    this.lookedUp = false;
    this.wireIds.delete(wireId); // re-inserted last: the oldest are the least recently announced
    if (this.wireIds.size >= MAX_WIRE_IDS) this.wireIds.delete(this.wireIds.keys().next().value!);
    this.wireIds.set(wireId, id);
  }

  markCompleted(id: string, header: ObjectHeader): void {
    this.completed.delete(id); // re-inserted last: the oldest are the least recently completed
    this.completed.add(id);
    if (this.completed.size > MAX_COMPLETED) this.completed.delete(this.completed.keys().next().value!);
    if (header.kind !== 'file') return;
    // A newer version of the path supersedes the older one: forget it, so the set stays as large as the mirror.
    const previous = this.completedPaths.get(header.path);
    if (previous !== undefined && previous !== id) this.completed.delete(previous);
    this.completedPaths.delete(header.path);
    this.completedPaths.set(ownCopy(header.path), id);
    if (this.completedPaths.size > MAX_COMPLETED) this.completedPaths.delete(this.completedPaths.keys().next().value!);
  }

  /** The mirror lost this file (an operator removed it): accept its data again. */
  forgetCompleted(path: string): void {
    const id = this.completedPaths.get(path);
    if (id === undefined) return;
    this.completedPaths.delete(path);
    this.completed.delete(id);
  }
}
