/** A loopback port nothing listens on (bound, then closed): a closed port for a probe, or a free one for a server. */
import net from 'node:net';

export async function closedPort(host = '127.0.0.1'): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, host, r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
