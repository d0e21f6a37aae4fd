// Which RunningHub failures are worth trying again, and which are final.

export type RunningHubErrorKind = 'retryable' | 'permanent';

/**
 * Codes that mean "no capacity right now": the account, machine or rate limit is full. A task refused
 * this way was never started, so the caller should queue it again without counting an attempt.
 */
const CAPACITY_CODES = new Set(['421', '415', '814', '1520', '1003', 'HTTP_429']);

/** Transient server-side or transport trouble: try again later, counting an attempt. */
const RETRYABLE_CODES = new Set([
  '500', // UNKNOWN_ERROR
  '808', // APIKEY_UPLOAD_FAILED
  '1005', // internal error (v2)
  '1010', // unavailable
  '1011', // busy
  '1012', // upstream error
  '1504', // model timeout
  'NETWORK',
  'TIMEOUT',
  'ABORTED',
  'MALFORMED_REPLY',
]);

/** The wallet is empty: v1's 416, enterprise 812. */
const BALANCE_CODES = new Set(['416', '812']);
/** What v2 says instead when the wallet is empty (OpenClaw's INSUFFICIENT_BALANCE rule). */
const BALANCE_MESSAGE = /balance|insufficient|not enough (coins|money|wallet)|余额|钱包/i;

/** True when a refusal means the account has no coins left: pause the account, do not fail the task. */
export function isBalanceRefusal(code: string, message: string): boolean {
  if (BALANCE_CODES.has(code)) return true;
  // A transport failure's text is ours, not RunningHub's: only business codes carry a balance message.
  return /^\d+$/.test(code) && BALANCE_MESSAGE.test(message);
}

/**
 * A task that ran and FAILED for lack of coins (v2 reports it so, reference §2.5): its failure message names
 * the wallet and its want together, not only a word ("balance" alone is also a ComfyUI node's name).
 */
const BALANCE_FAILURE = /(insufficient|not enough|不足|exhausted|用尽).{0,40}(balance|coins?|money|wallet|funds|余额|钱包|算力)|(balance|coins?|money|wallet|funds|余额|钱包|算力).{0,40}(insufficient|not enough|不足|exhausted|用尽)/i;

/** True when a task's failure message says the account ran out of coins: the account pauses. */
export function isBalanceFailure(message: string): boolean {
  return BALANCE_FAILURE.test(message);
}

export function classifyCode(code: string): { kind: RunningHubErrorKind; capacity: boolean } {
  if (CAPACITY_CODES.has(code)) return { kind: 'retryable', capacity: true };
  if (RETRYABLE_CODES.has(code) || /^HTTP_5\d\d$/.test(code)) return { kind: 'retryable', capacity: false };
  // Everything else (802, 380, 901, 803, 416, 301, 807, HTTP 4xx, codes we have never seen) is final:
  // retrying a request RunningHub rejected on its merits cannot succeed.
  return { kind: 'permanent', capacity: false };
}

export interface RunningHubErrorDetails {
  /** RunningHub's business code ("421", "802") or ours for transport trouble ("NETWORK", "TIMEOUT", "HTTP_503", "MALFORMED_REPLY"). */
  code: string;
  /** RunningHub's `msg` as sent (e.g. "TASK_QUEUE_MAXED"), or a description of the transport failure. */
  remoteMessage: string;
  /** Which call failed, e.g. "create" or "outputs". */
  operation: string;
  httpStatus?: number | undefined;
  cause?: unknown;
}

export class RunningHubError extends Error {
  override name = 'RunningHubError';
  readonly kind: RunningHubErrorKind;
  /** True for "no free slot" refusals (421, 415, 814, 1520, 1003, HTTP 429): not a task failure. */
  readonly capacity: boolean;
  /** True for "the wallet is empty" (416, 812, v2's balance messages): the account pauses, see isBalanceRefusal. */
  readonly balance: boolean;
  readonly code: string;
  readonly remoteMessage: string;
  readonly operation: string;
  readonly httpStatus: number | undefined;

  constructor(details: RunningHubErrorDetails) {
    super(`RunningHub ${details.operation} failed: ${details.code} ${details.remoteMessage}`, { cause: details.cause });
    const { kind, capacity } = classifyCode(details.code);
    this.kind = kind;
    this.capacity = capacity;
    this.balance = isBalanceRefusal(details.code, details.remoteMessage);
    this.code = details.code;
    this.remoteMessage = details.remoteMessage;
    this.operation = details.operation;
    this.httpStatus = details.httpStatus;
  }

  get retryable(): boolean {
    return this.kind === 'retryable';
  }
}

export function isRunningHubError(value: unknown): value is RunningHubError {
  return value instanceof RunningHubError;
}

/** Socket errors of the connection's set-up: the request never reached RunningHub. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/**
 * True when the call surely did not reach RunningHub (no connection could be made), so nothing was
 * created: a create that failed so may be sent again without counting an attempt. A reset, a timeout or
 * a 5xx may come after RunningHub took the request, so they are not.
 */
export function wasNeverSent(error: RunningHubError): boolean {
  if (error.code !== 'NETWORK') return false;
  const cause = error.cause;
  return cause instanceof Error && NOT_CONNECTED.has((cause as NodeJS.ErrnoException).code ?? '');
}
