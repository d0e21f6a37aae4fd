/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The larger view of a storyboard's frames: one shot's image with its name, status and prompt, the kept
// file to open or save, and the previous and next frame (buttons, or the arrow keys).
import { keptOutputLink, showImage } from './api.js';
import { h, statusBadge } from './dom.js';
import { promptOf } from './prompt.js';
import type { Task } from './types.js';

export interface Frame {
  shot: Task;
  /** The image shown: our kept copy where there is one. */
  url: string;
}

export interface ShotViewer {
  element: HTMLDialogElement;
  /** Show `frames[index]`; the arrows move within `frames`. */
  open(frames: Frame[], index: number): void;
}

export function createShotViewer(): ShotViewer {
  const viewer = h('dialog', { class: 'viewer', 'aria-label': 'Shot' });
  let frames: Frame[] = [];
  let at = 0;
  viewer.addEventListener('click', (event) => {
    if (event.target === viewer) viewer.close();
  });
  viewer.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowLeft' && at > 0) show(at - 1);
    else if (event.key === 'ArrowRight' && at < frames.length - 1) show(at + 1);
    else return;
    event.preventDefault();
  });

  const show = (index: number): void => {
    at = index;
    const { shot, url } = frames[index]!;
    const prompt = promptOf(shot);
    const step = (to: number, label: string, key: string): HTMLElement =>
      h('button', { type: 'button', class: 'secondary', 'data-key': key, disabled: to < 0 || to >= frames.length, onclick: () => show(to) }, label);
    // The button used keeps the focus (read before the content it is in goes); a disabled one gives it to Close.
    const focused = document.activeElement instanceof HTMLElement && viewer.contains(document.activeElement) ? document.activeElement.dataset.key : undefined;
    viewer.setAttribute('aria-label', shot.entityName);
    viewer.replaceChildren(...([
      showImage(h('img', { alt: shot.entityName }), url),
      h('p', {}, h('a', { href: `#/tasks/${shot.id}` }, shot.entityName), ' ', statusBadge(shot.status), h('span', { class: 'muted' }, ` · frame ${index + 1} of ${frames.length}`)),
      prompt === null ? null : h('p', { class: 'prompt' }, prompt),
      h('div', { class: 'actions' },
        step(index - 1, '← Previous', 'viewer-previous'),
        step(index + 1, 'Next →', 'viewer-next'),
        keptOutputLink(h('a', { href: url, target: '_blank', rel: 'noopener', class: 'button-link' }, 'Open the image')),
        h('button', { type: 'button', class: 'secondary', 'data-key': 'viewer-close', onclick: () => viewer.close() }, 'Close'),
      ),
    ] as (HTMLElement | null)[]).filter((n): n is HTMLElement => n !== null));
    const again = focused === undefined ? null : viewer.querySelector<HTMLButtonElement>(`[data-key="${focused}"]:not([disabled])`);
    (again ?? viewer.querySelector<HTMLButtonElement>('[data-key="viewer-close"]'))?.focus();
  };

  return {
    element: viewer,
    open(list, index) {
      frames = list;
      if (!viewer.open) viewer.showModal();
      show(index);
    },
  };
}
