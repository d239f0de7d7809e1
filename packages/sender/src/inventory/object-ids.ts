/**
 * Object ids on the wire (u32, per sender session), without a table: a file version's is its
 * ledger row id (unique, and the same for every pass of the version); manifests count down from
 * the top of the u32 range, so the two never meet (the receiver only needs ids distinct within a
 * session: see receiver assembly/object-table.ts). 0 is left to frames of no object.
 */
export const FIRST_MANIFEST_ID = 0xffff_ffff;
/** Below this: versions; at or above: manifests (a manifest per cycle: 2^31 of them is never reached). */
export const MANIFEST_IDS_FROM = 0x8000_0000;

export function objectIdOfVersion(versionId: number): number {
  if (versionId <= 0 || versionId >= MANIFEST_IDS_FROM) throw new RangeError(`version id ${versionId} out of the object id range`);
  return versionId;
}

export class ManifestIds {
  private next = FIRST_MANIFEST_ID;

  /** An id no other object of this session has. */
  fresh(): number {
    if (this.next < MANIFEST_IDS_FROM) this.next = FIRST_MANIFEST_ID;
    return this.next--;
  }
}
