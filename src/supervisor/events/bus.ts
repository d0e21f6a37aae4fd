// supervisord's notify(): an event goes to every pool subscribed to its type, in the order the
// pools subscribed. Publishers ask `wants(type)` first, so an event nobody listens to costs nothing.
import type { EventTypeName, SupervisorEvent } from './types.js';

export interface EventSubscriber {
  accept(event: SupervisorEvent): void;
}

/**
 * supervisord's GlobalSerial: one counter for the life of the supervisord process (a restart
 * keeps counting), given to an event by the first pool that accepts it.
 */
const globalSerial = { value: -1 };

export function nextGlobalSerial(): number {
  globalSerial.value = globalSerial.value === Number.MAX_SAFE_INTEGER ? 0 : globalSerial.value + 1;
  return globalSerial.value;
}

export class EventBus {
  private readonly byType = new Map<EventTypeName, EventSubscriber[]>();

  /** Subscribe to concrete types (see concreteTypes); one delivery per event however many names match. */
  subscribe(subscriber: EventSubscriber, types: Iterable<EventTypeName>): void {
    for (const type of types) {
      const list = this.byType.get(type);
      if (list === undefined) this.byType.set(type, [subscriber]);
      else if (!list.includes(subscriber)) list.push(subscriber);
    }
  }

  unsubscribe(subscriber: EventSubscriber): void {
    for (const [type, list] of this.byType) {
      const remaining = list.filter((candidate) => candidate !== subscriber);
      if (remaining.length === 0) this.byType.delete(type);
      else this.byType.set(type, remaining);
    }
  }

  wants(type: EventTypeName): boolean {
    return this.byType.has(type);
  }

  publish(event: SupervisorEvent): void {
    const list = this.byType.get(event.type);
    if (list === undefined) return;
    // unsubscribe() replaces the list, so this one stays intact if a subscriber leaves meanwhile.
    for (const subscriber of list) subscriber.accept(event);
  }
}
