/** 'host:port', with IPv6 addresses in brackets: '[::1]:3389'. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
