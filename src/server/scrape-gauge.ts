/**
 * A Prometheus gauge whose value is read at scrape time (prom-client's `collect`), so nothing is
 * computed on hot paths: `read` gets a setter and sets one value, or one per label set.
 */
import { Gauge, type Registry } from 'prom-client';

export type GaugeSetter = (value: number, labels?: Record<string, string>) => void;

/** Returns a function that registers scrape-time gauges on `registry`. */
export function scrapeGauges(registry: Registry): (name: string, help: string, read: (set: GaugeSetter) => void, labelNames?: string[]) => void {
  const registers = [registry];
  return (name, help, read, labelNames = []) => {
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        read((v, labels) => (labels ? this.set(labels, v) : this.set(v)));
      },
    });
  };
}
