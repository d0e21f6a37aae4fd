/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The task actions (cancel, retry) as buttons. A read-only token gets none (the server refuses them
// anyway, with 403); the outcome, or the server's error, goes to the page's status line.
import { ApiCallError, call } from './api.js';
import { h } from './dom.js';
import type { PageContext, Task } from './types.js';

export function taskActions(task: Pick<Task, 'id' | 'status' | 'entityName' | 'cancelRequested'>, ctx: PageContext): HTMLElement[] {
  if (ctx.access === 'read') return [];
  const button = (action: 'retry' | 'cancel', label: string): HTMLElement =>
    h('button', {
      type: 'button',
      class: action === 'cancel' ? 'secondary' : 'primary',
      'data-key': `${action}-${task.id}`,
      'aria-label': `${label} ${task.entityName}`,
      onclick: (event: Event) => {
        const target = event.currentTarget as HTMLButtonElement;
        target.disabled = true;
        call<Task>(`/api/tasks/${task.id}/${action}`, 'POST').then(
          (updated) => {
            ctx.say(`${label}: ${task.entityName} is now ${updated.status}${updated.cancelRequested ? ' (cancel requested)' : ''}`, 'ok');
            ctx.refresh();
          },
          (error: unknown) => {
            target.disabled = false;
            ctx.say(`${label} ${task.entityName} failed: ${error instanceof ApiCallError ? `${error.code}: ${error.message}` : String(error)}`, 'error');
          },
        );
      },
    }, label);
  const buttons: HTMLElement[] = [];
  if (task.status === 'FAILED' || task.status === 'CANCELLED') buttons.push(button('retry', 'Retry'));
  if (task.status === 'PENDING' || (task.status === 'ACTIVE' && !task.cancelRequested)) buttons.push(button('cancel', 'Cancel'));
  return buttons;
}
