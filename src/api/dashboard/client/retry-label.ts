// The storyboard page's retry button says what it takes again (a pure function: unit-tested without a browser).

/** The FAILED shots and the CANCELLED ones, each named for what it is ("Retry 2 failed and 9 cancelled"). */
export function retryLabel(counts: { failed: number; cancelled: number }): string {
  const parts = [counts.failed > 0 ? `${counts.failed} failed` : null, counts.cancelled > 0 ? `${counts.cancelled} cancelled` : null];
  return `Retry ${parts.filter((p) => p !== null).join(' and ')}`;
}
