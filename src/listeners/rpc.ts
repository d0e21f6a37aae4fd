// The listeners' way back to supervisord: XML-RPC at SUPERVISOR_SERVER_URL (set by supervisord in every
// child's environment, with SUPERVISOR_USERNAME/PASSWORD when the server has credentials), through the
// supervisor component's own client. Replies are parsed once here.
import { z } from 'zod';
import { parseServerUrl, XmlRpcClient } from '../supervisor/index.js';

export const processInfoSchema = z.object({
  name: z.string(),
  group: z.string(),
  pid: z.number().int(),
  state: z.number().int(),
  statename: z.string(),
  start: z.number().int(),
  exitstatus: z.number().int(),
});
export type WireProcessInfo = z.infer<typeof processInfoSchema>;

const allProcessInfoSchema = z.array(processInfoSchema.passthrough());
/** [bytes, offset, overflow] of supervisor.tailProcessStderrLog. */
const tailSchema = z.tuple([z.string(), z.number().int(), z.boolean()]);

export class SupervisorApi {
  constructor(private readonly client: XmlRpcClient) {}

  async allProcessInfo(): Promise<WireProcessInfo[]> {
    return allProcessInfoSchema.parse(await this.client.call('supervisor.getAllProcessInfo'));
  }

  async processInfo(namespec: string): Promise<WireProcessInfo> {
    return processInfoSchema.parse(await this.client.call('supervisor.getProcessInfo', [namespec]));
  }

  async stopProcess(namespec: string): Promise<void> {
    await this.client.call('supervisor.stopProcess', [namespec, true]);
  }

  async startProcess(namespec: string): Promise<void> {
    await this.client.call('supervisor.startProcess', [namespec, true]);
  }

  /** The last `bytes` of a process's stderr log ('' when it has none). */
  async tailStderr(namespec: string, bytes: number): Promise<string> {
    const [text] = tailSchema.parse(await this.client.call('supervisor.tailProcessStderrLog', [namespec, 0, bytes]));
    return text;
  }
}

/** The API named by supervisord's environment variables, or null outside supervisord. */
export function supervisorApiFromEnv(env: NodeJS.ProcessEnv = process.env): SupervisorApi | null {
  const url = env.SUPERVISOR_SERVER_URL;
  if (url === undefined || url === '') return null;
  const username = env.SUPERVISOR_USERNAME ?? '';
  const password = env.SUPERVISOR_PASSWORD ?? '';
  const credentials = username === '' && password === '' ? { username: null, password: null } : { username, password };
  return new SupervisorApi(new XmlRpcClient(parseServerUrl(url), credentials));
}
