/**
 * The glibc malloc settings replog's processes run with (the GLIBC_TUNABLES environment variable,
 * read by glibc when a process starts: a running process cannot change it for itself). The image
 * (deploy/Dockerfile), the Makefile and `replog cluster` set it; docs/operations.md says why and
 * how to set it for an agent started another way, and `replog agent` warns at start without it.
 *
 * By default glibc serves an allocation from fresh mmap()ed pages when it is above a threshold
 * that it moves as memory is freed, and gives the top of its heap back to the kernel once more
 * than a small amount is free there. A node's megabyte-sized buffers (a batch read from the log,
 * grpc-js's framed copy of a message, the client's reassembly of one) then fall into fresh pages
 * in some runs and into reused ones in others; each fresh page is a page fault, about 18 us on
 * the VM replog is developed on. Fixed thresholds keep such buffers on the heap and the heap's
 * freed top for reuse (resident memory stays at its peak instead of shrinking back).
 */
export const MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=268435456';

/** `env` for a replog child process: its GLIBC_TUNABLES if set, MALLOC_TUNABLES otherwise. */
export function withMallocTunables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, GLIBC_TUNABLES: env.GLIBC_TUNABLES ?? MALLOC_TUNABLES };
}

/**
 * What an agent logs at start when it runs without these settings: a process linked against glibc
 * whose environment has no GLIBC_TUNABLES at all (a value the operator set is theirs, and is not
 * second-guessed). Undefined when there is nothing to say.
 */
export function mallocTunablesAdvice(env: NodeJS.ProcessEnv, glibcVersion: string | undefined): string | undefined {
  if (glibcVersion === undefined || env.GLIBC_TUNABLES !== undefined) return undefined;
  return `GLIBC_TUNABLES is not set: large buffers may cost a page fault per 4 KiB; start the agent with GLIBC_TUNABLES=${MALLOC_TUNABLES} (docs/operations.md, "Memory allocator")`;
}

/** The glibc version this process runs on; undefined on another C library (musl) or platform. */
export function runtimeGlibcVersion(): string | undefined {
  const report = process.report.getReport() as { header?: { glibcVersionRuntime?: unknown } };
  const version = report.header?.glibcVersionRuntime;
  return typeof version === 'string' ? version : undefined;
}
