/**
 * The default HostResolver: the system resolver (getaddrinfo through dns.lookup), IPv4 only,
 * asked again on every join attempt so that names that appear later (Kubernetes headless
 * services, compose) are picked up.
 */
import { lookup } from 'node:dns/promises';
import type { HostResolver } from './types.js';

export const dnsResolver: HostResolver = async (host) => {
  const found = await lookup(host, { all: true, family: 4 });
  return found.map((a) => a.address);
};
