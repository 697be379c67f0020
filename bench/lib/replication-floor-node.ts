/**
 * One process of the minimal replicated append (replication-floor.ts): the least a 3-node
 * majority-acknowledged, fsync-on-every-node append must do in Node on this machine. No gRPC, no
 * Raft, no checksums, no index: length-prefixed frames on raw TCP sockets.
 *
 * `follower DIR`: appends each record to a file, fdatasyncs it, answers with its sequence number.
 * `leader DIR PORT...`: for each client record, sends it to every follower first (as a Raft
 * leader sends AppendEntries before its own flush), then appends and fdatasyncs it itself, and
 * answers the client once its own flush is done and one follower has answered (a majority of 3,
 * the leader counting itself only after its flush, as replog's does).
 *
 * Frames: floor-frames.ts. Reports its port over IPC.
 */
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { onFrames, sendFrame } from './floor-frames.js';

const [role, dir, ...followerPorts] = process.argv.slice(2);
if ((role !== 'leader' && role !== 'follower') || dir === undefined) throw new Error('usage: leader|follower DIR [PORT...]');

const fd = openSync(join(dir, `${role}-${process.pid}.log`), 'w');
let end = 0;
function append(record: Buffer): void {
  writeSync(fd, record, 0, record.length, end);
  end += record.length;
  fdatasyncSync(fd);
}

const EMPTY = Buffer.alloc(0);

function listen(onConnection: (sock: net.Socket) => void): void {
  const server = net.createServer((sock) => {
    sock.setNoDelay(true);
    sock.on('error', () => sock.destroy());
    onConnection(sock);
  });
  server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    process.send?.({ port: typeof addr === 'object' && addr !== null ? addr.port : 0 });
  });
}

if (role === 'follower') {
  listen((sock) =>
    onFrames(sock, (seq, record) => {
      append(record);
      sendFrame(sock, seq, EMPTY);
    }),
  );
} else {
  /** Per client sequence number: whether the leader's own flush is done, and follower answers. */
  const pending = new Map<number, { flushed: boolean; acks: number; client: net.Socket }>();
  const maybeAnswer = (seq: number): void => {
    const p = pending.get(seq);
    if (p === undefined || !p.flushed || p.acks < 1) return;
    pending.delete(seq);
    sendFrame(p.client, seq, EMPTY);
  };
  const followers = followerPorts.map((port) => {
    const sock = net.connect(Number(port), '127.0.0.1');
    sock.setNoDelay(true);
    sock.on('error', () => process.exit(1));
    onFrames(sock, (seq) => {
      const p = pending.get(seq);
      if (p === undefined) return;
      p.acks++;
      maybeAnswer(seq);
    });
    return sock;
  });
  listen((client) =>
    onFrames(client, (seq, record) => {
      pending.set(seq, { flushed: false, acks: 0, client });
      for (const f of followers) sendFrame(f, seq, record);
      append(record);
      const p = pending.get(seq);
      if (p !== undefined) p.flushed = true;
      maybeAnswer(seq);
    }),
  );
}

process.on('disconnect', () => {
  closeSync(fd);
  process.exit(0);
});
