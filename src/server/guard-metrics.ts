/**
 * Metrics of the limits that guard a node against hostile or runaway clients: connections the mux
 * turned away (Mux.stats) and the node-wide ConsumeStream send budget (src/server/stream-budget.ts).
 * Read at scrape time from the running components, as in src/agent/cluster-metrics.ts.
 */
import type { Registry } from 'prom-client';
import type { MuxStats } from '../mux/mux.js';
import { scrapeGauges } from './scrape-gauge.js';
import type { StreamBudget } from './stream-budget.js';

export interface GuardMetricSources {
  /** The mux's counters, once it listens. */
  mux: () => MuxStats | undefined;
  consumeBudget: StreamBudget;
}

export function registerGuardMetrics(registry: Registry, sources: GuardMetricSources): void {
  const gauge = scrapeGauges(registry);
  gauge(
    'replog_mux_connections_dropped',
    'API-port connections turned away since start, by reason: refused (over --max-connections), evicted (oldest unfinished one during a flood), timed_out (first byte, TLS or HTTP/2 preface too slow), rejected (unknown protocol or failed TLS)',
    (set) => {
      const st = sources.mux();
      if (!st) return;
      set(st.refused, { reason: 'refused' });
      set(st.evicted, { reason: 'evicted' });
      set(st.timedOut, { reason: 'timed_out' });
      set(st.rejected, { reason: 'rejected' });
    },
    ['reason'],
  );
  const budget = sources.consumeBudget;
  gauge('replog_consume_buffer_bytes', 'Record bytes ConsumeStreams hold for clients that have not taken them yet', (set) => set(budget.usedBytes()));
  gauge('replog_consume_buffer_capacity_bytes', 'The node-wide ConsumeStream budget (--max-consume-buffer-bytes)', (set) => set(budget.capacityBytes));
  gauge('replog_consume_buffer_waiting_streams', 'ConsumeStreams waiting for their share of the budget', (set) => set(budget.waiting()));
  gauge('replog_consume_streams_reset', 'ConsumeStreams reset since start because the client took nothing for --consume-stall-timeout-ms', (set) => set(budget.streamsReset()));
}
