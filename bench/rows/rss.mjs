// Row "peak RSS": one random 2 GB file (generated once, in the bench's temp dir), paired, R=1,
// FEC 20+4, one step below the highest intact --rate the paired search found: memory, not speed,
// is measured, in a run that arrives whole.
// The figure is the larger of the two sides; the target holds for each.
import * as path from 'node:path';
import { randomTree, sameFile } from '../lib/files.mjs';
import { transfer } from '../lib/transfer.mjs';
import { belowBestRateM } from './paired.mjs';

export const TARGET_MB = 150;

export async function peakRss(ctx, table) {
  const source = randomTree(ctx, ctx.bigMB * 1e6);
  const rateM = belowBestRateM(ctx, 1500);
  const r = await transfer(ctx, {
    source, check: (dest) => sameFile(source.file, path.join(dest, 'file.bin')),
    senderArgs: ['--rate', `${rateM}m`, '-R', '1', '--fec', '20+4'], timeoutS: Math.max(120, Math.ceil((source.bytes * 8) / (rateM * 1e6) * 4)),
  });
  const peak = Math.max(r.senderRssMB ?? NaN, r.receiverRssMB ?? NaN);
  table.add({
    what: `peak RSS, ${ctx.bigMB.toLocaleString('en')} MB file, paired`, figure: Number.isFinite(peak) ? peak : 'not measured (a side was killed)', unit: 'MB', target: { value: TARGET_MB, atMost: true },
    gbps: r.goodputGbps, senderNs: r.senderNs, receiverNs: r.receiverNs, senderRssMB: r.senderRssMB, receiverRssMB: r.receiverRssMB,
    note: `--rate ${rateM}m; ${r.identical ? 'identical' : `NOT identical (${r.why})`}; figure = the larger side`,
  });
}
