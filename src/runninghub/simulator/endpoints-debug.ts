// The docs' helper endpoints as the simulator answers them (reference §5.4, §5.5): the webhook event
// record of getWebhookDetail (also what retryWebhook finds by its id) and an AI app's apiCallDemo, whose
// nodeInfoList clients such as the official OpenClaw skill and colorAi's client fill in and submit.
import { z } from 'zod';
import type { SimTask, SimulatorEngine } from './engine.js';

/** RunningHub's time stamps: China Standard Time, to the second, without a zone ("2025-03-25T16:05:07"). */
export function runningHubTime(epochMs: number): string {
  return new Date(epochMs + 8 * 3_600_000).toISOString().slice(0, 19);
}

const v1WebhookBody = z.object({ eventData: z.string() });

/**
 * getWebhookDetail's `data`, in the docs' shape: the event's own `id`, the key masked as the docs show it,
 * `eventData` as the TASK_END event's eventData (the outputs reply as a JSON string; a v2 task's event is
 * its whole body), `callbackStatus` SUCCESS / FAILED after an attempt (PENDING before), `callbackResponse`
 * the receiver's reply or the error, `retryCount` the attempts after the first, and the event's creation
 * (the task's end) and last update.
 */
export function webhookDetailData(task: SimTask): Record<string, unknown> | null {
  if (!task.webhookUrl || task.webhookId === null) return null;
  const last = task.webhookAttempts.at(-1);
  let eventData: string | null = task.webhookBody;
  if (task.webhookBody !== null && task.api === 'v1') {
    const parsed = v1WebhookBody.safeParse(JSON.parse(task.webhookBody));
    eventData = parsed.success ? parsed.data.eventData : task.webhookBody;
  }
  const created = task.endedAt ?? task.createdAt;
  return {
    id: task.webhookId,
    userApiKey: '*'.repeat(18),
    taskId: task.taskId,
    webhookUrl: task.webhookUrl,
    eventData,
    callbackStatus: last === undefined ? 'PENDING' : last.ok ? 'SUCCESS' : 'FAILED',
    callbackResponse: last?.response ?? null,
    retryCount: Math.max(0, task.webhookAttempts.length - 1),
    createTime: runningHubTime(created),
    updateTime: runningHubTime(last?.at ?? created),
  };
}

const MEDIA_FIELDS: Readonly<Record<string, { fieldType: string; nodeName: string }>> = {
  image: { fieldType: 'IMAGE', nodeName: 'LoadImage' },
  video: { fieldType: 'VIDEO', nodeName: 'LoadVideo' },
  audio: { fieldType: 'AUDIO', nodeName: 'LoadAudio' },
};

/**
 * apiCallDemo's `data` for a configured AI app: its settable fields as `nodeInfoList` entries (every value a
 * string, media fields typed IMAGE / VIDEO / AUDIO, the rest STRING) and a curl sample; null for an app the
 * simulator does not know.
 */
export function apiCallDemoData(engine: SimulatorEngine, webappId: string, publicUrl: string): Record<string, unknown> | null {
  const spec = engine.options.webapps[webappId];
  if (!spec) return null;
  const nodeInfoList = Object.entries(spec.nodes).flatMap(([nodeId, fields]) =>
    fields.map((fieldName) => {
      const media = MEDIA_FIELDS[fieldName];
      return {
        nodeId,
        nodeName: media?.nodeName ?? 'Input',
        fieldName,
        fieldValue: '',
        fieldData: null,
        fieldType: media?.fieldType ?? 'STRING',
        description: fieldName,
        descriptionEn: fieldName,
      };
    }),
  );
  const sample = { webappId, apiKey: '<apiKey>', nodeInfoList: nodeInfoList.map(({ nodeId, fieldName, fieldValue }) => ({ nodeId, fieldName, fieldValue })) };
  return {
    webappName: `Simulated AI app ${webappId}`,
    description: '',
    accessEncrypted: false,
    curl: `curl --location --request POST '${publicUrl}/task/openapi/ai-app/run' --header 'Content-Type: application/json' --data-raw '${JSON.stringify(sample)}'`,
    statisticsInfo: { likeCount: '0', downloadCount: '0', useCount: '0', pv: '0', collectCount: '0' },
    nodeInfoList,
    covers: [],
    tags: [],
  };
}
