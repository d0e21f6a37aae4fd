// The pool's event buffer (supervisord's event_buffer list) as a queue without O(n) shifts.
import type { SupervisorEvent } from './types.js';

/**
 * A FIFO with cheap removal at both ends (the pool's event_buffer: oldest first,
 * rejected events go back to the front).
 */
export class EventQueue {
  private items: (SupervisorEvent | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  shift(): SupervisorEvent | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head += 1;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  push(event: SupervisorEvent): void {
    this.items.push(event);
  }

  last(): SupervisorEvent | undefined {
    return this.head < this.items.length ? this.items[this.items.length - 1] : undefined;
  }

  replaceLast(event: SupervisorEvent): void {
    this.items[this.items.length - 1] = event;
  }

  unshift(event: SupervisorEvent): void {
    if (this.head > 0) {
      this.head -= 1;
      this.items[this.head] = event;
    } else {
      this.items.unshift(event);
    }
  }
}
