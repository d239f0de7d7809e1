import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Where --metrics serves: host undefined means every interface. */
export interface MetricsAddress {
  text: string;
  host: string | undefined;
  port: number;
}

/**
 * --metrics: "9100" and ":9100" listen on every interface, "HOST:PORT" and "[V6]:PORT" on that
 * address only. A bare host or a port out of range is refused with an example.
 */
export function parseMetricsAddress(text: string): MetricsAddress {
  const m = /^(?:(\[[^\]]+\]|[^:[\]]*):)?(\d+)$/.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`invalid --metrics '${text}' (expected PORT, :PORT or HOST:PORT, e.g. 9100 or 127.0.0.1:9100)`);
  }
  const host = m[1] ? m[1].replace(/^\[|\]$/g, '') : undefined;
  return { text, host: host || undefined, port };
}

/** Serves GET /metrics (and /) with the text `render` gives at each scrape; nothing else. */
export async function serveMetrics(at: { host: string | undefined; port: number }, render: () => string): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && req.url !== '/')) {
      res.writeHead(404).end();
      return;
    }
    let body: string;
    try {
      body = render();
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // No host: Node listens on every interface (:: with IPv4 mapped, or 0.0.0.0).
    server.listen(at.port, at.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Builds Prometheus text: each family's HELP and TYPE once, then its samples. */
export class PrometheusText {
  private readonly lines: string[] = [];
  private readonly families = new Set<string>();

  constructor(private readonly prefix = 'diodesync_') {}

  add(name: string, type: 'counter' | 'gauge', help: string, value: number, labels: Record<string, string> = {}): this {
    const full = this.prefix + name;
    if (!this.families.has(full)) {
      this.families.add(full);
      this.lines.push(`# HELP ${full} ${help}`, `# TYPE ${full} ${type}`);
    }
    const l = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`).join(',');
    this.lines.push(`${full}${l ? `{${l}}` : ''} ${value}`);
    return this;
  }

  toString(): string {
    return this.lines.join('\n') + '\n';
  }
}
