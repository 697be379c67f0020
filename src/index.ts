// The public API of replog as a library.
export * from './errors.js';
export { createLogger, silentLogger, type Logger } from './logger.js';
export { VERSION } from './version.js';
