import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PrometheusText, parseMetricsAddress } from './metrics-http.js';

test('--metrics: PORT and :PORT mean every interface, HOST:PORT and [V6]:PORT one address', () => {
  assert.deepEqual(parseMetricsAddress('9100'), { text: '9100', host: undefined, port: 9100 });
  assert.deepEqual(parseMetricsAddress(':9100'), { text: ':9100', host: undefined, port: 9100 });
  assert.deepEqual(parseMetricsAddress('127.0.0.1:9100'), { text: '127.0.0.1:9100', host: '127.0.0.1', port: 9100 });
  assert.deepEqual(parseMetricsAddress('[::1]:9100'), { text: '[::1]:9100', host: '::1', port: 9100 });
  assert.equal(parseMetricsAddress('localhost:0').host, 'localhost');
  for (const bad of ['localhost', '9100:', '70000', ':-1', 'a:b:9100', '']) {
    assert.throws(() => parseMetricsAddress(bad), /invalid --metrics .*e\.g\. 9100/, bad);
  }
});

test('Prometheus text: HELP and TYPE once per family, label values escaped', () => {
  const text = new PrometheusText('x_').add('a_total', 'counter', 'A.', 1, { k: 'v"\\' }).add('a_total', 'counter', 'A.', 2, { k: 'w' }).add('b', 'gauge', 'B.', 0.5).toString();
  assert.equal(text, '# HELP x_a_total A.\n# TYPE x_a_total counter\nx_a_total{k="v\\"\\\\"} 1\nx_a_total{k="w"} 2\n# HELP x_b B.\n# TYPE x_b gauge\nx_b 0.5\n');
});
