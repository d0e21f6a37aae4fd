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
 * Replace `target`'s content with `content` only when `signature` changed (a refresh with the same data
 * touches nothing, so focus, selection and scroll stay), and give focus back to the control with the same
 * data-key when the focused one was replaced.
 */
export function swap(target: HTMLElement, signature: string, content: Node[]): void {
  if (target.dataset.signature === signature) return;
  const focusedKey = document.activeElement instanceof HTMLElement && target.contains(document.activeElement) ? document.activeElement.dataset.key : undefined;
  target.dataset.signature = signature;
  target.replaceChildren(...content);
  if (focusedKey !== undefined) target.querySelector<HTMLElement>(`[data-key="${CSS.escape(focusedKey)}"]`)?.focus();
}
