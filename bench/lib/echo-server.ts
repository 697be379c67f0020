/**
 * A bare grpc-js unary echo in a process of its own (references.ts, `echoUnaryReference` with
 * `where` 'child'): the reference for unary calls that cross processes, as a client's calls to a
 * replog agent do. Reports its port over IPC; exits when its parent disconnects.
 */
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { echoService } from './echo-service.js';

const server = new Server();
server.addService(echoService.definition, echoService.handlers);
server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.send?.({ port });
});
process.once('disconnect', () => {
  server.forceShutdown();
  process.exit(0);
});
