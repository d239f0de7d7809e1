// Whether diode-receive offers UDP GRO, read from its --help: the bench runs on whatever is built,
// and GRO may arrive as `--gro` or as an `--io gro` choice.
import { spawnSync } from 'node:child_process';
import { RECEIVE } from './context.mjs';

/** The receiver's arguments that turn GRO on, or undefined when it has none. */
export function groArgs() {
  const help = spawnSync(process.execPath, [RECEIVE, '--help'], { encoding: 'utf8' }).stdout ?? '';
  if (/--gro\b/.test(help)) return ['--gro'];
  // The --io option's own lines (up to the next option) list its choices.
  const io = /^\s*--io\b[\s\S]*?(?=^\s*--|$(?![\s\S]))/m.exec(help)?.[0] ?? '';
  if (/"gro"/.test(io.replace(/\n\s*/g, ''))) return ['--io', 'gro']; // yargs wraps the help at 80 columns
  return undefined;
}

/** The receiver's arguments that keep GRO off where `--io gro` exists (auto might pick it). */
export function groOffArgs() {
  return groArgs()?.[0] === '--io' ? ['--io', 'mmsg'] : [];
}
