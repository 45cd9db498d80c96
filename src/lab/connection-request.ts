import type net from 'node:net';
import { frameLengthTpkt } from '../protocol/tpkt.js';
import { decodeX224Frame, type ConnectionRequest } from '../protocol/x224.js';

/** A client's first frame is small; more bytes without a whole TPKT frame is not an RDP client. */
const MAX_CR_BYTES = 1024;

/**
 * Reads the first TPKT-framed X.224 TPDU on a lab socket and hands on the decoded Connection Request, with the
 * socket paused and any bytes after the frame put back. Anything else (not TPKT, too long, not a CR) is written to
 * `errors` and the socket destroyed, as a server that does not understand the client would.
 */
export function readConnectionRequest(raw: net.Socket, errors: string[], then: (cr: ConnectionRequest) => void): void {
  let buf = Buffer.alloc(0);
  const fail = (e: unknown): void => {
    errors.push(`x224: ${e instanceof Error ? e.message : String(e)}`);
    raw.destroy();
  };
  const onData = (d: Buffer): void => {
    buf = Buffer.concat([buf, d]);
    let len: number | undefined;
    try {
      len = frameLengthTpkt(buf);
    } catch (e) {
      fail(e);
      return;
    }
    if (len === undefined || buf.length < len) {
      if (buf.length > MAX_CR_BYTES) raw.destroy();
      return;
    }
    raw.off('data', onData);
    raw.pause();
    const frame = new Uint8Array(buf.subarray(0, len));
    if (buf.length > len) raw.unshift(buf.subarray(len));
    let pdu;
    try {
      pdu = decodeX224Frame(frame);
      if (pdu.type !== 'connection_request') throw new Error(`expected a Connection Request, got ${pdu.type}`);
    } catch (e) {
      fail(e);
      return;
    }
    then(pdu);
  };
  raw.on('data', onData);
}
