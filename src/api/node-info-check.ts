// VALIDATE_NODE_INFO: a new task's nodeInfoList is checked against its workflow's API format
// (RunningHub's getJsonApiFormat, fetched once per workflow and kept) before anything is queued, so a
// wrong node id or field name is a 422 naming it instead of a task that fails at RunningHub with 803.
import type { NodeInfo } from '../db/index.js';
import { isRunningHubError, type RunningHubClient, type WorkflowApiFormat } from '../runninghub/index.js';
import { ApiError } from './errors.js';

export type NodeInfoChecker = (workflowId: string, nodeInfoList: readonly NodeInfo[]) => Promise<void>;

/** Codes with which RunningHub says the workflow is not there (or not usable by this key). */
const UNKNOWN_WORKFLOW_CODES = new Set(['380', '810']);

export function createNodeInfoChecker(client: RunningHubClient): NodeInfoChecker {
  // Successful lookups only: a failed one (RunningHub down) is tried again by the next request.
  const formats = new Map<string, Promise<WorkflowApiFormat>>();
  const formatOf = (workflowId: string): Promise<WorkflowApiFormat> => {
    let format = formats.get(workflowId);
    if (!format) {
      format = client.getWorkflowApiFormat(workflowId);
      formats.set(workflowId, format);
      format.catch(() => formats.delete(workflowId));
    }
    return format;
  };

  return async (workflowId, nodeInfoList) => {
    let format: WorkflowApiFormat;
    try {
      format = await formatOf(workflowId);
    } catch (error) {
      if (isRunningHubError(error) && UNKNOWN_WORKFLOW_CODES.has(error.code)) {
        throw new ApiError(422, 'UNKNOWN_WORKFLOW', `workflowId ${workflowId} is not a workflow RunningHub knows (${error.code} ${error.remoteMessage})`, {
          path: 'workflowId',
        });
      }
      const code = isRunningHubError(error) ? error.code : 'INTERNAL';
      throw new ApiError(503, 'RUNNINGHUB_UNAVAILABLE', `cannot check nodeInfoList against workflow ${workflowId} now (${code}); nothing was queued, retry shortly`);
    }
    for (const [index, node] of nodeInfoList.entries()) {
      const known = format[node.nodeId];
      if (!known) {
        throw new ApiError(422, 'NODE_INFO_INVALID', `nodeInfoList[${index}]: workflow ${workflowId} has no node ${node.nodeId}`, {
          path: `nodeInfoList.${index}.nodeId`,
          nodeId: node.nodeId,
        });
      }
      if (!known.fields.includes(node.fieldName)) {
        throw new ApiError(
          422,
          'NODE_INFO_INVALID',
          `nodeInfoList[${index}]: node ${node.nodeId} (${known.classType}) has no field ${JSON.stringify(node.fieldName)}; it has ${known.fields.map((f) => JSON.stringify(f)).join(', ') || 'none'}`,
          { path: `nodeInfoList.${index}.fieldName`, nodeId: node.nodeId, fieldName: node.fieldName },
        );
      }
    }
  };
}
