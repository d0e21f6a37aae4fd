// Which hosts the api may fetch a client's URL from (UPLOAD_URL_ALLOWED_HOSTS). Fetching whatever URL
// a client names, from inside our network, is server-side request forgery: it would reach PostgreSQL's
// neighbours, supervisord's console, a cloud metadata address. So only listed hosts are fetched, and
// the list is checked for every hop of a redirect, not only for the URL the client wrote.

const HOST_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;
const IPV6_LITERAL = /^\[[0-9a-f:.]+\]$/;

/** Host names compare without case and without a final dot (`Example.COM.` is `example.com`). */
function normalise(host: string): string {
  return host.trim().toLowerCase().replace(/\.$/, '');
}

/** A parsed allow-list: exact host names (or IP literals) and `*.suffix` (any name below the suffix, not the suffix itself). */
export class AllowedHosts {
  private constructor(
    private readonly exact: ReadonlySet<string>,
    /** Each with its leading dot: `.example.com`. */
    private readonly suffixes: readonly string[],
  ) {}

  /** Comma-separated entries; empty entries are ignored. Throws an Error naming the first bad entry. */
  static parse(text: string): AllowedHosts {
    const exact = new Set<string>();
    const suffixes: string[] = [];
    for (const raw of text.split(',')) {
      const entry = normalise(raw);
      if (entry === '') continue;
      if (entry.startsWith('*.') && HOST_NAME.test(entry.slice(2))) {
        suffixes.push(entry.slice(1));
      } else if (HOST_NAME.test(entry) || IPV6_LITERAL.test(entry)) {
        exact.add(entry);
      } else {
        throw new Error(
          `${JSON.stringify(raw.trim())} is not a host name or *.suffix (a name without scheme, port or path, e.g. images.example.com or *.example.com)`,
        );
      }
    }
    return new AllowedHosts(exact, suffixes);
  }

  /** No entry: no URL may be fetched. */
  get empty(): boolean {
    return this.exact.size === 0 && this.suffixes.length === 0;
  }

  /** `hostname` as URL.hostname gives it (IPv6 in brackets). */
  allows(hostname: string): boolean {
    const host = normalise(hostname);
    return this.exact.has(host) || this.suffixes.some((suffix) => host.endsWith(suffix) && host.length > suffix.length);
  }
}

/** A URL (or a redirect's target) whose host the allow-list does not name: nothing was requested from it. */
export class HostNotAllowedError extends Error {
  override name = 'HostNotAllowedError';
  constructor(
    readonly host: string,
    /** True when a redirect led there (the URL the client gave was allowed). */
    readonly redirected: boolean,
  ) {
    super(`${redirected ? 'redirected to' : 'the'} host ${JSON.stringify(host)}, which is not in UPLOAD_URL_ALLOWED_HOSTS`);
  }
}
