/** Where a config problem was found, as far as it is known. */
export interface ConfigErrorLocation {
  /** The file supervisord names (the section's file, or the main file as given). */
  file?: string;
  section?: string;
  key?: string;
  /** 1-based line of the key (or of the offending line for syntax errors). */
  line?: number;
}

/**
 * A config file supervisord would refuse. `message` is supervisord's own text without its
 * `Error: ` prefix (so its first line matches `supervisord -c bad.conf` after `Error: `, and it
 * is what goes into a CANT_REREAD fault); the CLI prints `Error: ${message}` and exits 2.
 * When we know more than supervisord says (the key and line), a second line gives it.
 */
export class ConfigError extends Error {
  /** supervisord's message alone (the first line(s) of `message`, without our location line). */
  readonly supervisordMessage: string;
  readonly location: ConfigErrorLocation;

  constructor(supervisordMessage: string, location: ConfigErrorLocation = {}) {
    const where = describeLocation(supervisordMessage, location);
    super(where === null ? supervisordMessage : `${supervisordMessage}\n${where}`);
    this.name = 'ConfigError';
    this.supervisordMessage = supervisordMessage;
    this.location = location;
  }
}

function describeLocation(message: string, location: ConfigErrorLocation): string | null {
  if (location.line === undefined || location.file === undefined) return null;
  // Syntax errors already quote the line; everything else gets the key and line added.
  if (message.includes('[line ') || message.startsWith('File contains no section headers')) return null;
  const key = location.key === undefined ? '' : `, key '${location.key}'`;
  const section = location.section === undefined ? '' : ` [${location.section}]`;
  return `  (at ${location.file} line ${location.line}${section}${key})`;
}
