/**
 * The log.v1.Admin service (cluster administration). Every call needs the `admin` permission;
 * errors go through the one status mapping (status.ts).
 */
import type { sendUnaryData, ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { LeaveRequest, LeaveResponse } from '../gen/log/v1/log.js';
import type { Logger } from '../logger.js';
import type { Authorizer } from './auth.js';
import { toStatus } from './status.js';

export interface AdminOperations {
  /** Makes this node leave the cluster for good; resolves with whether its removal was seen. */
  leave(): Promise<boolean>;
}

export function createAdminService(opts: { authorizer: Authorizer; ops: AdminOperations; logger: Logger }): UntypedServiceImplementation {
  const log = opts.logger.child({ component: 'admin' });
  return {
    leave: (call: ServerUnaryCall<LeaveRequest, LeaveResponse>, callback: sendUnaryData<LeaveResponse>) => {
      let who: string;
      try {
        who = opts.authorizer.authorize(call, 'admin');
      } catch (err) {
        callback(toStatus(err));
        return;
      }
      log.info({ subject: who }, 'admin: leave requested');
      opts.ops.leave().then(
        (removed) => callback(null, { removed }),
        (err: unknown) => callback(toStatus(err)),
      );
    },
  };
}
