/**
 * Who is calling, and may they? Identity is the CN of the client certificate the TLS layer
 * verified against the client CA; the ACL is a casbin model + policy (proglog's shape:
 * `p, <subject>, *, <action>`, subject `*` = everyone). Without TLS, authorization is off.
 */
import { readFile } from 'node:fs/promises';
import type { ServerUnaryCall } from '@grpc/grpc-js';
import { newEnforcer, newModelFromString, StringAdapter, type Enforcer } from 'casbin';
import { ConfigError, PermissionDeniedError, UnauthenticatedError, errorMessage } from '../errors.js';

export type Action = 'produce' | 'consume' | 'admin';

/** Any server call: all of them expose the TLS peer. */
export type ServerSurfaceCall = Pick<ServerUnaryCall<unknown, unknown>, 'getAuthContext'>;

export interface Authorizer {
  /** The caller's identity; throws UnauthenticatedError when TLS is on and it has none. */
  authenticate(call: ServerSurfaceCall): string;
  /** Throws UnauthenticatedError or PermissionDeniedError; returns the caller's identity. */
  authorize(call: ServerSurfaceCall, action: Action): string;
}

/** Plaintext: every caller is `anonymous` and allowed. */
export const allowAll: Authorizer = { authenticate: () => 'anonymous', authorize: () => 'anonymous' };

/** TLS without an ACL: any client with a verified certificate is allowed. */
export const requireCertificate: Authorizer = { authenticate: identityOf, authorize: identityOf };

/** The CN of the caller's verified client certificate. */
export function identityOf(call: ServerSurfaceCall): string {
  const cn = call.getAuthContext()?.sslPeerCertificate?.subject?.CN;
  if (typeof cn !== 'string' || cn === '') {
    throw new UnauthenticatedError('a client certificate signed by the client CA is required');
  }
  return cn;
}

export class AclAuthorizer implements Authorizer {
  private constructor(private readonly enforcer: Enforcer) {}

  /** Loads and checks the model and policy; a file that does not parse is a ConfigError. */
  static async fromFiles(modelFile: string, policyFile: string): Promise<AclAuthorizer> {
    const modelText = await readText('--acl-model-file', modelFile);
    const policyText = await readText('--acl-policy-file', policyFile);
    let model;
    try {
      model = newModelFromString(modelText);
    } catch (err) {
      throw new ConfigError('--acl-model-file', `${modelFile} is not a valid casbin model: ${errorMessage(err)}`);
    }
    try {
      const enforcer = await newEnforcer(model, new StringAdapter(policyText));
      enforcer.enforceSync('probe', '*', 'produce');
      return new AclAuthorizer(enforcer);
    } catch (err) {
      throw new ConfigError('--acl-policy-file', `${policyFile} does not fit the model: ${errorMessage(err)}`);
    }
  }

  authenticate(call: ServerSurfaceCall): string {
    return identityOf(call);
  }

  authorize(call: ServerSurfaceCall, action: Action): string {
    const subject = identityOf(call);
    if (!this.allowed(subject, action)) throw new PermissionDeniedError(subject, action);
    return subject;
  }

  allowed(subject: string, action: Action): boolean {
    return this.enforcer.enforceSync(subject, '*', action) || this.enforcer.enforceSync('*', '*', action);
  }
}

async function readText(option: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(option, `cannot read ${path}: ${errorMessage(err)}`);
  }
}

