import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalQueryString } from '../../lib/upstream/huawei/signer.js';
import { createLakeFormationClient, queryString } from '../../lib/upstream/lakeformation/client.js';
import { countingTokens, fakeFetch } from '../support/fake-fetch.js';

const INSTANCE = '2180518f-42b8-4947-b20b-adfc53981a25';

describe('Function: queryString()', () => {
  it('writes what URLSearchParams writes, except a space as %20 instead of +', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' })), { maxLength: 5 }),
        (pairs) => {
          // URLSearchParams writes a literal + as %2B: every + it writes is a space
          const expected = new URLSearchParams(pairs).toString().replaceAll('+', '%20');
          expect(queryString(pairs)).toBe(expected);
        },
      ),
    );
  });

  it('leaves out pairs without a value', () => {
    expect(
      queryString([
        ['type', 'METADATA_MIGRATION'],
        ['status', undefined],
        ['offset', '0'],
      ]),
    ).toBe('type=METADATA_MIGRATION&offset=0');
  });

  it('gives a query whose canonical form keeps the space a space and a plus a plus', () => {
    const query = queryString([['name_pattern', 'nightly run+1 *']]);
    expect(query).toBe('name_pattern=nightly%20run%2B1%20*');
    // what the gateway signs: decoded with + as a plus, then re-encoded
    expect(canonicalQueryString(query)).toBe('name_pattern=nightly%20run%2B1%20%2A');
  });
});

describe('Function: createLakeFormationClient() listJobs query', () => {
  it('sends a name pattern with a space as %20', async () => {
    const fetch = fakeFetch([{ status: 200, body: { total: 0, jobs: [] } }]);
    const client = createLakeFormationClient({
      endpoint: 'https://lakeformation.example.com',
      projectId: '0a1b2c3d4e5f60718293a4b5c6d7e8f9',
      tokens: countingTokens(),
      fetch,
    });

    await client.listJobs({ instanceId: INSTANCE, type: 'METADATA_MIGRATION', namePattern: 'nightly run*' });

    expect(fetch.calls[0]?.url).toMatch(
      /\/lf-jobs\?type=METADATA_MIGRATION&name_pattern=nightly%20run\*&offset=0&limit=100$/,
    );
  });
});
