/**
 * Where a channel's records go on the high side, in order: the channel (channel-receiver.ts) has
 * already dropped duplicates, filled what FEC could, and decided which sessions are whole.
 */
export interface ChannelOutlet {
  readonly description: string;
  datagram(data: Buffer): void;
  open(session: number): void;
  data(session: number, data: Buffer): void;
  /** The session ended on the low side: end it cleanly here. */
  close(session: number): void;
  /** The session lost records: cut it (a reset, not a clean end), so nothing downstream takes it as whole. */
  abort(session: number): void;
  stop(): Promise<void>;
}

/** What outlets count, per channel. */
export interface OutletCounts {
  /** Records an outlet could not deliver: the target refused or failed, or the kind does not fit it (a session on a udp:// outlet). */
  deliveryErrors: number;
}
