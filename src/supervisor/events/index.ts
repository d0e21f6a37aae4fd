// supervisord's event system: event types and payloads, the bus (notify), `[eventlistener:x]`
// pools speaking the listener protocol, capture mode and the tick timer.
//
// Deliberate differences from supervisord 4.2.5 (everything else is meant to be the same, and
// test/supervisor/events/ compares the two):
//  - a pool's buffer is bounded in bytes too, and a pool that is behind stops reading the programs
//    whose output it waits to send (backpressure) while its listeners make progress: see
//    listener-pool.ts PoolByteBounds and the README.
//  - PROCESS_LOG output waiting in a pool's buffer behind output of the same process and channel is
//    merged into that event (up to 128 KiB, supervisord's read size; not output cut by capture mode,
//    not an event already sent once). supervisord reads a fast writer in bigger chunks when it falls
//    behind (one read per main-loop pass, the writer blocking meanwhile); ours reads eagerly and never
//    blocks the writer, so without this a fast program would overflow `buffer_size` line by line.
//  - a pool subscribed to overlapping names (`events=PROCESS_STATE,PROCESS_STATE_RUNNING`) gets an
//    event once; supervisord buffers it once per matching name.
//  - output that is not valid UTF-8 reaches PROCESS_LOG / PROCESS_COMMUNICATION payloads with U+FFFD
//    in place of the bad bytes (supervisord replaces the whole payload by `Undecodable: b'…'`), and a
//    UTF-8 character cut between two reads is carried to the next event instead of spoiling both.
//  - a rejected event (FAIL, or the listener died) goes back to its own pool only; supervisord
//    compares processes by priority, so it also re-buffers it in every other pool that has a process
//    of the same priority (a listener may then get events it never subscribed to).
//  - at shutdown a listener pool is stopped only once it has sent and had answered the events it holds
//    (at most 5 s, supervisor.ts): supervisord stops it at once and drops them (a log forwarder's last lines).
//  - `result_handler` can only be supervisord's default (`supervisor.dispatchers:default_handler`):
//    any other is "cannot be resolved", as a Python module that is not installed.
export { EventBus, type EventSubscriber } from './bus.js';
export { CaptureRecorder, type CaptureSink } from './capture.js';
export {
  DEFAULT_POOL_BYTE_BOUNDS,
  EventListenerPool,
  type ListenerProcess,
  type ListenerState,
  type PoolByteBounds,
  type PoolLog,
} from './listener-pool.js';
export { codePoints, MERGED_OUTPUT_LIMIT, Utf8Chunks, type LogText, type OutputFlow } from './log-output.js';
export { EventSystem, type ProcessStateChange } from './system.js';
export { startTicks, timeslice } from './ticks.js';
export {
  concreteTypes,
  EVENT_TYPE_NAMES,
  isEventTypeName,
  payloadLength,
  processCommunicationEvent,
  processGroupEvent,
  processLogEvent,
  processStateEvent,
  remoteCommunicationEvent,
  supervisorStateEvent,
  SupervisorEvent,
  tickEvent,
  type Channel,
  type EventTypeName,
} from './types.js';
