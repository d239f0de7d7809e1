import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

// Run from dist/, read from src/: type-only imports, which the compiler erases, count too.
const src = fileURLToPath(new URL('../src/', import.meta.url));

/** Every module of src/ (by path without extension) and the modules it imports, types included. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const entry of readdirSync(src, { recursive: true, encoding: 'utf8' })) {
    if (!entry.endsWith('.ts') || entry.endsWith('.d.ts')) continue;
    const from = entry.slice(0, -3).split(path.sep).join('/');
    const text = readFileSync(path.join(src, entry), 'utf8');
    const targets = [...text.matchAll(/^(?:import|export)\b[^;]*?from '(\.{1,2}\/[^']+)\.js'/gms)]
      .map((m) => path.posix.normalize(path.posix.join(path.posix.dirname(from), m[1]!)));
    graph.set(from, targets);
  }
  return graph;
}

/** A cycle of the graph, if it has one. */
function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'open') return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

test('no import circle between the modules of the sender', () => {
  const graph = importGraph();
  assert.ok(graph.has('sender') && graph.has('inventory/scan'), `read ${src}`);
  for (const [from, targets] of graph) for (const t of targets) assert.ok(graph.has(t), `${from} imports ${t}, which does not exist`);
  assert.equal(findCycle(graph)?.join(' -> '), undefined);
});

test('no import circle between the stage folders: inventory <- ledger <- framing -> transport', () => {
  const stages = new Map<string, Set<string>>();
  const stageOf = (module: string) => (module.includes('/') ? module.slice(0, module.indexOf('/')) : undefined);
  for (const [from, targets] of importGraph()) {
    const stage = stageOf(from);
    if (!stage || from.endsWith('.test')) continue;
    const uses = stages.get(stage) ?? new Set<string>();
    stages.set(stage, uses);
    for (const t of targets) {
      const other = stageOf(t);
      if (other && other !== stage) uses.add(other);
    }
  }
  const graph = new Map([...stages].map(([stage, uses]) => [stage, [...uses]]));
  assert.equal(findCycle(graph)?.join(' -> '), undefined);
});
