// Row "capture" (issue 16): the same paired transfer (R=1, FEC 20+4) at the same --rate (one step
// below the paired search's best), received once from a UDP socket and once from a promiscuous
// packet capture on lo (capture://lo:PORT), so the two receive paths are compared on one machine in
// one sitting. On lo the capture sees the
// frames the sender sends to 127.0.0.1:PORT; a UDP socket of the bench's own holds that port (and
// is never read), so the kernel has somewhere to deliver them and sends no ICMP refusals back.
import * as dgram from 'node:dgram';
import * as path from 'node:path';
import { randomTree, sameFile } from '../lib/files.mjs';
import { transfer } from '../lib/transfer.mjs';
import { belowBestRateM } from './paired.mjs';

export async function captureVsUdp(ctx, table) {
  if (process.getuid?.() !== 0) {
    table.add({ what: 'capture vs UDP receive', figure: 'not available (capture needs root or CAP_NET_RAW)', unit: '' });
    return;
  }
  const source = randomTree(ctx, ctx.sizeMB * 1e6);
  const rateM = belowBestRateM(ctx, 1500);
  const senderArgs = ['--rate', `${rateM}m`, '-R', '1', '--fec', '20+4'];
  const check = (dest) => sameFile(source.file, path.join(dest, 'file.bin'));
  const holder = dgram.createSocket({ type: 'udp4', recvBufferSize: 4096 });
  await new Promise((resolve) => holder.bind(0, '127.0.0.1', resolve));
  const port = holder.address().port;
  try {
    for (const [what, listen] of [['UDP socket', 'udp://127.0.0.1:0'], ['capture://lo', `capture://lo:${port}`]]) {
      const runs = [];
      for (let i = 0; i < ctx.runs; i++) {
        const r = await transfer(ctx, { source, check, senderArgs, listen });
        console.log(`  ${what} run ${i + 1}: ${r.identical ? 'identical' : `NOT identical (${r.why})`}, ${r.goodputGbps.toFixed(2)} Gb/s, receiver ${Math.round(r.receiverNs ?? NaN)} ns/frame`);
        runs.push(r);
      }
      const intact = runs.filter((r) => r.identical);
      const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      const best = intact.length > 0 ? median(intact.map((r) => r.goodputGbps)) : 'none intact';
      table.add({
        what: `receive from ${what}, paired, ${ctx.sizeMB} MB, --rate ${rateM}m`, figure: best, unit: 'Gb/s',
        gbps: typeof best === 'number' ? best : undefined,
        senderNs: median(runs.map((r) => r.senderNs ?? NaN)), receiverNs: median(runs.map((r) => r.receiverNs ?? NaN)),
        receiverRssMB: median(runs.map((r) => r.receiverRssMB ?? NaN)),
        note: `${intact.length} of ${runs.length} intact; median of the intact runs`,
      });
    }
  } finally {
    holder.close();
  }
}
