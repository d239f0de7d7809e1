import { printablePath } from '@diodesync/protocol';
import { log } from '../log.js';

/**
 * The audit trail: one log line per file that entered, changed or left the mirror, with its size
 * and SHA-256, so an auditor can say which file arrived when and with what content.
 * placed: a new path; replaced: a new version over an old one; deleted: moved to quarantine;
 * renamed: moved within the mirror; copied: a rename applied as a copy (without --apply-deletes).
 */
export type AuditAction = 'placed' | 'replaced' | 'deleted' | 'renamed' | 'copied';

export interface AuditFields {
  path: string;
  size: number;
  sha256: Buffer;
  /** renamed, copied: the new path. */
  to?: string;
  /** deleted: where the file now lies. */
  quarantine?: string;
  mtimeMs?: number;
}

export function auditFile(action: AuditAction, f: AuditFields): void {
  log(`file-${action}`, {
    path: printablePath(f.path), to: f.to === undefined ? undefined : printablePath(f.to), size: f.size, sha256: f.sha256.toString('hex'),
    mtime: f.mtimeMs === undefined ? undefined : isoOrNumber(f.mtimeMs), quarantine: f.quarantine === undefined ? undefined : printablePath(f.quarantine),
  });
}

function isoOrNumber(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}
