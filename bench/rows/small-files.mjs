// Row "small files": 10,000 files of 4 KiB in 100 directories, paired, R=1, FEC 20+4, at the
// highest intact --rate the paired search found for 1472 B (the start rate if it did not run).
import { sameTree, smallTree } from '../lib/files.mjs';
import { transfer } from '../lib/transfer.mjs';
import { bestRateM } from './paired.mjs';

export const TARGET_FILES_PER_S = 2000;

export async function smallFiles(ctx, table) {
  const count = ctx.smallFiles;
  const dir = smallTree(ctx, count);
  const rateM = bestRateM(ctx, 1500);
  const r = await transfer(ctx, {
    source: { dir, bytes: count * 4096 }, check: (dest) => sameTree(dir, dest),
    senderArgs: ['--rate', `${rateM}m`, '-R', '1', '--fec', '20+4'], timeoutS: Math.max(60, count / 50),
  });
  const what = `paired, ${count.toLocaleString('en')} files of 4 KiB`;
  table.add({
    what, figure: r.identical ? count / r.seconds : `not delivered (${r.why})`, unit: 'files/s', target: { value: TARGET_FILES_PER_S },
    gbps: r.goodputGbps, senderNs: r.senderNs, receiverNs: r.receiverNs, senderRssMB: r.senderRssMB, receiverRssMB: r.receiverRssMB,
    note: `--rate ${rateM}m; ${r.seconds.toFixed(1)} s; ${r.senderFrames ?? '?'} frames sent`,
  });
}
