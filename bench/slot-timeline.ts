// Part of bench/processor.ts (1): where the gap between a task ending at RunningHub and the next create
// at its slot goes. Lines up the simulator's times (end, webhook answered, create received) with the
// processor's timeline (TASK_PROCESSOR_TIMELINE_FILE, src/processor/timeline.ts: notification in,
// claim, create sent). All are wall-clock milliseconds on the same machine.
import { readFile } from 'node:fs/promises';
import type { SimulatorTaskView as TaskView } from '../src/runninghub/simulator/index.js';

interface Mark {
  step: string;
  at: number;
  channel?: string;
  taskIds?: string[];
  taskId?: string;
  runninghubTaskId?: string;
}

export async function readTimeline(file: string): Promise<Mark[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Mark);
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;

/** p50 and p90 (2 decimals) and the count of the finite values. */
export function summary(values: number[]): { p50: number; p90: number; n: number } {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const round = (v: number | undefined) => (v === undefined ? NaN : Number(v.toFixed(2)));
  return { p50: round(percentile(sorted, 50)), p90: round(percentile(sorted, 90)), n: sorted.length };
}

/**
 * One row per handover (the k-th end frees the slot the (k+3)-th create takes), each step's share:
 * end → webhook sent (RunningHub's part: the simulator's), webhook sent → next create sent (ours),
 * end → webhook answered (RunningHub's POST, the API's commit), end → the slot-freed notification
 * that led to the claim (the last before it), notification → claim started (0 when claimed at the
 * notification; longer when a claim under way had to end first), the claim's round trip, claim → create
 * sent, create sent → received by the simulator. Medians and 90th percentiles in milliseconds.
 */
export function slotHandovers(tasks: TaskView[], marks: Mark[], slots = 3): Record<string, { p50: number; p90: number; n: number }> {
  const byRunningHubId = new Map<string, string>();
  for (const m of marks) if (m.step === 'create-answered' && m.taskId && m.runninghubTaskId) byRunningHubId.set(m.runninghubTaskId, m.taskId);
  const claimEnds = marks.filter((m) => m.step === 'claim-end');
  const claimStarts = marks.filter((m) => m.step === 'claim-start');
  const sentAt = new Map(marks.filter((m) => m.step === 'create-sent').map((m) => [m.taskId!, m.at]));
  const notified = marks.filter((m) => m.step === 'notified' && m.channel === 'runninghub_slot_freed').map((m) => m.at);
  const ended = tasks.filter((t) => t.endedAt !== null).sort((a, b) => a.endedAt! - b.endedAt!);
  const created = [...tasks].sort((a, b) => a.createdAt - b.createdAt);
  const steps: Record<string, number[]> = {
    gap: [],
    // RunningHub's part (the simulator's): from the end to its webhook POST handed to the OS.
    endToWebhookSent: [],
    // Ours: the webhook's POST sent → the next create sent at the slot (the api's commit, the
    // notification, the claim, the create's request built).
    ourPartWebhookSentToCreateSent: [],
    endToWebhookAnswered: [],
    endToNotified: [],
    notifiedToClaimStart: [],
    claimRoundTrip: [],
    claimEndToCreateSent: [],
    createSentToReceived: [],
  };
  const lastAtOrBefore = (list: number[], t: number) => list.findLast((x) => x <= t);
  for (let k = 0; k + slots < created.length && k < ended.length; k++) {
    const end = ended[k]!;
    const next = created[k + slots]!;
    const endAt = end.endedAt!;
    steps.gap!.push(next.createdAt - endAt);
    const delivered = end.webhookAttempts.find((a) => a.ok);
    if (delivered !== undefined) steps.endToWebhookAnswered!.push(delivered.at - endAt);
    if (delivered?.sentAt !== undefined) steps.endToWebhookSent!.push(delivered.sentAt - endAt);
    const taskId = byRunningHubId.get(next.taskId);
    if (taskId === undefined) continue;
    const claimEnd = claimEnds.find((m) => m.taskIds?.includes(taskId))?.at;
    const sent = sentAt.get(taskId);
    if (claimEnd === undefined || sent === undefined) continue;
    if (delivered?.sentAt !== undefined) steps.ourPartWebhookSentToCreateSent!.push(sent - delivered.sentAt);
    const claimStart = lastAtOrBefore(
      claimStarts.map((m) => m.at),
      claimEnd,
    );
    // The notification that led to the claim: the last slot-freed one before it (not before the end).
    const notice = claimStart === undefined ? undefined : lastAtOrBefore(notified, claimStart);
    if (notice !== undefined && notice >= endAt) {
      steps.endToNotified!.push(notice - endAt);
      steps.notifiedToClaimStart!.push(claimStart! - notice);
    }
    if (claimStart !== undefined) steps.claimRoundTrip!.push(claimEnd - claimStart);
    steps.claimEndToCreateSent!.push(sent - claimEnd);
    steps.createSentToReceived!.push(next.createdAt - sent);
  }
  return Object.fromEntries(Object.entries(steps).map(([name, values]) => [name, summary(values)]));
}
