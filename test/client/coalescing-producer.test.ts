import { describe, expect, it } from 'vitest';
import { CoalescingProducer, defaultCoalescingOptions } from '../../src/client/coalescing-producer.js';
import { UnavailableError } from '../../src/errors.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('CoalescingProducer', () => {
  it('coalesces waiting records into the next request, in order', async () => {
    const sent: number[][] = [];
    const answers: (() => void)[] = [];
    let next = 100;
    const producer = new CoalescingProducer(
      (values) =>
        new Promise<number>((resolve) => {
          sent.push(values.map((v) => v[0] ?? -1));
          const first = next;
          next += values.length;
          answers.push(() => resolve(first));
        }),
      { ...defaultCoalescingOptions, maxBatchRecords: 3, maxRequestsInflight: 1 },
    );
    const first = producer.produce(Buffer.from([0]));
    await tick();
    expect(sent).toEqual([[0]]);
    // Records produced in one tick while the request is out share the next requests.
    const rest = Promise.all([1, 2, 3, 4, 5].map((i) => producer.produce(Buffer.from([i]))));
    await tick();
    expect(sent).toEqual([[0]]);
    answers.shift()?.();
    await tick();
    await tick();
    expect(sent).toEqual([[0], [1, 2, 3]]);
    answers.shift()?.();
    await tick();
    await tick();
    answers.shift()?.();
    expect([await first, ...(await rest)]).toEqual([100, 101, 102, 103, 104, 105]);
    expect(sent).toEqual([[0], [1, 2, 3], [4, 5]]);
    expect(producer.firstOffset()).toBe(100);
    expect(producer.requests).toBe(3);
  });

  it('cuts batches at maxBatchBytes, but sends a record bigger than that alone', async () => {
    const sent: number[][] = [];
    let next = 0;
    const producer = new CoalescingProducer(
      (values) => {
        sent.push(values.map((v) => v.length));
        const first = next;
        next += values.length;
        return Promise.resolve(first);
      },
      { ...defaultCoalescingOptions, maxBatchBytes: 10, maxRequestsInflight: 1 },
    );
    const offsets = await Promise.all([4, 4, 4, 30, 1].map((n) => producer.produce(Buffer.alloc(n))));
    expect(offsets).toEqual([0, 1, 2, 3, 4]);
    expect(sent).toEqual([[4, 4], [4], [30], [1]]);
  });

  it('rejects every record of a failed batch, and later records still go', async () => {
    let calls = 0;
    const producer = new CoalescingProducer(
      () => (++calls === 1 ? Promise.reject(new UnavailableError('no leader')) : Promise.resolve(7)),
      { ...defaultCoalescingOptions, maxRequestsInflight: 1 },
    );
    const failed = [producer.produce(Buffer.from('a')), producer.produce(Buffer.from('b'))];
    for (const p of failed) await expect(p).rejects.toBeInstanceOf(UnavailableError);
    await expect(producer.produce(Buffer.from('c'))).resolves.toBe(7);
  });

  it('refuses records beyond maxQueuedBytes while a request is out, and takes them again after', async () => {
    const answers: (() => void)[] = [];
    const producer = new CoalescingProducer(
      (values) => new Promise<number>((resolve) => answers.push(() => resolve(values.length))),
      { ...defaultCoalescingOptions, maxQueuedBytes: 8, maxRequestsInflight: 1 },
    );
    const first = producer.produce(Buffer.alloc(8));
    await tick();
    const queued = producer.produce(Buffer.alloc(8));
    await expect(producer.produce(Buffer.alloc(1))).rejects.toThrow(/produce buffer is full/);
    answers.shift()?.();
    await first;
    await tick();
    answers.shift()?.();
    await queued;
    const later = producer.produce(Buffer.alloc(8));
    await tick();
    answers.shift()?.();
    await expect(later).resolves.toBe(1);
  });
});
