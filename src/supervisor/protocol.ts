// What supervisord's XML-RPC server (rpc/) and its client (ctl/) must agree on beyond the wire
// format: the API version and how a process is named. One definition each; dependency-free so
// the supervisorctl bundle takes it as it is.

/** supervisor.getAPIVersion / getVersion: supervisorctl refuses to talk to any other. */
export const API_VERSION = '3.0';

/** supervisord's make_namespec: `group:name`, or `name` alone when the two are equal. */
export function makeNamespec(group: string, name: string): string {
  return group === name ? name : `${group}:${name}`;
}

/**
 * supervisord's split_namespec: `name` is group `name`'s process `name`; `group:name` names one
 * process; `group:` and `group:*` name the whole group (process null).
 */
export function splitNamespec(spec: string): { group: string; process: string | null } {
  const colon = spec.indexOf(':');
  if (colon === -1) return { group: spec, process: spec };
  const process = spec.slice(colon + 1);
  return { group: spec.slice(0, colon), process: process === '' || process === '*' ? null : process };
}
