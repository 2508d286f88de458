import type { AddressInfo, Server } from 'node:net';
import type { ListenAddress } from '../config/listen.js';
import { P1Error, type P1ErrorCode } from '../errors.js';

/** Why a server could not bind, in words that point at the fix. */
function listenHint(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'EADDRINUSE':
      return 'address in use (another p1logger?)';
    case 'EACCES':
      return 'permission denied (ports below 1024 need root)';
    case 'EADDRNOTAVAIL':
      return 'no such address on this machine';
    default:
      return error.code ?? error.message;
  }
}

/**
 * Binds `server` (the status page, the relay) to `address`; a failure is a P1Error with `code` that names the
 * address, the reason and `settings`, where to change it.
 */
export function listenOn(server: Server, address: ListenAddress, code: P1ErrorCode, settings: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      reject(new P1Error(code, `cannot listen on ${address.host}:${address.port}: ${listenHint(error)}; set ${settings}`, { cause: error }));
    };
    server.once('error', onError);
    server.listen({ host: address.host, port: address.port }, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}
