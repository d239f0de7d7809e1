// The capture filter (run here by a small classic-BPF interpreter, then by the kernel) and the
// packet socket on loopback: real sockets, root only (CAP_NET_RAW).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { captureIo, filterWords, openCapture, udpPortFilter, type BpfInstruction } from './index.js';

/** Runs a classic BPF program over `packet` as the kernel would: the bytes it keeps (0 = drop). */
function runBpf(program: BpfInstruction[], packet: Buffer): number {
  let a = 0;
  let x = 0;
  for (let pc = 0; pc < program.length; pc++) {
    const { code, jt, jf, k } = program[pc]!;
    const load = (at: number, size: number) => {
      if (at + size > packet.length) throw new Error('out of packet'); // the kernel drops the packet
      return size === 1 ? packet[at]! : packet.readUInt16BE(at);
    };
    try {
      switch (code) {
        case 0x28: a = load(k, 2); break;
        case 0x30: a = load(k, 1); break;
        case 0x48: a = load(x + k, 2); break;
        case 0xb1: x = (load(k, 1) & 0x0f) * 4; break;
        case 0x15: pc += a === k ? jt : jf; break;
        case 0x45: pc += (a & k) !== 0 ? jt : jf; break;
        case 0x06: return k;
        default: throw new Error(`opcode 0x${code.toString(16)} not interpreted`);
      }
    } catch (err) {
      if ((err as Error).message === 'out of packet') return 0;
      throw err;
    }
  }
  throw new Error('fell off the end of the program');
}

function udp(port: number, body = 'x'): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(1234, 0);
  h.writeUInt16BE(port, 2);
  h.writeUInt16BE(8 + body.length, 4);
  return Buffer.concat([h, Buffer.from(body)]);
}
function ip4(body: Buffer, protocol = 17, flagsOffset = 0, options = 0): Buffer {
  const h = Buffer.alloc(20 + options);
  h[0] = 0x40 | ((20 + options) / 4);
  h.writeUInt16BE(h.length + body.length, 2);
  h.writeUInt16BE(flagsOffset, 6);
  h[9] = protocol;
  return Buffer.concat([h, body]);
}
function ip6(body: Buffer, next = 17): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(body.length, 4);
  h[6] = next;
  return Buffer.concat([h, body]);
}
function eth(ip: Buffer, vlan = false, type = ip[0]! >> 4 === 6 ? 0x86dd : 0x0800): Buffer {
  const head = Buffer.alloc(vlan ? 18 : 14, 0x02);
  if (vlan) head.writeUInt16BE(0x8100, 12);
  head.writeUInt16BE(type, head.length - 2);
  return Buffer.concat([head, ip]);
}

test('the BPF filter passes UDP to the port (IPv4 with or without options, IPv6; tagged or not) and fragments; nothing else', () => {
  const program = udpPortFilter(36016);
  for (const vlan of [false, true]) {
    assert.ok(runBpf(program, eth(ip4(udp(36016)), vlan)) > 0);
    assert.ok(runBpf(program, eth(ip4(udp(36016), 17, 0, 8), vlan)) > 0, 'IPv4 options move the UDP header');
    assert.ok(runBpf(program, eth(ip6(udp(36016)), vlan)) > 0);
    assert.equal(runBpf(program, eth(ip4(udp(53)), vlan)), 0);
    assert.equal(runBpf(program, eth(ip6(udp(53)), vlan)), 0);
    assert.equal(runBpf(program, eth(ip4(udp(36016), 6), vlan)), 0, 'TCP');
    assert.equal(runBpf(program, eth(ip6(udp(36016), 6), vlan)), 0);
    assert.equal(runBpf(program, eth(Buffer.alloc(28), vlan, 0x0806)), 0, 'ARP');
    assert.ok(runBpf(program, eth(ip4(udp(36016), 17, 0x2000), vlan)) > 0, 'first fragment, to the port');
    assert.equal(runBpf(program, eth(ip4(udp(53), 17, 0x2000), vlan)), 0, 'first fragment, elsewhere');
    assert.ok(runBpf(program, eth(ip4(Buffer.alloc(16), 17, 185), vlan)) > 0, 'later fragment (no port to see)');
    assert.ok(runBpf(program, eth(ip6(Buffer.alloc(16), 44), vlan)) > 0, 'IPv6 fragment header');
  }
  assert.equal(runBpf(program, Buffer.alloc(10)), 0, 'a runt');
  assert.equal(filterWords(program).length, program.length * 4);
  assert.throws(() => udpPortFilter(70000), RangeError);
});

const noCapture = !captureIo.available ? `capture needs the addon: ${captureIo.reason}` : process.getuid?.() !== 0 ? 'needs root (CAP_NET_RAW)' : false;

test('the packet socket on loopback: the kernel filter passes only UDP to the port, in batches', { skip: noCapture, timeout: 20_000 }, async () => {
  const port = 40000 + (process.pid % 20000);
  const socket = openCapture({ interface: 'lo', port, rcvbuf: 1 << 20 });
  const sender = dgram.createSocket('udp4');
  try {
    assert.ok(socket.rcvbuf > 0);
    for (let i = 0; i < 20; i++) {
      await new Promise<void>((resolve) => sender.send(`for us ${i}`, port, '127.0.0.1', () => resolve()));
      await new Promise<void>((resolve) => sender.send(`not for us ${i}`, port + 1, '127.0.0.1', () => resolve()));
    }
    const slot = 65_536 + 256;
    const ring = Buffer.alloc(64 * slot);
    const lengths = new Uint32Array(64);
    const got: string[] = [];
    const deadline = Date.now() + 5000;
    while (got.length < 20 && Date.now() < deadline) {
      const n = socket.recvBatch(ring, slot, 64, lengths, 100);
      for (let i = 0; i < n; i++) {
        if (lengths[i] === 0) continue; // looped back from our own send
        const frame = ring.subarray(i * slot, i * slot + lengths[i]!);
        got.push(frame.subarray(14 + 20 + 8).toString());
      }
    }
    assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => `for us ${i}`));
    assert.equal(socket.recvBatch(ring, slot, 64, lengths, 50), 0, 'nothing else came through the filter');
  } finally {
    sender.close();
    socket.close();
  }
  assert.throws(() => socket.recvBatch(Buffer.alloc(10), 10, 1, new Uint32Array(1), 0), (err: NodeJS.ErrnoException) => err.code === 'EBADF');
});

test('no such interface: ENODEV', { skip: noCapture }, () => {
  assert.throws(() => openCapture({ interface: 'nope-no-such0', port: 1, rcvbuf: 0 }), (err: NodeJS.ErrnoException) => err.code === 'ENODEV');
});
