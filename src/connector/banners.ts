/** Names a non-RDP reply from its first bytes, for the "not RDP" verdict. Pure. */
export function describeNonRdp(bytes: Uint8Array): { name: string; sentence: string } {
  const head = String.fromCharCode(...bytes.subarray(0, Math.min(bytes.length, 64)));
  const printable = head.replace(/[^\x20-\x7e]/g, '.').trim();
  if (head.startsWith('SSH-')) return { name: 'SSH banner', sentence: `an SSH server answered (${firstLine(head)})` };
  if (/^HTTP\/\d/.test(head)) return { name: 'HTTP response', sentence: `an HTTP server answered (${firstLine(head)})` };
  if (/^(220|421)[ -]/.test(head)) return { name: 'SMTP/FTP banner', sentence: `a text protocol server answered (${firstLine(head)})` };
  if (bytes[0] === 0x15 && bytes[1] === 0x03) return { name: 'TLS alert', sentence: 'a TLS server answered with an alert: it expects a TLS ClientHello first, not X.224' };
  if (bytes[0] === 0x16 && bytes[1] === 0x03) return { name: 'TLS handshake', sentence: 'a TLS server answered with a handshake record instead of X.224' };
  // The share of printable characters among the first bytes (not of the dotted copy, where every byte counts).
  const printableShare = head.replace(/[^\x20-\x7e\r\n\t]/g, '').length / Math.max(1, head.length);
  if (printableShare > 0.8 && printable.length > 3) return { name: 'text', sentence: `the service answered with text ("${printable.slice(0, 40)}")` };
  return { name: 'unknown bytes', sentence: `the service answered with ${bytes.length} byte(s) that are not an RDP answer` };
}

function firstLine(s: string): string {
  const line = s.split(/\r?\n/)[0] ?? '';
  return line.replace(/[^\x20-\x7e]/g, '').slice(0, 60);
}
