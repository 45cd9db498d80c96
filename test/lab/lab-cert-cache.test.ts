/**
 * The lab's certificates are reused from disk between runs (issue #11: making them was most of `check --lab`'s
 * start-up), but only from a directory of this user's alone, and only while they are fresh.
 */
import { chmodSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateLabCerts, LAB_CERT_NAMES } from '../../src/lab/certs.js';
import { testTempDir } from '../helpers/temp-dir.js';

const DAY = 86_400_000;

describe('lab certificate cache', () => {
  it('a second start reuses the certificates; an old cache or a shared directory is not used', async () => {
    const base = testTempDir('rdp-probe-labcache-');
    const dir = join(base, 'cache');
    const now = new Date();
    const first = await generateLabCerts(now, dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const [file] = readdirSync(dir);
    expect(statSync(join(dir, file!)).mode & 0o777).toBe(0o600);

    const again = await generateLabCerts(new Date(now.getTime() + DAY), dir);
    expect(again.ca.certPem).toBe(first.ca.certPem);
    for (const n of LAB_CERT_NAMES) {
      expect(again.certs[n].certPem).toBe(first.certs[n].certPem);
      expect(again.certs[n].keyPem).toBe(first.certs[n].keyPem);
      expect(Buffer.from(again.certs[n].certDer).equals(Buffer.from(first.certs[n].certDer))).toBe(true);
      expect(new X509Certificate(again.certs[n].certDer).fingerprint256).toBe(new X509Certificate(first.certs[n].certPem).fingerprint256);
    }

    // Eight days on, the cache is too old: new certificates (and a new cache).
    const later = await generateLabCerts(new Date(now.getTime() + 8 * DAY), dir);
    expect(later.certs.good.certPem).not.toBe(first.certs.good.certPem);

    // A directory others may write to is neither read nor written.
    chmodSync(dir, 0o777);
    const open = await generateLabCerts(new Date(now.getTime() + 8 * DAY), dir);
    expect(open.certs.good.certPem).not.toBe(later.certs.good.certPem);
    chmodSync(dir, 0o700);
    const back = await generateLabCerts(new Date(now.getTime() + 8 * DAY), dir);
    expect(back.certs.good.certPem).toBe(later.certs.good.certPem);
  }, 60_000);

  it('null: no cache at all', async () => {
    const a = await generateLabCerts(new Date(), null);
    const b = await generateLabCerts(new Date(), null);
    expect(a.certs.good.certPem).not.toBe(b.certs.good.certPem);
  }, 60_000);
});
