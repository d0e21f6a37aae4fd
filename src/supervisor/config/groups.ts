// `[group:x]`, `[program:x]` and `[eventlistener:x]` sections → the process groups, in supervisord's order
// (options.py process_groups_from_parser).

import type { EventListenerPoolConfig, GroupConfig, ProcessConfig } from '../types.js';
import { isEventTypeName } from '../events/index.js';
import { parseProcessOrGroupName } from './datatypes.js';
import { ConfigError } from './errors.js';
import { withExpansions, type Expansions } from './expand.js';
import type { IniValue } from './ini.js';
import { byPriorityThenName, hereOf, plainError, rawSection, type LoadState } from './load-state.js';
import { processesFromSection } from './programs.js';
import { eventListenerSchema, groupSchema, parseSection } from './sections.js';
import { pick } from 'zod/mini';

interface GroupDraft {
  name: string;
  priority: number;
  processes: ProcessConfig[];
  eventListener?: EventListenerPoolConfig;
}

/** The only result handler there is here (supervisord imports any Python callable). */
const DEFAULT_RESULT_HANDLER = 'supervisor.dispatchers:default_handler';

/** `[eventlistener:x]`: the pool's keys with supervisord's plain errors, then its processes. */
function readEventListener(
  state: LoadState,
  section: string,
  plainNames: (raw: IniValue | undefined) => Expansions,
  serverurl: () => string,
): GroupDraft {
  // supervisord does not check the pool name here (only the program part does, below).
  const poolName = section.slice('eventlistener:'.length);
  let settings;
  try {
    settings = parseSection(eventListenerSchema(section, plainNames), rawSection(state.doc, section));
  } catch (error) {
    return plainError(error, section);
  }
  const where: Where = (key) => {
    const raw = state.doc.get(section, key);
    return { section, key, ...(raw === undefined ? {} : { file: raw.file, line: raw.line }) };
  };
  if (settings.buffer_size < 1) {
    throw new ConfigError(`[${section}] section sets invalid buffer_size (${settings.buffer_size})`, where('buffer_size'));
  }
  if (settings.result_handler.trim() !== DEFAULT_RESULT_HANDLER) {
    throw new ConfigError(`${settings.result_handler} cannot be resolved within [${section}]`, where('result_handler'));
  }
  const events = [...new Set(settings.events)];
  if (events.length === 0) throw new ConfigError(`[${section}] section requires an "events" line`, { section });
  for (const name of events) {
    if (!isEventTypeName(name)) throw new ConfigError(`Unknown event type ${name} in [${section}] events`, where('events'));
  }
  if (settings.redirect_stderr) {
    throw new ConfigError(
      `[${section}] section sets redirect_stderr=true but this is not allowed because it will interfere with the eventlistener protocol`,
      where('redirect_stderr'),
    );
  }
  const backpressure = readBackpressure(settings, section, where);
  const processes = processesFromSection(state, section, poolName, serverurl).map(
    (process): ProcessConfig => ({ ...process, eventListener: true }),
  );
  return {
    name: poolName,
    priority: settings.priority,
    processes,
    eventListener: { bufferSize: settings.buffer_size, events: events.sort(), backpressure },
  };
}

type Where = (key: string) => { section: string; key: string; file?: string; line?: number };

/**
 * Our backpressure keys of a pool, checked together: output is held from holdbytes, read again at
 * releasebytes (below it, or the pool would hold and release on every event), and the byte cap must
 * leave room for what is held (else the overflow rule drops output before backpressure starts).
 */
function readBackpressure(
  settings: { backpressure_holdbytes: number; backpressure_releasebytes: number; buffer_maxbytes: number; backpressure_stallsecs: number },
  section: string,
  where: Where,
): NonNullable<EventListenerPoolConfig['backpressure']> {
  const hold = settings.backpressure_holdbytes;
  const release = settings.backpressure_releasebytes;
  const max = settings.buffer_maxbytes;
  const stall = settings.backpressure_stallsecs;
  const invalid = (key: string, value: number, why: string): ConfigError =>
    new ConfigError(`[${section}] section sets invalid ${key} (${value}): ${why}`, where(key));
  if (hold < 1) throw invalid('backpressure_holdbytes', hold, 'must be at least 1 byte');
  if (release < 0 || release >= hold) throw invalid('backpressure_releasebytes', release, `must be at least 0 and below backpressure_holdbytes (${hold})`);
  if (max < hold) throw invalid('buffer_maxbytes', max, `must be at least backpressure_holdbytes (${hold})`);
  if (stall < 1) throw invalid('backpressure_stallsecs', stall, 'must be at least 1 second');
  return { holdBytes: hold, resumeBytes: release, maxBytes: max, stallMs: stall * 1000 };
}

export function readGroups(state: LoadState, serverurl: () => string): GroupConfig[] {
  const { doc } = state;
  const sections = doc.sectionNames();
  const drafts: GroupDraft[] = [];
  const grouped = new Set<string>();
  const plainNames = (raw: IniValue | undefined): Expansions => withExpansions(state.environ, { here: hereOf(state, raw) });

  for (const section of sections) {
    if (!section.startsWith('group:')) continue;
    let groupName: string;
    let settings;
    try {
      groupName = parseProcessOrGroupName(section.slice('group:'.length));
      settings = parseSection(groupSchema(section, plainNames), rawSection(doc, section));
    } catch (error) {
      return plainError(error, section);
    }
    const processes: ProcessConfig[] = [];
    for (const program of settings.programs ?? []) {
      const programSection = `program:${program}`;
      const fcgiSection = `fcgi-program:${program}`;
      const isProgram = doc.has(programSection);
      const isFcgi = doc.has(fcgiSection);
      const where = { section, key: 'programs', file: doc.get(section, 'programs')?.file, line: doc.get(section, 'programs')?.line };
      // supervisord names the previous member's section here (a bug); we name the group.
      if (!isProgram && !isFcgi) throw new ConfigError(`[${section}] names unknown program or fcgi-program ${program}`, where);
      if (isProgram && isFcgi) {
        throw new ConfigError(`[${section}] name ${program} is ambiguous (exists as program and fcgi-program)`, where);
      }
      if (!isProgram) {
        throw new ConfigError(`[${section}] names fcgi-program ${program}, and [fcgi-program:x] sections are not supported`, where);
      }
      grouped.add(programSection);
      processes.push(...processesFromSection(state, programSection, groupName, serverurl));
    }
    drafts.push({ name: groupName, priority: settings.priority, processes });
  }

  for (const section of sections) {
    if (!section.startsWith('program:') || grouped.has(section)) continue;
    let programName: string;
    let priority: number;
    try {
      programName = parseProcessOrGroupName(section.slice('program:'.length));
      // supervisord reads priority here once without the program names, then again below.
      priority = parseSection(pick(groupSchema(section, plainNames), { priority: true }), rawSection(doc, section)).priority;
    } catch (error) {
      return plainError(error, section);
    }
    drafts.push({ name: programName, priority, processes: processesFromSection(state, section, programName, serverurl) });
  }

  for (const section of sections) {
    if (section.startsWith('eventlistener:')) drafts.push(readEventListener(state, section, plainNames, serverurl));
  }

  for (const section of sections) {
    if (section.startsWith('fcgi-program:')) {
      state.warnings.push(`[${section}] ignored: FastCGI programs are not supported by this supervisord`);
    }
  }

  drafts.sort(byPriorityThenName);
  const groups: GroupConfig[] = [];
  for (const draft of drafts) {
    if (groups.some((g) => g.name === draft.name)) {
      // supervisord adds the first group of a name and silently skips the others.
      state.warnings.push(`group '${draft.name}' is defined more than once; only the first (in start order) is used`);
      continue;
    }
    const byName = new Map<string, ProcessConfig>();
    for (const process of draft.processes) {
      if (byName.has(process.name)) {
        state.warnings.push(`process '${process.name}' appears twice in group '${draft.name}'; the later definition is used`);
      }
      byName.set(process.name, process);
    }
    groups.push({
      name: draft.name,
      priority: draft.priority,
      processes: [...byName.values()].sort(byPriorityThenName),
      ...(draft.eventListener === undefined ? {} : { eventListener: draft.eventListener }),
    });
  }
  return groups;
}
