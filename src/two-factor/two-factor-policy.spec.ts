import type { ClientKind } from '../clients/client.entity';
import {
  TwoFactorFacts,
  daysLeft,
  deriveStage,
  isOutsideGroupClient,
  isTwoFactorRequired,
  loginNotice,
  offersTwoFactor,
} from './two-factor-policy';

const NOW = new Date('2026-03-02T09:00:00.000Z');
const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

function client(id: number, kind: ClientKind = 'standard', requireTwoFactor = false) {
  return { id, kind, requireTwoFactor };
}

function facts(
  overrides: Partial<TwoFactorFacts> & { deadline?: Date | null; exempt?: boolean } = {},
) {
  const homeClient = overrides.homeClient ?? client(1);

  return {
    user: {
      twoFactorExempt: overrides.exempt ?? false,
      twoFactorDeadline: overrides.deadline ?? null,
    },
    homeClient,
    activeClient: overrides.activeClient ?? homeClient,
    active: overrides.active ?? false,
  };
}

const requiring = client(1, 'standard', true);
const unverified = { secondFactorVerifiedAt: null };
const verified = { secondFactorVerifiedAt: NOW };

describe('offersTwoFactor', () => {
  it.each([
    ['standard', true],
    ['group', true],
    ['small', false],
  ] as const)('for a %s client: %s', (kind, offered) => {
    expect(offersTwoFactor({ kind })).toBe(offered);
  });
});

describe('isTwoFactorRequired', () => {
  it('requires a user whose home client requires 2FA', () => {
    expect(isTwoFactorRequired(facts({ homeClient: requiring }))).toBe(true);
  });

  it('does not require a user whose client does not require it', () => {
    expect(isTwoFactorRequired(facts())).toBe(false);
  });

  it('does not require a user who already has 2FA active', () => {
    expect(isTwoFactorRequired(facts({ homeClient: requiring, active: true }))).toBe(false);
  });

  it('does not require an exempt user', () => {
    expect(isTwoFactorRequired(facts({ homeClient: requiring, exempt: true }))).toBe(false);
  });

  it('does not require a user of a small client, whatever its setting', () => {
    expect(isTwoFactorRequired(facts({ homeClient: client(1, 'small', true) }))).toBe(false);
  });

  it('requires a cross-client user while the active member client requires it', () => {
    const group = client(1, 'group');

    expect(
      isTwoFactorRequired(facts({ homeClient: group, activeClient: client(2, 'standard', true) })),
    ).toBe(true);
    expect(isTwoFactorRequired(facts({ homeClient: group, activeClient: client(2) }))).toBe(false);
  });

  it('requires a cross-client user whose group client requires it, in any member client', () => {
    const group = client(1, 'group', true);

    expect(isTwoFactorRequired(facts({ homeClient: group, activeClient: client(2) }))).toBe(true);
  });

  it('looks at the active client only for users of a group client', () => {
    expect(
      isTwoFactorRequired(
        facts({ homeClient: client(1), activeClient: client(2, 'standard', true) }),
      ),
    ).toBe(false);
  });
});

describe('isOutsideGroupClient', () => {
  it('is true for a cross-client user in a member client only', () => {
    const group = client(1, 'group');

    expect(isOutsideGroupClient({ homeClient: group, activeClient: client(2) })).toBe(true);
    expect(isOutsideGroupClient({ homeClient: group, activeClient: group })).toBe(false);
    expect(isOutsideGroupClient({ homeClient: client(1), activeClient: client(1) })).toBe(false);
  });
});

describe('deriveStage', () => {
  it('asks for the code while 2FA is active and this session has not passed it', () => {
    expect(deriveStage(unverified, facts({ active: true }), NOW)).toBe('two-factor-required');
  });

  it('is authenticated once the session passed the code', () => {
    expect(deriveStage(verified, facts({ active: true }), NOW)).toBe('authenticated');
  });

  it('asks for no code in a small client, even with a secret on file', () => {
    expect(
      deriveStage(unverified, facts({ active: true, homeClient: client(1, 'small') }), NOW),
    ).toBe('authenticated');
  });

  it('holds a required user to setup from the deadline on', () => {
    const at = (deadline: Date) =>
      deriveStage(unverified, facts({ homeClient: requiring, deadline }), NOW);

    expect(at(new Date(NOW.getTime() + 1))).toBe('authenticated');
    expect(at(NOW)).toBe('two-factor-setup-required');
    expect(at(new Date(NOW.getTime() - DAY))).toBe('two-factor-setup-required');
  });

  it('does not hold a user to setup without a deadline', () => {
    expect(deriveStage(unverified, facts({ homeClient: requiring }), NOW)).toBe('authenticated');
  });

  it('does not hold a user to setup who is no longer required', () => {
    const past = new Date(NOW.getTime() - DAY);

    expect(deriveStage(unverified, facts({ deadline: past }), NOW)).toBe('authenticated');
    expect(
      deriveStage(unverified, facts({ homeClient: requiring, deadline: past, exempt: true }), NOW),
    ).toBe('authenticated');
  });

  it('asks for the code before anything else', () => {
    const past = new Date(NOW.getTime() - DAY);

    expect(
      deriveStage(unverified, facts({ homeClient: requiring, deadline: past, active: true }), NOW),
    ).toBe('two-factor-required');
  });
});

describe('daysLeft', () => {
  it.each([
    ['exactly ten days', 10 * DAY, 10],
    ['nine days and a millisecond', 9 * DAY + 1, 10],
    ['one hour', HOUR, 1],
    ['one millisecond', 1, 1],
    ['no time', 0, 0],
    ['a passed deadline', -DAY, 0],
  ])('rounds %s up to %s whole days', (_case, ms, expected) => {
    expect(daysLeft(new Date(NOW.getTime() + ms), NOW)).toBe(expected);
  });
});

describe('loginNotice', () => {
  it('tells a required user the deadline and the whole days left', () => {
    const deadline = new Date(NOW.getTime() + 2 * DAY + HOUR);

    expect(loginNotice(facts({ homeClient: requiring, deadline }), NOW)).toEqual({
      kind: 'two-factor-required',
      deadline: '2026-03-04T10:00:00.000Z',
      daysLeft: 3,
    });
  });

  it('tells a user held to setup that no day is left', () => {
    const deadline = new Date(NOW.getTime() - HOUR);

    expect(loginNotice(facts({ homeClient: requiring, deadline }), NOW)).toMatchObject({
      kind: 'two-factor-required',
      daysLeft: 0,
    });
  });

  it('recommends 2FA to an exempt user who has none', () => {
    expect(loginNotice(facts({ homeClient: requiring, exempt: true }), NOW)).toEqual({
      kind: 'two-factor-recommended',
    });
  });

  it('has nothing to say to an exempt user with 2FA, nor in a small client', () => {
    expect(loginNotice(facts({ exempt: true, active: true }), NOW)).toBeNull();
    expect(loginNotice(facts({ exempt: true, homeClient: client(1, 'small') }), NOW)).toBeNull();
  });

  it('has nothing to say to a user who is not required, or who has 2FA', () => {
    expect(loginNotice(facts(), NOW)).toBeNull();
    const deadline = new Date(NOW.getTime() + DAY);
    expect(loginNotice(facts({ homeClient: requiring, deadline, active: true }), NOW)).toBeNull();
  });
});
