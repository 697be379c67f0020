/**
 * ProduceStream: pipelined appends on one stream, responses in request order. At most
 * `inflightMax` requests are between "read from the stream" and "response written"; beyond that
 * the stream is paused, so HTTP/2 flow control pushes back on a client faster than the disk.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { ProduceRequest, ProduceResponse } from '../gen/log/v1/log.js';

type Call = ServerDuplexStream<ProduceRequest, ProduceResponse>;
type Outcome = { ok: true; res: ProduceResponse } | { ok: false; err: unknown };

/**
 * Feeds each request to `produce` as it arrives and writes the results in order. Resolves when
 * the client half-closes and every response is written; rejects with the first failure (the
 * caller turns it into the stream's status; later requests are not appended).
 */
export function pipeProduces(call: Call, produce: (req: ProduceRequest) => Promise<ProduceResponse>, inflightMax: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const pending: Promise<Outcome>[] = [];
    let ended = false;
    let paused = false;
    let pumping = false;
    let stopped = false;

    const stop = (err?: unknown): void => {
      if (stopped) return;
      stopped = true;
      call.off('data', onData);
      if (err === undefined) resolve();
      else reject(err instanceof Error ? err : new Error('produce stream failed', { cause: err }));
    };
    const pump = async (): Promise<void> => {
      if (pumping) return;
      pumping = true;
      while (pending.length > 0 && !stopped) {
        const outcome = await pending[0]!;
        if (!outcome.ok) {
          stop(outcome.err);
          return;
        }
        void pending.shift();
        if (!call.write(outcome.res)) await drained(call);
        if (paused && pending.length <= inflightMax / 2) {
          paused = false;
          call.resume();
        }
      }
      pumping = false;
      if (ended && pending.length === 0) stop();
    };
    const kick = (): void => {
      pump().catch(stop);
    };
    const onData = (req: ProduceRequest): void => {
      pending.push(produce(req).then((res): Outcome => ({ ok: true, res }), (err: unknown): Outcome => ({ ok: false, err })));
      if (pending.length >= inflightMax && !paused) {
        paused = true;
        call.pause();
      }
      kick();
    };
    call.on('data', onData);
    call.once('end', () => {
      ended = true;
      kick();
    });
    call.once('cancelled', () => stop());
    call.once('error', (err: unknown) => stop(err));
  });
}

function drained(call: Call): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      call.off('drain', done);
      call.off('cancelled', done);
      resolve();
    };
    call.on('drain', done);
    call.once('cancelled', done);
  });
}
