/**
 * The schedule's pure parts without a cluster: which kinds a run may inject, the seeded deck
 * that deals them, and the membership faults against a fake admin API that keeps a
 * configuration (remove drops a member, add-learner adds a learner, the next poll promotes it
 * like the reconciler would).
 */
import { describe, expect, it } from 'vitest';
import { Prng } from '../../src/util/prng.js';
import type { AdminCommand, AdminOutcome, Member } from './admin-channel.js';
import { FaultDeck } from './fault-deck.js';
import type { HistoryEvent } from './history.js';
import { MembershipNemesis } from './membership-faults.js';
import { availableFaults, runSchedule, type FaultKind } from './schedule.js';
import type { NetFault } from './nemesis.js';

const names = ['n1', 'n2', 'n3'];
const netnsSupports = new Set<NetFault>(['cut', 'isolate']);

/** A configuration behind the admin API; `refuse` makes the named ops fail. */
class FakeAdmin {
  readonly calls: AdminCommand[] = [];
  leader = 'n1';
  refuse = new Set<AdminCommand['op']>();
  /** Learners promoted at the next `members` poll (false: never, a stuck reconciler). */
  promotes = true;
  members: Member[] = names.map((n) => ({ id: `${n}/uuid-${n}`, name: n, rpcAddr: `10.0.0.${n.slice(1)}:7001`, voter: true }));

  request(cmd: AdminCommand): Promise<AdminOutcome> {
    this.calls.push(cmd);
    if (this.refuse.has(cmd.op)) return Promise.resolve({ ok: false, error: `${cmd.op} refused` });
    return Promise.resolve(this.apply(cmd));
  }

  private apply(cmd: AdminCommand): AdminOutcome {
    switch (cmd.op) {
      case 'members': {
        const view = { answeredBy: `${this.leader}/uuid-${this.leader}`, leaderId: `${this.leader}/uuid-${this.leader}`, members: this.members.map((m) => ({ ...m })) };
        if (this.promotes) this.members = this.members.map((m) => ({ ...m, voter: true }));
        return { ok: true, result: view };
      }
      case 'transfer':
        this.leader = cmd.to.split('/')[0]!;
        return { ok: true, result: cmd.to };
      case 'remove':
        this.members = this.members.filter((m) => m.id !== cmd.node);
        return { ok: true };
      case 'add-learner':
        this.members.push({ id: cmd.node, name: cmd.node.split('/')[0]!, rpcAddr: cmd.rpcAddr, voter: false });
        return { ok: true };
    }
  }
}

function kindsDealt(seed: number, kinds: readonly FaultKind[], count: number, first: readonly FaultKind[] = []): FaultKind[] {
  const deck = new FaultDeck(new Prng(seed), kinds, first);
  return Array.from({ length: count }, () => deck.next());
}

describe('availableFaults', () => {
  it('offers the membership faults only with an admin channel', () => {
    const withAdmin = availableFaults({ supports: netnsSupports }, true);
    expect(withAdmin).toContain('transfer-leader');
    expect(withAdmin).toContain('remove-readd');
    const without = availableFaults({ supports: netnsSupports }, false);
    expect(without).not.toContain('transfer-leader');
    expect(without).not.toContain('remove-readd');
    expect(without).toContain('kill-leader');
  });

  it('offers network faults only where the network supports them', () => {
    const kinds = availableFaults({ supports: netnsSupports }, true);
    expect(kinds).toContain('partition');
    expect(kinds).toContain('isolate-leader');
    expect(kinds).not.toContain('delay');
    expect(kinds).not.toContain('loss');
  });
});

describe('FaultDeck', () => {
  const kinds = availableFaults({ supports: netnsSupports }, true);

  it('replays the same sequence from the same seed, and another from another seed', () => {
    for (const seed of [1, 42, 9001]) {
      expect(kindsDealt(seed, kinds, 40), `seed ${seed}`).toEqual(kindsDealt(seed, kinds, 40));
    }
    expect(kindsDealt(1, kinds, kinds.length)).not.toEqual(kindsDealt(2, kinds, kinds.length));
  });

  it('deals every available kind once per round', () => {
    for (const seed of [3, 4, 5]) {
      const dealt = kindsDealt(seed, kinds, kinds.length * 3);
      for (let round = 0; round < 3; round++) {
        const slice = dealt.slice(round * kinds.length, (round + 1) * kinds.length);
        expect([...slice].sort(), `seed ${seed}, round ${round}`).toEqual([...kinds].sort());
      }
    }
  });

  it('deals the `first` kinds first (deduplicated, unavailable ones skipped), then full rounds', () => {
    const first: FaultKind[] = ['remove-readd', 'transfer-leader', 'remove-readd', 'delay'];
    for (const seed of [6, 7, 8]) {
      const dealt = kindsDealt(seed, kinds, 2 + kinds.length, first);
      expect(dealt.slice(0, 2).sort(), `seed ${seed}`).toEqual(['remove-readd', 'transfer-leader']);
      expect(dealt.slice(2).sort(), `seed ${seed}`).toEqual([...kinds].sort());
    }
  });
});

describe('MembershipNemesis', () => {
  const addr = (n: string): string => `advertised-${n}:7001`;

  it('learns the ids, removes a follower (never the leader) and adds the same identity back', async () => {
    for (const seed of [11, 12, 13, 14]) {
      const admin = new FakeAdmin();
      const m = new MembershipNemesis(admin, names, addr);
      await m.allVoters(1000);
      const out = await m.removeFollower(new Prng(seed), 'n1');
      expect(out.refused, `seed ${seed}`).toBe(false);
      const removed = admin.calls.find((c) => c.op === 'remove');
      expect(removed, `seed ${seed}`).toMatchObject({ op: 'remove' });
      const id = removed?.op === 'remove' ? removed.node : '';
      expect(['n2/uuid-n2', 'n3/uuid-n3'], `seed ${seed}`).toContain(id);
      expect(m.pending).toBe(true);
      expect(await m.heal(5000)).toMatch(/every node a voter again/);
      expect(m.pending).toBe(false);
      const name = id.split('/')[0]!;
      expect(admin.calls.filter((c) => c.op === 'add-learner'), `seed ${seed}`).toEqual([{ op: 'add-learner', node: id, rpcAddr: `10.0.0.${name.slice(1)}:7001` }]);
      expect(admin.members.every((x) => x.voter)).toBe(true);
      expect(admin.members.map((x) => x.id).sort()).toEqual(names.map((n) => `${n}/uuid-${n}`));
    }
  });

  it('heals nothing when no removal is pending', async () => {
    const admin = new FakeAdmin();
    const m = new MembershipNemesis(admin, names, addr);
    expect(await m.heal(1000)).toBe('');
    expect(admin.calls).toEqual([]);
  });

  it('re-adds after a refused removal only if the node is gone, and fails loudly when it never becomes a voter', async () => {
    const admin = new FakeAdmin();
    const m = new MembershipNemesis(admin, names, addr);
    admin.refuse.add('remove');
    const out = await m.removeFollower(new Prng(1), 'n1');
    expect(out).toMatchObject({ refused: true });
    expect(out.detail).toMatch(/refused \(remove refused\)/);
    await m.heal(1000);
    expect(admin.calls.some((c) => c.op === 'add-learner')).toBe(false);

    admin.refuse.clear();
    admin.promotes = false;
    await m.removeFollower(new Prng(1), 'n1');
    await expect(m.heal(50)).rejects.toThrow(/did not get every node back as a voter within 50 ms: .*learners \[n[23]\]/);
  });

  it('transfers leadership to another voter and records a refusal without throwing', async () => {
    const admin = new FakeAdmin();
    const m = new MembershipNemesis(admin, names, addr);
    await m.allVoters(1000);
    const ok = await m.transferLeader(new Prng(5), 'n1');
    expect(ok.refused).toBe(false);
    expect(['n2', 'n3']).toContain(admin.leader);
    expect(ok.detail).toBe(`n1 -> ${admin.leader}: leader now ${admin.leader}`);
    admin.refuse.add('transfer');
    const refused = await m.transferLeader(new Prng(5), admin.leader);
    expect(refused).toMatchObject({ refused: true });
    expect(refused.detail).toMatch(/refused \(transfer refused\)/);
  });
});

describe('runSchedule with membership faults', () => {
  it('counts the new kinds and leaves every node a voter after each remove-readd', async () => {
    const seed = 21;
    const admin = new FakeAdmin();
    const membership = new MembershipNemesis(admin, names, (n) => n);
    await membership.allVoters(1000);
    const events: HistoryEvent[] = [];
    const noop = (): Promise<void> => Promise.resolve();
    const result = await runSchedule({
      rng: new Prng(seed),
      net: { supports: new Set(), cut: noop, isolate: noop, loss: noop, delay: noop, reset: noop, healAll: noop },
      agents: { names, kill: noop, pause: () => undefined, heal: noop },
      membership,
      history: { write: (e) => events.push(e) },
      leader: () => admin.leader,
      deadline: Date.now() + 60_000,
      holdMs: { min: 0, max: 1 },
      restMs: { min: 0, max: 1 },
      stepsMax: 4,
      first: ['remove-readd', 'transfer-leader', 'remove-readd'],
      log: () => undefined,
    });
    expect(result.counts['remove-readd'], `seed ${seed}`).toBeGreaterThanOrEqual(1);
    expect(result.counts['transfer-leader'], `seed ${seed}`).toBeGreaterThanOrEqual(1);
    expect(Object.values(result.counts).reduce((a, b) => a + b, 0)).toBe(4);
    expect(result.refused).toEqual({});
    expect(events.filter((e) => e.t === 'fault')).toHaveLength(4);
    const heals = events.filter((e) => e.t === 'heal' && e.kind === 'remove-readd');
    expect(heals.length).toBe(result.counts['remove-readd']);
    for (const h of heals) expect(h.t === 'heal' && h.detail).toMatch(/every node a voter again/);
    expect(admin.members.filter((x) => x.voter).map((x) => x.name).sort()).toEqual(names);
  });
});
