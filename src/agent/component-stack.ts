/**
 * The agent's components, started in order and closed in reverse (proglog's setup list). Closing
 * runs every close even when some fail, and reports all failures together.
 */
import { asError } from '../errors.js';
import type { Logger } from '../logger.js';

export interface Component {
  name: string;
  close(): Promise<void>;
}

export class ComponentStack {
  private readonly started: Component[] = [];
  private closing: Promise<void> | undefined;

  constructor(private readonly logger: Logger) {}

  /** Starts one component; on failure the caller closes what already started. */
  async start<T extends Component>(name: string, start: () => Promise<T>): Promise<T> {
    const component = await start();
    this.started.push(component);
    this.logger.debug({ component: name }, 'started');
    return component;
  }

  /** Registers something already running (a close callback). */
  push(name: string, close: () => Promise<void>): void {
    this.started.push({ name, close });
  }

  /** Closes in reverse order; rejects with an AggregateError naming every failure. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.closeAll();
    return this.closing;
  }

  private async closeAll(): Promise<void> {
    const errors: Error[] = [];
    for (const c of this.started.reverse()) {
      try {
        await c.close();
        this.logger.debug({ component: c.name }, 'closed');
      } catch (err) {
        const e = asError(err);
        this.logger.error({ component: c.name, err: e }, 'close failed');
        errors.push(new Error(`${c.name}: ${e.message}`, { cause: e }));
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, `closing failed: ${errors.map((e) => e.message).join('; ')}`);
  }
}
