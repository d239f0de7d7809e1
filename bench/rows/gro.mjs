// Row "GRO on" (not a headline): the sender with GSO, the receiver with UDP GRO, at the highest
// intact --rate the paired search found. On loopback a GSO message reaches a GRO socket whole, never
// split into datagrams, so this shows the path's cost without the per-datagram work of a real link.
// Runs only when diode-receive offers GRO (its --help names it); otherwise the row says so.
import * as path from 'node:path';
import { randomTree, sameFile } from '../lib/files.mjs';
import { groArgs } from '../lib/gro-option.mjs';
import { transfer } from '../lib/transfer.mjs';
import { bestRateM } from './paired.mjs';

export async function groOn(ctx, table) {
  const what = `GRO on (not the headline), ${ctx.sizeMB} MB, 1472 B`;
  const receiverArgs = groArgs();
  if (!receiverArgs) return table.add({ what, figure: 'not available (diode-receive --help offers no GRO option)', unit: 'Gb/s' });
  const source = randomTree(ctx, ctx.sizeMB * 1e6);
  const rateM = bestRateM(ctx, 1500);
  const runs = [];
  for (let i = 0; i < ctx.runs; i++) {
    runs.push(await transfer(ctx, {
      source, check: (dest) => sameFile(source.file, path.join(dest, 'file.bin')),
      senderArgs: ['--rate', `${rateM}m`, '-R', '1', '--fec', '20+4', '--io', 'gso'], receiverArgs,
    }));
  }
  const good = runs.filter((r) => r.identical).sort((a, b) => a.goodputGbps - b.goodputGbps);
  const r = good[Math.floor(good.length / 2)];
  table.add({
    what, figure: r ? r.goodputGbps : `no intact run (${runs.at(-1).why})`, unit: 'Gb/s', gbps: r?.goodputGbps,
    senderNs: r?.senderNs, receiverNs: r?.receiverNs, senderRssMB: r?.senderRssMB, receiverRssMB: r?.receiverRssMB,
    note: `receiver ${receiverArgs.join(' ')}; --rate ${rateM}m; ${good.length} of ${runs.length} identical (median shown); io=${runs[0].senderIo}/${runs[0].receiverIo}`,
  });
}
