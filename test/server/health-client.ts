/** A minimal grpc.health.v1 client for tests (proto loaded from grpc-health-check's package). */
import { credentials, loadPackageDefinition, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath } from 'grpc-health-check';

type CheckFn = (req: { service: string }, cb: (err: ServiceError | null, res: { status: string }) => void) => void;
type HealthCtor = new (addr: string, creds: ReturnType<typeof credentials.createInsecure>) => Client & { check: CheckFn };

export class HealthClient {
  private readonly client: Client & { check: CheckFn };

  constructor(addr: string) {
    const def = loadPackageDefinition(loadSync(protoPath, { enums: String })) as unknown as { grpc: { health: { v1: { Health: HealthCtor } } } };
    this.client = new def.grpc.health.v1.Health(addr, credentials.createInsecure());
  }

  check(service: string): Promise<string> {
    return new Promise((resolve, reject) => this.client.check({ service }, (e, r) => (e ? reject(e) : resolve(r.status))));
  }

  close(): void {
    this.client.close();
  }
}
