// Typed values the client hands out. Everything here has already been parsed from a RunningHub reply.

/** One override of a workflow or app input. RunningHub wants every value as a string. */
export interface NodeInfo {
  nodeId: string;
  fieldName: string;
  fieldValue: string;
}

interface CreateTaskCommon {
  nodeInfoList?: NodeInfo[] | undefined;
  /** RunningHub POSTs a TASK_END event here when the task ends. */
  webhookUrl?: string | undefined;
  /** "default" = 24 GB GPU, "plus" = 48 GB GPU. */
  instanceType?: 'default' | 'plus' | undefined;
  addMetadata?: boolean | undefined;
  usePersonalQueue?: boolean | undefined;
}

/** A ComfyUI workflow run (`/task/openapi/create`). */
export interface WorkflowTaskRequest extends CreateTaskCommon {
  workflowId: string;
  webappId?: undefined;
}

/** An AI app run (`/task/openapi/ai-app/run`). */
export interface AppTaskRequest extends CreateTaskCommon {
  webappId: string;
  workflowId?: undefined;
}

export type CreateTaskRequest = WorkflowTaskRequest | AppTaskRequest;

export type TaskStatus = 'QUEUED' | 'RUNNING' | 'SUCCESS' | 'FAILED';

export interface CreatedTask {
  /** 19-digit decimal id, always a string. */
  taskId: string;
  clientId: string | null;
  taskStatus: TaskStatus;
  netWssUrl: string | null;
  /**
   * ComfyUI validation errors reported in `promptTips.node_errors` although the create succeeded
   * (code 0): the task exists at RunningHub but will not produce anything useful. Empty when fine.
   */
  nodeErrors: string[];
}

export interface TaskOutput {
  fileUrl: string;
  fileType: string;
  nodeId: string | null;
  /** Seconds; RunningHub sends a string in outputs and a number in webhooks. */
  taskCostTime: number | null;
  consumeCoins: number | null;
}

/** ComfyUI's failure detail (805 `data.failedReason`); fields kept as RunningHub sends them. */
export interface FailedReason {
  nodeId: string | null;
  nodeName: string | null;
  exceptionType: string | null;
  exceptionMessage: string | null;
  traceback: string | null;
}

export interface TaskFailure {
  /** RunningHub's business code as a string, e.g. "805". */
  code: string;
  /** RunningHub's `msg`, e.g. "APIKEY_TASK_STATUS_ERROR". */
  message: string;
  failedReason: FailedReason | null;
}

/** What `/task/openapi/outputs` says about a task: the real status source. */
export type TaskOutcome =
  | { status: 'QUEUED' }
  | { status: 'RUNNING'; netWssUrl: string | null }
  /** `outputs` may be empty: the workflow finished without an output node. */
  | { status: 'SUCCESS'; outputs: TaskOutput[] }
  | { status: 'FAILED'; error: TaskFailure };

/** A workflow's API format (getJsonApiFormat) reduced to what a nodeInfoList may name: node id → class and settable fields. */
export type WorkflowApiFormat = Record<string, { classType: string; fields: string[] }>;

export interface AccountStatus {
  remainCoins: number | null;
  /** Tasks of this key at RunningHub now (QUEUED + RUNNING), including ones started elsewhere. */
  currentTaskCounts: number;
  remainMoney: string | null;
  currency: string | null;
  apiType: string | null;
}

/** A parsed webhook POST (`event: TASK_END`). */
export interface WebhookEvent {
  event: string;
  taskId: string;
  /** SUCCESS or FAILED, from `eventData` (which has the outputs reply's shape). */
  outcome: Extract<TaskOutcome, { status: 'SUCCESS' | 'FAILED' }>;
}
