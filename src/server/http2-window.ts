/**
 * Widens the HTTP/2 receive windows of a grpc-js server (what a client may send before the server
 * acknowledges it). HTTP/2's default is 64 KiB per stream and 64 KiB per connection, so a 1 MiB
 * produce batch waited for 16 window updates, each a turn of both event loops; under load, with
 * the server's loop busy, that capped batched produce (docs/performance.md). grpc-js (1.14) has no
 * server option for it, so this reaches into two of its fields with runtime checks:
 *
 * - `commonServerOptions`, which grpc-js passes to `http2.createServer` for every injector it
 *   makes: its `settings.initialWindowSize` is each stream's window;
 * - `http2Servers`, the HTTP/2 servers it made: each new session opens its connection window.
 *
 * When grpc-js changes shape, these return false and the server keeps HTTP/2's defaults (slower,
 * still correct); test/server/http2-window.test.ts fails then.
 */
import type { Server } from '@grpc/grpc-js';
import type { Http2Session } from 'node:http2';
import type { EventEmitter } from 'node:events';

interface GrpcServerInternals {
  commonServerOptions?: unknown;
  http2Servers?: unknown;
}

const widened = new WeakSet<object>();

/** Sets each stream's receive window; call before `createConnectionInjector`. */
export function widenStreamWindow(server: Server, bytes: number): boolean {
  const opts = (server as unknown as GrpcServerInternals).commonServerOptions;
  if (!isObject(opts)) return false;
  const holder = opts as { settings?: unknown };
  const settings = isObject(holder.settings) ? holder.settings : {};
  holder.settings = { ...settings, initialWindowSize: bytes };
  return true;
}

/** Opens every new session's connection window to `bytes`; call after `createConnectionInjector`. */
export function widenConnectionWindows(server: Server, bytes: number): boolean {
  const servers = (server as unknown as GrpcServerInternals).http2Servers;
  if (!(servers instanceof Map)) return false;
  let found = false;
  for (const h2 of servers.keys()) {
    if (!isEmitter(h2)) continue;
    found = true;
    if (widened.has(h2)) continue;
    widened.add(h2);
    h2.on('session', (session: Http2Session) => {
      try {
        session.setLocalWindowSize(bytes);
      } catch {
        // A session that is already closing: nothing to widen.
      }
    });
  }
  return found;
}

function isObject(v: unknown): v is object {
  return typeof v === 'object' && v !== null;
}

function isEmitter(v: unknown): v is EventEmitter {
  return isObject(v) && typeof (v as { on?: unknown }).on === 'function';
}
