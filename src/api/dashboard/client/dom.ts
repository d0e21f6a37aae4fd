/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// A few DOM helpers for the dashboard's script: build elements, format times and ages.

type Child = Node | string | number | null | undefined | false;
type Attr = string | number | boolean | undefined | null | ((event: Event) => void);

/** `h('a', { href: '#/x', onclick: f }, 'text')`: attributes set, `on*` listeners added, children appended. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, Attr> = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** "42 s", "3 min 5 s", "2 h 10 min", "3 d 4 h". */
export function age(seconds: number | null): string {
  if (seconds === null) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

/** Local date and time, seconds included; '—' for none. */
export function time(iso: string | null): string {
  if (iso === null) return '—';
  const date = new Date(iso);
  return date.toLocaleString(undefined, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** Seconds from `from` to `to` (ISO strings). */
export function secondsBetween(from: string, to: string): number {
  return (Date.parse(to) - Date.parse(from)) / 1000;
}

export function statusBadge(status: string): HTMLElement {
  return h('span', { class: `badge s-${status.toLowerCase()}` }, status);
}

/**
 * A mouse or pen that moved over a list this recently is aiming at it; one resting longer is only left
 * there while its user watches (a list held then would never update).
 */
const AIMING_MS = 2000;
/** The pointer's kind and last movement: a touch leaves :hover behind, a mouse or a pen means it. */
let pointerKind = 'mouse';
let pointerMovedAt = Number.NEGATIVE_INFINITY;
for (const type of ['pointermove', 'pointerdown'] as const) {
  document.addEventListener(type, (event) => {
    pointerKind = event.pointerType;
    pointerMovedAt = performance.now();
  }, { capture: true, passive: true });
}

function aimedAt(target: HTMLElement): boolean {
  return pointerKind !== 'touch' && target.matches(':hover') && performance.now() - pointerMovedAt < AIMING_MS;
}

/** Held content per element: the latest content, shown by `show`, and the timer that looks again. */
interface Hold {
  show: () => void;
  timer: number;
}
const holds = new WeakMap<HTMLElement, Hold>();

/**
 * Replace `target`'s content with `content` only when `signature` changed (a refresh with the same data
 * touches nothing, so focus, selection and scroll stay), and give focus back to the control with the same
 * data-key when the focused one was replaced.
 * `holdWhileAimedAt`: for lists whose rows move (newest first). While a mouse or pen moves over `target`,
 * new content waits until it leaves or rests for AIMING_MS, so a row's button never slides away under the
 * pointer between aiming and clicking (the click would land on another task's button). `target` says so
 * with data-held="yes" (the page shows a note). Keyboard focus needs no hold: it follows its data-key.
 */
export function swap(target: HTMLElement, signature: string, content: Node[], options: { holdWhileAimedAt?: boolean } = {}): void {
  if (target.dataset.signature === signature) {
    release(target);
    return;
  }
  if (options.holdWhileAimedAt && aimedAt(target)) {
    hold(target, () => swap(target, signature, content));
    return;
  }
  release(target);
  const focusedKey = document.activeElement instanceof HTMLElement && target.contains(document.activeElement) ? document.activeElement.dataset.key : undefined;
  target.dataset.signature = signature;
  target.replaceChildren(...content);
  if (focusedKey !== undefined) target.querySelector<HTMLElement>(`[data-key="${CSS.escape(focusedKey)}"]`)?.focus();
}

/** Keep `show` (the latest content) until the pointer leaves `target` or stops aiming at it. */
function hold(target: HTMLElement, show: () => void): void {
  const current = holds.get(target);
  if (current) {
    current.show = show;
    return;
  }
  const held: Hold = { show, timer: 0 };
  holds.set(target, held);
  target.dataset.held = 'yes';
  // `show` swaps without the hold: at pointerleave a browser may still report :hover.
  const showNow = (): void => {
    if (holds.get(target) === held) held.show();
  };
  const lookAgain = (): void => {
    if (holds.get(target) !== held) return;
    if (aimedAt(target)) held.timer = window.setTimeout(lookAgain, AIMING_MS - (performance.now() - pointerMovedAt) + 20);
    else showNow();
  };
  target.addEventListener('pointerleave', showNow, { once: true });
  held.timer = window.setTimeout(lookAgain, AIMING_MS - (performance.now() - pointerMovedAt) + 20);
}

function release(target: HTMLElement): void {
  const held = holds.get(target);
  if (!held) return;
  window.clearTimeout(held.timer);
  holds.delete(target);
  delete target.dataset.held;
}

/**
 * The pager of a keyset-paginated list whose filters and cursor live in the hash (`#/<page>?…`): "← Newest"
 * on any page but the first, "Older →" while there is a next cursor.
 */
export function showPager(pager: HTMLElement, page: string, params: URLSearchParams, nextCursor: string | null): void {
  const link = (query: URLSearchParams): string => `#/${page}${query.size > 0 ? `?${query.toString()}` : ''}`;
  const newest = new URLSearchParams(params);
  newest.delete('cursor');
  const older = new URLSearchParams(params);
  if (nextCursor) older.set('cursor', nextCursor);
  swap(pager, JSON.stringify([params.get('cursor'), nextCursor]), [
    params.get('cursor') ? h('a', { href: link(newest) }, '← Newest') : null,
    nextCursor ? h('a', { href: link(older), rel: 'next' }, 'Older →') : null,
  ].filter((n): n is HTMLAnchorElement => n !== null));
}
