/**
 * The decryptable recordings in captures/ (NAME.pcapng, made by `npm run record-captures -- -t decryptable` with
 * the probe's own --record recorder): real xrdp and FreeRDP shadow sessions and the lab's failures. Each is
 * analyzed with nothing but its own Decryption Secrets Block and must give the verdict its NAME.expect.json
 * recorded live; tshark reads the same file decrypted as an independent check.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../../src/pcap/analyze.js';
import { expectLiveFacts } from './files.js';
import { readCapture } from '../../src/pcap/capture.js';
import { decodePacket } from '../../src/pcap/decode-packet.js';
import { findSecret } from '../../src/probe/recorder.js';
import { haveTshark, tshark } from '../record/helpers.js';

const DIR = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../captures');
const names = readdirSync(DIR).filter((f) => f.endsWith('.pcapng')).map((f) => f.slice(0, -7));
/** The test accounts' passwords (captures/README.md): none may be in a recording. */
const PASSWORDS = ['Passw0rd!', 'lab-password', 'not-the-lab-password'];
const tsharkOk = haveTshark();

/** What tshark must see in each, decrypted: CredSSP for NLA, T.125/RDP PDUs past MCS. */
const SEEN: Record<string, string[]> = {
  'xrdp-tls_session_connects': ['attachUserConfirm', 'channelJoinConfirm', 'License Request'],
  'shadow-nla_auth_ok': ['NTLMSSP_AUTH', 'User name: rdpuser', 'pubKeyAuth'],
  'lab-nla-logon-failure': ['NTLMSSP_AUTH', `errorCode: ${0xc000006d | 0}`],
  'lab-errinfo-0x7': ['channelJoinConfirm', 'disconnectProviderUltimatum'],
  'lab-license-no-server': ['channelJoinConfirm', 'bMsgType: Error Alert (0xff)'],
};

describe('decryptable recordings replay to the live verdict', () => {
  it('the five recordings are there', () => expect(names.sort()).toEqual(Object.keys(SEEN).sort()));

  describe.each(names)('%s', (name) => {
    const bytes = new Uint8Array(readFileSync(resolve(DIR, `${name}.pcapng`)));
    const live = JSON.parse(readFileSync(resolve(DIR, `${name}.expect.json`), 'utf8')) as { connections: number; firstConnection: Record<string, string> };

    it('analyze with the embedded secrets only: same verdict, stage, error kind, code name, protocol and TLS version', () => {
      const a = analyzeCapture(bytes);
      expect(a.embeddedSecrets).toBeGreaterThanOrEqual(1);
      expect(a.connections).toHaveLength(live.connections);
      expectLiveFacts(a.connections[0]!.report, live.firstConnection);
    });

    it('no password in it, in any encoding', () => {
      for (const p of PASSWORDS) expect(findSecret(bytes, p)).toBeUndefined();
    });

    it.skipIf(!tsharkOk)('tshark decrypts it from the file alone and sees the PDUs', () => {
      const first = readCapture(bytes).packets.map((p) => decodePacket(p)).find((d) => d.kind === 'tcp');
      const port = first?.kind === 'tcp' ? first.segment.dstPort : 3389;
      const out = tshark(resolve(DIR, `${name}.pcapng`), port, ['-V']);
      for (const s of SEEN[name] ?? []) expect(out).toContain(s);
      for (const p of PASSWORDS) expect(out.includes(p)).toBe(false);
    });
  });
});
