import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatMetrics, type ReceiverStatus } from './status.js';

/** Serves GET /metrics (and /) as Prometheus text; nothing else. */
export async function startMetricsServer(host: string | undefined, port: number, status: () => ReceiverStatus): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && req.url !== '/')) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(formatMetrics(status()));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
