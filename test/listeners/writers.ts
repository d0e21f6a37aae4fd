// What the log forwarder tests share: a program that writes numbered lines as fast as its pipe takes them,
// and the shape of supervisord's own log lines (which share the forwarder's stdout).

/**
 * A node -e script writing lines 0..argv[2]-1, each made by `lineFunction` (the source of `function line(n)`),
 * in batches of 50, waiting for 'drain' when the pipe is full; then `writer done` on stderr; then it idles.
 */
export function fastLineWriter(lineFunction: string): string {
  return `
const count = Number(process.argv[2]);
let i = 0;
${lineFunction.trim()}
function go() {
  while (i < count) {
    let batch = '';
    for (let k = 0; k < 50 && i < count; k++) batch += line(i++) + '\\n';
    if (!process.stdout.write(batch)) { process.stdout.once('drain', go); return; }
  }
  process.stderr.write('writer done\\n');
}
go();
setInterval(() => {}, 1 << 30);
`;
}

/** The start of a line of supervisord's own log. */
export const SUPERVISORD_LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]{4} /;
