/**
 * Resets the HTTP/2 stream under a grpc-js server call (RST_STREAM ENHANCE_YOUR_CALM, which gRPC
 * clients report as RESOURCE_EXHAUSTED). Ending a call the normal way waits for its queued
 * messages to reach the client first: for a client that never reads, that is never, and the
 * messages stay in memory. grpc-js offers no public way to reset a stream, so this walks its call
 * objects (`call.call`, `.nextCall`..., `.stream`) with runtime checks; when the shape changes it
 * returns false and the caller falls back to a normal end (the test of the slow-consumer limit
 * fails then, not production).
 */
import { constants } from 'node:http2';

interface ClosableStream {
  close(code: number): void;
  destroyed: boolean;
}

const maxHops = 8;

/** True when a stream was found and reset. */
export function resetCallStream(call: object): boolean {
  let node: unknown = (call as { call?: unknown }).call;
  for (let hop = 0; hop < maxHops && isObject(node); hop++) {
    const stream = (node as { stream?: unknown }).stream;
    if (isClosableStream(stream)) {
      if (!stream.destroyed) stream.close(constants.NGHTTP2_ENHANCE_YOUR_CALM);
      return true;
    }
    node = (node as { nextCall?: unknown }).nextCall;
  }
  return false;
}

function isObject(v: unknown): v is object {
  return typeof v === 'object' && v !== null;
}

function isClosableStream(v: unknown): v is ClosableStream {
  return isObject(v) && typeof (v as { close?: unknown }).close === 'function' && 'rstCode' in v && typeof (v as { destroyed?: unknown }).destroyed === 'boolean';
}
