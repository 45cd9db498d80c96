/**
 * An in-process scripted RDP peer on loopback, for the cases no real server on this machine can show
 * (INCONSISTENT_FLAGS, a hung listener, a banner, a reset right after the Connection Request…). Each connection
 * runs the script; the server records what the client sent.
 */
import net from 'node:net';

export interface ScriptedServer {
  host: string;
  port: number;
  /** Every Connection Request received, in order. */
  requests: Uint8Array[];
  connections: number;
  close(): Promise<void>;
}

export type Script = (socket: net.Socket, request: Uint8Array | undefined, server: ScriptedServer) => unknown;

export interface ScriptOptions {
  host?: string;
  /** When true the script runs at accept time, before any client byte (a banner server). */
  onAccept?: boolean;
}

export async function startScripted(script: Script, opts: ScriptOptions = {}): Promise<ScriptedServer> {
  const sockets = new Set<net.Socket>();
  const state: ScriptedServer = {
    host: opts.host ?? '127.0.0.1',
    port: 0,
    requests: [],
    connections: 0,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    state.connections++;
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (opts.onAccept) {
      void script(socket, undefined, state);
      return;
    }
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 4 && buf[0] === 3) {
        const len = buf.readUInt16BE(2);
        if (buf.length < len) return;
        socket.removeListener('data', onData);
        socket.pause();
        const req = new Uint8Array(buf.subarray(0, len));
        state.requests.push(req);
        const rest = buf.subarray(len);
        if (rest.length > 0) socket.unshift(rest);
        void script(socket, req, state);
      } else if (buf.length > 0 && buf[0] !== 3) {
        socket.removeListener('data', onData);
        void script(socket, new Uint8Array(buf), state);
      }
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, state.host, () => resolve());
  });
  state.port = (server.address() as net.AddressInfo).port;
  return state;
}

/** requestedProtocols of an X.224 CR frame with RDP_NEG_REQ at its end (no correlation info). */
export function requestedProtocolsOf(req: Uint8Array): number | undefined {
  if (req.length < 19) return undefined;
  const neg = req.subarray(req.length - 8);
  if (neg[0] !== 1) return undefined;
  return neg[4]! | (neg[5]! << 8) | (neg[6]! << 16) | (neg[7]! << 24);
}
