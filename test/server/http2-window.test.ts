/**
 * The API server opens 4 MiB HTTP/2 receive windows (per stream and per connection) instead of
 * HTTP/2's 64 KiB (src/server/http2-window.ts reaches into grpc-js for it). Checked from a plain
 * HTTP/2 client: the server's SETTINGS and the connection window it grants.
 */
import http2 from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/api-server.js';
import { until } from '../helpers/wait.js';

let server: TestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('HTTP/2 receive windows of the API server', () => {
  it('grants a client 4 MiB per stream and per connection', async () => {
    server = await startTestServer();
    expect(server.grpc.receiveWindowWidened).toBe(true);
    const session = http2.connect(`http://${server.addr}`);
    try {
      const settings = await new Promise<http2.Settings>((resolve, reject) => {
        session.once('remoteSettings', resolve);
        session.once('error', reject);
      });
      expect(settings.initialWindowSize).toBe(4 * 1024 * 1024);
      // The connection window arrives as a WINDOW_UPDATE after the SETTINGS.
      await until(() => (session.state.remoteWindowSize ?? 0) >= 4 * 1024 * 1024, 'the connection window to open', 5_000);
    } finally {
      session.destroy();
    }
  });
});
