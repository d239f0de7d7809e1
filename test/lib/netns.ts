import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs `ip ARGS...` (iproute2) and returns its stdout; throws with its stderr on failure. */
export async function ip(...args: string[]): Promise<string> {
  return (await run('ip', args)).stdout;
}

/** Runs a command inside a network namespace. */
export async function inNetns(ns: string, ...command: string[]): Promise<string> {
  return ip('netns', 'exec', ns, ...command);
}

/** Why network namespaces cannot be made here (not root, a kernel or container that refuses), or undefined if they can. */
export async function netnsRefusal(probe: string): Promise<string | undefined> {
  try {
    await ip('netns', 'add', probe);
    await ip('netns', 'del', probe);
    return undefined;
  } catch (err) {
    return `cannot create a network namespace (${((err as { stderr?: string }).stderr ?? String(err)).trim()})`;
  }
}

/** Counters of one interface, as the kernel keeps them. */
export async function linkStats(ns: string, dev: string): Promise<{ rxPackets: number; txPackets: number }> {
  const [link] = JSON.parse(await ip('-n', ns, '-s', '-j', 'link', 'show', dev)) as { stats64: { rx: { packets: number }; tx: { packets: number } } }[];
  return { rxPackets: link!.stats64.rx.packets, txPackets: link!.stats64.tx.packets };
}

/** Packets a root qdisc let out and dropped (`tc -s -j qdisc show`). */
export async function qdiscStats(ns: string, dev: string): Promise<{ kind: string; sent: number; dropped: number }> {
  const qdiscs = JSON.parse(await inNetns(ns, 'tc', '-s', '-j', 'qdisc', 'show', 'dev', dev)) as { kind: string; root?: boolean; packets: number; drops: number }[];
  const root = qdiscs.find((q) => q.root) ?? qdiscs[0]!;
  return { kind: root.kind, sent: root.packets, dropped: root.drops };
}
