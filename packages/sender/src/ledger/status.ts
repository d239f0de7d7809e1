/** A version's status, as `ledger list` shows it and `ledger stats` counts it. */
export const STATUSES = ['pending', 'partial', 'sent', 'reset', 'failed', 'superseded', 'gone'] as const;
/**
 * pending: to be sent (never sent, or the sender started without --resume); partial: sent fewer
 * than R times; sent: sent R times; reset: an operator asked for it again; failed: unreadable;
 * superseded: a newer version of the path exists; gone: the path left the source tree.
 */
export type VersionStatus = (typeof STATUSES)[number];

/**
 * The status rule, written once: a current version sent `sends` times counts as 'sent' at R (the
 * @r parameter), 'partial' below, 'pending' at none. SQL over the row, so that every update of a
 * row's sends sets its status in the same statement: `sends` is the SQL for the sends it will hold.
 */
export const statusAfterSends = (sends: string): string =>
  `CASE WHEN ${sends} >= @r THEN 'sent' WHEN ${sends} > 0 THEN 'partial' ELSE 'pending' END`;
