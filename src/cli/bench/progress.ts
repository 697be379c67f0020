/** A progress bar on stderr when it is a terminal (cli-progress); silent otherwise. */
import cliProgress from 'cli-progress';

export interface Progress {
  start(phase: string, total: number): void;
  update(done: number): void;
  stop(): void;
}

const silent: Progress = { start: () => undefined, update: () => undefined, stop: () => undefined };

export function progressBar(stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return silent;
  const bar = new cliProgress.SingleBar(
    { stream, format: '{phase} [{bar}] {percentage}% {value}/{total} records, {eta}s left', hideCursor: true, clearOnComplete: true, fps: 10 },
    cliProgress.Presets.shades_classic,
  );
  let running = false;
  return {
    start(phase, total) {
      if (running) bar.stop();
      bar.start(total, 0, { phase });
      running = true;
    },
    update(done) {
      if (running) bar.update(done);
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}
