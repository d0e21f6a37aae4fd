// Capture mode (dispatchers.py POutputDispatcher.record_output with *_capture_maxbytes > 0): output
// between <!--XSUPERVISOR:BEGIN--> and <!--XSUPERVISOR:END--> goes to a bounded capture buffer
// instead of the log file and becomes one PROCESS_COMMUNICATION event. Ported with supervisord's
// quirks: a buffer no longer than the token it looks for is held back until more output comes,
// and a partial token at the end of a read waits for the next one.

const BEGIN_TOKEN = Buffer.from('<!--XSUPERVISOR:BEGIN-->');
const END_TOKEN = Buffer.from('<!--XSUPERVISOR:END-->');
const EMPTY = Buffer.alloc(0);

export interface CaptureSink {
  /**
   * Output to log as supervisord's _log does (ANSI stripping, main log, PROCESS_LOG events); to the
   * log file only when not `capturing`. Returns the data as logged, which the capture buffer keeps.
   */
  log(data: Buffer, capturing: boolean): Buffer;
  /** The END token came: what was captured (PROCESS_COMMUNICATION_*). */
  captured(data: Buffer): void;
}

/** find_prefix_at_end: the length of the longest proper prefix of `token` that `data` ends with. */
function prefixAtEnd(data: Buffer, token: Buffer): number {
  for (let length = Math.min(token.length - 1, data.length); length > 0; length -= 1) {
    if (data.subarray(data.length - length).equals(token.subarray(0, length))) return length;
  }
  return 0;
}

export class CaptureRecorder {
  private pending: Buffer = EMPTY;
  private capturing = false;
  private capture: Buffer = EMPTY;

  constructor(
    private readonly maxBytes: number,
    private readonly sink: CaptureSink,
  ) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (;;) {
      const token = this.capturing ? END_TOKEN : BEGIN_TOKEN;
      if (this.pending.length <= token.length) return; // not enough data
      const data = this.pending;
      this.pending = EMPTY;
      const at = data.indexOf(token);
      if (at === -1) {
        const keep = prefixAtEnd(data, token);
        if (keep > 0) this.pending = data.subarray(data.length - keep);
        this.log(keep > 0 ? data.subarray(0, data.length - keep) : data);
        return;
      }
      this.log(data.subarray(0, at));
      this.toggle();
      this.pending = data.subarray(at + token.length);
      if (this.pending.length === 0) return;
    }
  }

  private log(data: Buffer): void {
    if (data.length === 0) return;
    const logged = this.sink.log(data, this.capturing);
    if (!this.capturing) return;
    // supervisord's BoundIO: when full, drop as many bytes from the front as are written.
    const kept = this.capture.length + logged.length > this.maxBytes ? this.capture.subarray(logged.length) : this.capture;
    this.capture = Buffer.concat([kept, logged]);
  }

  private toggle(): void {
    this.capturing = !this.capturing;
    if (this.capturing) return;
    const captured = this.capture;
    this.capture = EMPTY;
    this.sink.captured(captured);
  }
}
