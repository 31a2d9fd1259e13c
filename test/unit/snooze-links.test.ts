import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keyId, MAX_TOKEN_LENGTH, signLink, snoozeUrl, verifyLink } from '../../lib/domain/snooze/links.js';

const NOW = Date.UTC(2026, 11, 2, 9, 0, 0);
const KEY = 'k'.repeat(40);
const OLD_KEY = 'o'.repeat(40);
const LINK = {
  jobId: 'job-1',
  instanceId: 'inst-1',
  runStartedAt: NOW - 200 * 60_000,
  minutes: 240,
  expiresAt: NOW + 3600_000,
};

describe('Snooze links', () => {
  it('verifies a link it signed, giving back what it binds', () => {
    const check = verifyLink(signLink(LINK, KEY), [KEY], NOW);
    expect(check).toEqual({ ok: true, link: LINK, linkId: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('verifies with any key of the list (rotation), and names an unknown key as such', () => {
    const token = signLink(LINK, OLD_KEY);
    expect(verifyLink(token, [KEY, OLD_KEY], NOW)).toMatchObject({ ok: true });
    expect(verifyLink(token, [KEY], NOW)).toEqual({ ok: false, reason: 'unknown-key' });
    expect(verifyLink(token, [], NOW)).toEqual({ ok: false, reason: 'unknown-key' });
  });

  it('refuses a token whose payload or signature was changed as tampered', () => {
    const [payload, kid, mac] = signLink(LINK, KEY).split('.') as [string, string, string];
    const longer = Buffer.from(
      JSON.stringify({
        v: 1,
        j: 'job-1',
        i: 'inst-1',
        r: LINK.runStartedAt,
        m: 100_000,
        e: LINK.expiresAt / 1000,
      }),
    ).toString('base64url');
    expect(verifyLink(`${longer}.${kid}.${mac}`, [KEY], NOW)).toEqual({ ok: false, reason: 'tampered' });
    const flipped = `${mac.slice(0, -2)}${mac.endsWith('AA') ? 'BB' : 'AA'}`;
    expect(verifyLink(`${payload}.${kid}.${flipped}`, [KEY], NOW)).toEqual({ ok: false, reason: 'tampered' });
    expect(verifyLink(`${payload}.${kid}.${mac.slice(0, 10)}`, [KEY], NOW)).toEqual({
      ok: false,
      reason: 'tampered',
    });
    // a key id copied onto another key's signature
    expect(
      verifyLink(`${payload}.${keyId(KEY)}.${signLink(LINK, OLD_KEY).split('.')[2]}`, [KEY, OLD_KEY], NOW),
    ).toEqual({
      ok: false,
      reason: 'tampered',
    });
  });

  it('refuses a signed payload it could not have written', () => {
    const payload = Buffer.from(
      JSON.stringify({ v: 1, j: '../etc', i: 'inst-1', r: 1, m: 1, e: 9e9 }),
    ).toString('base64url');
    const kid = keyId(KEY);
    const mac = createHmac('sha256', KEY)
      .update(`lf-job-stopper snooze link v1\n${payload}.${kid}`)
      .digest('base64url');
    expect(verifyLink(`${payload}.${kid}.${mac}`, [KEY], NOW)).toEqual({ ok: false, reason: 'tampered' });
  });

  it('refuses an expired link, still saying which job it was for', () => {
    const token = signLink({ ...LINK, expiresAt: NOW }, KEY);
    expect(verifyLink(token, [KEY], NOW - 1000)).toMatchObject({ ok: true });
    expect(verifyLink(token, [KEY], NOW)).toEqual({
      ok: false,
      reason: 'expired',
      link: { ...LINK, expiresAt: NOW },
    });
  });

  it.each([
    ['nothing', undefined],
    ['an empty token', ''],
    ['two parts', 'abc.def'],
    ['four parts', 'a.b.c.d'],
    ['characters outside base64url', 'a+b.c.d'],
    ['an overlong token', `${'a'.repeat(MAX_TOKEN_LENGTH)}.b.c`],
  ])('refuses %s as malformed', (_name, token) => {
    expect(verifyLink(token, [KEY], NOW)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('never puts the key in the token, and the same link signs the same way', () => {
    const token = signLink(LINK, KEY);
    expect(token).not.toContain(KEY);
    expect(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()).not.toContain(KEY);
    expect(signLink(LINK, KEY)).toBe(token);
    expect(signLink({ ...LINK, minutes: 60 }, KEY)).not.toBe(token);
  });

  it('builds the URL on the public base, with or without a trailing slash', () => {
    expect(snoozeUrl('https://api.example/', 'T')).toBe('https://api.example/snooze?t=T');
    expect(snoozeUrl('https://api.example/prod', 'T')).toBe('https://api.example/prod/snooze?t=T');
  });
});
