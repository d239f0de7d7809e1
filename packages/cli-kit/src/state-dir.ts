import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import * as path from 'node:path';

/**
 * Where state lives by default: systemd's $STATE_DIRECTORY (StateDirectory=; the first one if it
 * names several), else the XDG state directory, $XDG_STATE_HOME/diodesync or
 * ~/.local/state/diodesync. Outside any mirrored tree, and writable by a service user.
 */
export function defaultStateRoot(env: NodeJS.ProcessEnv = process.env): string {
  const systemd = env.STATE_DIRECTORY?.split(':')[0];
  if (systemd) return path.resolve(systemd);
  return path.join(env.XDG_STATE_HOME || path.join(homedir(), '.local', 'state'), 'diodesync');
}

/**
 * A directory's name in the state root: its base name (for the operator's eye) and the first 16
 * hex digits of the SHA-256 of its real path (so two trees never share state, whatever their names).
 */
export function treeKey(realPath: string): string {
  const base = path.basename(realPath).replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '').slice(0, 40) || 'root';
  return `${base}-${createHash('sha256').update(realPath).digest('hex').slice(0, 16)}`;
}
