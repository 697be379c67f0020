/** The unary echo service of the benchmarks' references: raw bytes in, the same bytes out. */
import type { ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';

const identity = (b: Buffer): Buffer => b;

/** Messages as raw Buffers, with no protobuf on either side. */
export const rawCodec = { requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } as const;

export const echoService = {
  definition: {
    unary: { path: '/bench.Echo/Unary', requestStream: false, responseStream: false, ...rawCodec },
  },
  handlers: { unary: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>): void => cb(null, call.request) },
} as const;
