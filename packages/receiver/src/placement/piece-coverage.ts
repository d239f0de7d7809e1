import { comparePaths, inPieceRange } from '@diodesync/protocol';

/** A piece's range of paths: after `from`, up to and including `to` (undefined: the tree's start or end). */
export interface PieceRange { from: string | undefined; to: string | undefined }

/** Start bounds, undefined first (the tree's start). */
const compareFrom = (a: string | undefined, b: string | undefined) => (a === b ? 0 : a === undefined ? -1 : b === undefined ? 1 : comparePaths(a, b));
/** End bounds, undefined last (the tree's end). */
const compareTo = (a: string | undefined, b: string | undefined) => (a === b ? 0 : a === undefined ? 1 : b === undefined ? -1 : comparePaths(a, b));
/** True if a range ending at `to` reaches a range starting at `from` (they touch or overlap). */
const reaches = (to: string | undefined, from: string | undefined) => to === undefined || from === undefined || comparePaths(from, to) <= 0;

/**
 * The ranges that manifest pieces applied since start have covered, merged. Pieces of different
 * cycles count together (their boundaries need not line up): a receiver that starts in the
 * middle of a cycle knows the whole tree one cycle later, from the rest of that cycle and the
 * start of the next, instead of waiting for a cycle of its own from the first piece on.
 */
export class PieceCoverage {
  /** Disjoint, in path order, none touching the next. */
  private ranges: PieceRange[] = [];

  add(range: PieceRange): void {
    const all = [...this.ranges, range].sort((a, b) => compareFrom(a.from, b.from));
    const merged: PieceRange[] = [];
    for (const r of all) {
      const last = merged[merged.length - 1];
      if (last && reaches(last.to, r.from)) last.to = compareTo(last.to, r.to) >= 0 ? last.to : r.to;
      else merged.push({ ...r });
    }
    this.ranges = merged;
  }

  /** Every path, from the tree's start to its end. */
  get whole(): boolean {
    const only = this.ranges[0];
    return this.ranges.length === 1 && only!.from === undefined && only!.to === undefined;
  }

  covers(path: string): boolean {
    return this.ranges.some((r) => inPieceRange(path, r.from, r.to));
  }
}
