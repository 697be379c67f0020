/**
 * "Did the request provably not reach a node?" needs a channel that is known to be connected
 * before sending: awaitReady asks the channel to connect and waits, with a deadline, until it is
 * READY (true) or has failed to connect (false: nothing was sent, so a retry is safe).
 */
import { connectivityState as State, type ChannelInterface as Channel } from '@grpc/grpc-js';

export function awaitReady(channel: Channel, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + Math.max(0, timeoutMs);
  return new Promise((resolve) => {
    const check = (): void => {
      const state = channel.getConnectivityState(true);
      if (state === State.READY) return resolve(true);
      if (state === State.TRANSIENT_FAILURE || state === State.SHUTDOWN || Date.now() >= deadline) return resolve(false);
      channel.watchConnectivityState(state, deadline, (err) => (err ? resolve(false) : check()));
    };
    check();
  });
}
