// What a process name in a call refers to (`name`, `group:name`, `group:*`), and how group and "all"
// calls apply a per-process operation: in supervisord's order, one result struct per process.
import { FaultCode, SupervisorFault, type ProcessInfo, type SupervisorControl } from '../types.js';
import { compareStrings, isFault, namespec } from './method-definition.js';
import type { XmlRpcValue } from './xmlrpc.js';
import { splitNamespec } from '../protocol.js';

interface ResolvedName {
  group: string;
  /** null for `group:*` / `group:` */
  process: ProcessInfo | null;
}

/** An operation on one named process (or `group:*`); group and "all" calls apply it to every eligible member. */
export interface ProcessOperation<A> {
  /** Members a group/all call acts on; the others are left out of its result. */
  eligible(process: ProcessInfo): boolean;
  one(spec: string, arg: A): Promise<XmlRpcValue>;
  /**
   * supervisord does it within the call (clearing logs, signalling), so a group or "all" call lists the
   * results in the processes' order; otherwise (start and stop, which may wait) in the order they come.
   */
  immediate?: boolean;
}

interface ResultStruct {
  [key: string]: XmlRpcValue;
  name: string;
  group: string;
  status: number;
  description: string;
}

export class ProcessTargets {
  constructor(private readonly control: SupervisorControl) {}

  resolve(spec: string): ResolvedName {
    const { group: groupName, process: processName } = splitNamespec(spec);
    const members = this.control.processes().filter((p) => p.group === groupName);
    if (members.length === 0) throw new SupervisorFault(FaultCode.BAD_NAME, spec);
    if (processName === null) return { group: groupName, process: null };
    const process = members.find((p) => p.name === processName);
    if (process === undefined) throw new SupervisorFault(FaultCode.BAD_NAME, spec);
    return { group: groupName, process };
  }

  resolveProcess(spec: string): ProcessInfo {
    const { process } = this.resolve(spec);
    if (process === null) throw new SupervisorFault(FaultCode.BAD_NAME, spec);
    return process;
  }

  /**
   * Groups in the control's (priority) order, processes by priority within each group. The
   * priorities are the running processes' own, not those of a re-read file that is not in effect.
   */
  private inPriorityOrder(processes: ProcessInfo[]): ProcessInfo[] {
    const groupOrder: string[] = [];
    for (const p of processes) if (!groupOrder.includes(p.group)) groupOrder.push(p.group);
    return groupOrder.flatMap((group) =>
      processes.filter((p) => p.group === group).sort((a, b) => a.priority - b.priority || compareStrings(a.name, b.name)),
    );
  }

  private groupProcesses(group: string): ProcessInfo[] {
    const members = this.control.processes().filter((p) => p.group === group);
    if (members.length === 0) throw new SupervisorFault(FaultCode.BAD_NAME, group);
    return this.inPriorityOrder(members);
  }

  allProcesses(): ProcessInfo[] {
    return this.inPriorityOrder(this.control.processes());
  }

  /** The operation is started on every eligible process at once, then all are awaited (supervisord's make_allfunc). */
  /**
   * The results in the order supervisord's make_allfunc appends them: an immediate operation's in the
   * processes' order; otherwise those that fail at once first (in process order), then each as it finishes.
   * supervisorctl takes its exit status from the last error it prints, so the order is part of what
   * `start all` exits with.
   */
  async onEach<A>(processes: ProcessInfo[], operation: ProcessOperation<A>, arg: A): Promise<ResultStruct[]> {
    const finished: ResultStruct[] = [];
    const inOrder = await Promise.all(
      processes.filter((p) => operation.eligible(p)).map(async (p): Promise<ResultStruct> => {
        let result: ResultStruct;
        try {
          await operation.one(namespec(p), arg);
          result = { name: p.name, group: p.group, status: FaultCode.SUCCESS, description: 'OK' };
        } catch (error) {
          if (!isFault(error)) throw error;
          result = { name: p.name, group: p.group, status: error.code, description: error.message };
        }
        finished.push(result);
        return result;
      }),
    );
    return operation.immediate === true ? inOrder : finished;
  }

  onGroup<A>(operation: ProcessOperation<A>, group: string, arg: A): Promise<ResultStruct[]> {
    return this.onEach(this.groupProcesses(group), operation, arg);
  }
}
