/**
 * The classic BPF program a capture socket runs in the kernel: it passes only UDP to one port,
 * over IPv4 or IPv6, with or without one 802.1Q tag, whatever the frame's MAC and IP
 * destination, so the reader thread never sees the rest of a busy link. IP fragments are passed
 * too (all non-first fragments, which carry no port): the receiver counts them and says to
 * lower --mtu. Generated here rather than compiled by libpcap, which we do not depend on.
 *
 * Offsets are from the start of the Ethernet frame. (Linux usually moves a VLAN tag out of the
 * frame before a packet socket sees it; the tagged branch covers the cases where it does not.)
 */

/** One instruction, as struct sock_filter: code, jump-if-true, jump-if-false, constant. */
export interface BpfInstruction { code: number; jt: number; jf: number; k: number }

// Opcodes (linux/bpf_common.h), as class | size | mode.
const LDH_ABS = 0x28; // A = 16 bits at [k]
const LDB_ABS = 0x30; // A = 8 bits at [k]
const LDH_IND = 0x48; // A = 16 bits at [X + k]
const LDX_MSH = 0xb1; // X = 4 * ([k] & 0x0f): an IPv4 header's length
const JEQ = 0x15; // A == k ?
const JSET = 0x45; // A & k ?
const RET = 0x06; // accept k bytes (0: drop)

/** Bytes of a frame handed over: all of it. */
const SNAP = 262_144;

type Step = { code: number; k: number; jt?: string; jf?: string; label?: string };

/** Resolves labels into the relative forward jumps classic BPF takes (0 = next instruction). */
function assemble(steps: Step[]): BpfInstruction[] {
  const at = new Map<string, number>();
  steps.forEach((s, i) => s.label && at.set(s.label, i));
  return steps.map((s, i) => {
    const offset = (label: string | undefined) => {
      if (label === undefined) return 0;
      const target = at.get(label);
      if (target === undefined || target <= i || target - i - 1 > 255) throw new Error(`BPF: bad jump to ${label}`);
      return target - i - 1;
    };
    return { code: s.code, jt: offset(s.jt), jf: offset(s.jf), k: s.k >>> 0 };
  });
}

/** IPv4 or IPv6 to UDP `port`, the network header at `net` and the EtherType already in A. */
function network(net: number, port: number, tag: string): Step[] {
  return [
    { code: JEQ, k: 0x0800, jt: `ip4${tag}` }, // IPv4?
    { code: JEQ, k: 0x86dd, jt: `ip6${tag}`, jf: 'drop' }, // IPv6? anything else: drop
    { label: `ip4${tag}`, code: LDB_ABS, k: net + 9 }, // IPv4 protocol
    { code: JEQ, k: 17, jf: 'drop' }, // UDP only
    { code: LDH_ABS, k: net + 6 }, // flags and fragment offset
    { code: JSET, k: 0x1fff, jt: 'accept' }, // a later fragment (no UDP header): pass, to be counted
    { code: LDX_MSH, k: net }, // X = IPv4 header length
    { code: LDH_IND, k: net + 2 }, // UDP destination port, at [X + net + 2]
    { code: JEQ, k: port, jt: 'accept', jf: 'drop' },
    { label: `ip6${tag}`, code: LDB_ABS, k: net + 6 }, // IPv6 next header
    { code: JEQ, k: 17, jt: `udp6${tag}` }, // UDP right after the fixed header?
    { code: JEQ, k: 44, jt: 'accept', jf: 'drop' }, // a fragment header: pass, to be counted
    { label: `udp6${tag}`, code: LDH_ABS, k: net + 40 + 2 }, // UDP destination port
    { code: JEQ, k: port, jt: 'accept', jf: 'drop' },
  ];
}

/** The program for UDP to `port` (0-65535). */
export function udpPortFilter(port: number): BpfInstruction[] {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port ${port} is not 0-65535`);
  return assemble([
    { code: LDH_ABS, k: 12 }, // EtherType
    { code: JEQ, k: 0x8100, jt: 'tagged' }, // an 802.1Q tag?
    ...network(14, port, ''), // untagged: the network header at 14
    { label: 'tagged', code: LDH_ABS, k: 16 }, // the EtherType after the tag
    ...network(18, port, 'v'), // tagged: the network header at 18
    { label: 'accept', code: RET, k: SNAP },
    { label: 'drop', code: RET, k: 0 },
  ]);
}

/** As the addon takes it: four words per instruction. */
export function filterWords(program: BpfInstruction[]): Uint32Array {
  return Uint32Array.from(program.flatMap((i) => [i.code, i.jt, i.jf, i.k]));
}
