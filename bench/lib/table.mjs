// The rows the bench prints: each with its figure, the target and the ratio, the CPU
// nanoseconds per frame of each side, Gb/s and peak RSS; a Markdown table at the end.

export class Table {
  rows = [];

  /**
   * `figure` is a number (or a string saying why there is none: `not available (why)`), in `unit`;
   * `target` { value, atMost? } is the goal for it.
   */
  add({ what, figure, unit, target, senderNs, receiverNs, gbps, senderRssMB, receiverRssMB, note = '' }) {
    const numeric = typeof figure === 'number' && Number.isFinite(figure);
    const ratio = numeric && target ? figure / target.value : undefined;
    const met = ratio === undefined ? undefined : target.atMost ? ratio <= 1 : ratio >= 1;
    const row = { what, figure, unit, target, ratio, met, senderNs, receiverNs, gbps, senderRssMB, receiverRssMB, note };
    this.rows.push(row);
    console.log(`${what}: ${cells(row).slice(1).join(' | ')}`);
    return row;
  }

  markdown() {
    const head = ['row', 'figure', 'target', 'ratio', 'sender CPU ns/frame', 'receiver CPU ns/frame', 'Gb/s', 'peak RSS sender / receiver', 'note'];
    return [
      `| ${head.join(' | ')} |`,
      `|${head.map(() => '---').join('|')}|`,
      ...this.rows.map((r) => `| ${cells(r).map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`),
    ].join('\n');
  }
}

const num = (x, digits) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : '-');

function cells(r) {
  const figure = typeof r.figure === 'number' ? `${num(r.figure, r.figure >= 100 ? 0 : 2)} ${r.unit}` : r.figure;
  const target = r.target ? `${r.target.atMost ? '<=' : '>='} ${r.target.value} ${r.unit}` : '-';
  const ratio = r.ratio === undefined ? '-' : `${r.ratio.toFixed(2)} (${r.met ? 'met' : 'missed'})`;
  const rss = r.senderRssMB === undefined && r.receiverRssMB === undefined ? '-' : `${num(r.senderRssMB, 0)} / ${num(r.receiverRssMB, 0)} MB`;
  return [r.what, figure, target, ratio, num(r.senderNs, 0), num(r.receiverNs, 0), num(r.gbps, 2), rss, r.note];
}
