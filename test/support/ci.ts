// Whether the tests run in CI, where a missing peer program or browser fails instead of skipping.

/** `CI` set to anything but empty, `false` or `0`. */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0';
}
