// Fault injection: `options.faults[endpoint]` makes the next requests to an endpoint fail the way
// RunningHub or the network around it does (an HTTP error page, a business error code, a malformed
// body, a dropped connection, a slow reply), each `times` times or until the fault is replaced.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SimulatorCounters } from './engine.js';
import { envelope, HttpReply, readBody, writeReply } from './http.js';
import type { SimulatorEndpoint, SimulatorFault, SimulatorOptions } from './options.js';

export class FaultInjector {
  private readonly delayTimers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly options: () => SimulatorOptions,
    private readonly counters: () => SimulatorCounters,
  ) {}

  /** The endpoint's fault, counting down `times`. */
  take(endpoint: SimulatorEndpoint): SimulatorFault | undefined {
    const faults = this.options().faults;
    const fault = faults[endpoint];
    if (!fault) return undefined;
    if (fault.times !== undefined) {
      fault.times--;
      if (fault.times <= 0) delete faults[endpoint];
    }
    return fault;
  }

  /**
   * A fault that replaces the handling (http, code, malformed, drop before handling): sends it and
   * returns true. A delay and a drop after handling return false: the request is handled first.
   */
  async instead(fault: SimulatorFault | undefined, req: IncomingMessage, res: ServerResponse, v2: boolean): Promise<boolean> {
    if (!fault || fault.kind === 'delay' || fault.kind === 'truncate' || fault.kind === 'stall' || (fault.kind === 'drop' && fault.afterHandling)) return false;
    this.counters().faultsInjected++;
    await readBody(req).catch(() => undefined);
    if (fault.kind === 'drop') req.socket.destroy();
    else writeReply(res, faultReply(fault, v2));
    return true;
  }

  /** Sends the handled request's reply, late (delay), never (drop after handling), cut short (truncate, stall) or now. */
  deliver(fault: SimulatorFault | undefined, req: IncomingMessage, res: ServerResponse, reply: HttpReply): void {
    if (fault) {
      this.counters().faultsInjected++;
      if (fault.kind === 'drop') {
        req.socket.destroy();
        return;
      }
      if (fault.kind === 'truncate') {
        writeReply(res, reply, fault.chunked ? 'truncate-chunked' : 'truncate');
        return;
      }
      if (fault.kind === 'stall') {
        // The connection stays open (the client's idle timeout ends it; stop() closes every connection).
        writeReply(res, reply, 'stall');
        return;
      }
      if (fault.kind === 'delay') {
        const timer = setTimeout(() => {
          this.delayTimers.delete(timer);
          if (!res.destroyed) writeReply(res, reply);
        }, fault.ms);
        timer.unref();
        this.delayTimers.add(timer);
        return;
      }
    }
    writeReply(res, reply);
  }

  stop(): void {
    for (const timer of this.delayTimers) clearTimeout(timer);
    this.delayTimers.clear();
  }
}

function faultReply(fault: Exclude<SimulatorFault, { kind: 'delay' } | { kind: 'drop' } | { kind: 'truncate' } | { kind: 'stall' }>, v2: boolean): HttpReply {
  switch (fault.kind) {
    case 'http':
      return new HttpReply(fault.status, `<html><head><title>${fault.status}</title></head><body><center><h1>${fault.status} simulated</h1></center><hr><center>nginx</center></body></html>`, 'text/html');
    case 'code':
      // v2 refuses in its flat form (`{"errorCode":"421","errorMessage":…}`), v1 in its envelope.
      return v2
        ? new HttpReply(200, JSON.stringify({ errorCode: String(fault.code), errorMessage: fault.msg ?? defaultMessage(fault.code) }), 'application/json')
        : envelope(200, { code: fault.code, msg: fault.msg ?? defaultMessage(fault.code), data: null });
    case 'malformed':
      return new HttpReply(200, v2 ? '{"taskId":"1910246754753896450","status":' : '{"code":0,"msg":"success","data":{"taskId":', 'application/json');
  }
}

const MESSAGES: Record<number, string> = {
  301: 'PARAMS_INVALID',
  380: 'WORKFLOW_NOT_EXISTS',
  412: 'TOKEN_INVALID',
  415: 'TASK_INSTANCE_MAXED',
  416: 'TASK_CREATE_FAILED_BY_NOT_ENOUGH_WALLET',
  421: 'TASK_QUEUE_MAXED',
  433: 'VALIDATE_PROMPT_FAILED',
  500: 'UNKNOWN_ERROR',
  801: 'APIKEY_UNSUPPORTED_FREE_USER',
  802: 'APIKEY_UNAUTHORIZED',
  803: 'APIKEY_INVALID_NODE_INFO',
  804: 'APIKEY_TASK_IS_RUNNING',
  805: 'APIKEY_TASK_STATUS_ERROR',
  807: 'APIKEY_TASK_NOT_FOUND',
  810: 'WORKFLOW_NOT_SAVED_OR_NOT_RUNNING',
  813: 'APIKEY_TASK_IS_QUEUED',
  814: 'PERSONAL_QUEUE_COUNT_LIMIT',
  901: 'WEBAPP_NOT_EXISTS',
  1003: 'Rate limit exceeded',
  1520: 'TASK_USER_CONCURRENT_LIMIT',
};

function defaultMessage(code: number): string {
  return MESSAGES[code] ?? 'SIMULATED_ERROR';
}
