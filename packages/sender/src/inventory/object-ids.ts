/**
 * Object ids on the wire, per session, from 1. Input: the ledger ids of a scan's versions; output:
 * their object ids. A version keeps its id while it is current; a manifest takes a fresh one.
 */
export class ObjectIds {
  private next = 1;
  private byVersion = new Map<number, number>();

  /** An id no other object of this session has. */
  fresh(): number {
    return this.next++;
  }

  /** The object ids of these versions, in order; versions no longer current lose theirs. */
  assign(versionIds: readonly number[]): number[] {
    const kept = new Map<number, number>();
    const ids = versionIds.map((versionId) => {
      const id = this.byVersion.get(versionId) ?? this.next++;
      kept.set(versionId, id);
      return id;
    });
    this.byVersion = kept;
    return ids;
  }
}
