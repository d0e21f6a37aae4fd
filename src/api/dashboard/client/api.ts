/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// Every call of the dashboard to /api: the token from sessionStorage in the Authorization header (never in
// a URL), errors turned into ApiCallError with the server's code and message.

const TOKEN_KEY = 'storyboard-api.token';

export const tokenStore = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (token: string): void => sessionStorage.setItem(TOKEN_KEY, token),
  clear: (): void => sessionStorage.removeItem(TOKEN_KEY),
};

export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** fetch itself failed: the api (or the network to it) is down; the server said nothing. */
export class ApiUnreachableError extends Error {}

export function authHeaders(): Record<string, string> {
  const token = tokenStore.get();
  return token === null ? {} : { authorization: `Bearer ${token}` };
}

/** GET (or POST without a body) `path` and return its JSON; a non-2xx reply throws ApiCallError. */
export async function call<T>(path: string, method: 'GET' | 'POST' = 'GET'): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { method, headers: authHeaders(), cache: 'no-store' });
  } catch (error) {
    throw new ApiUnreachableError(error instanceof Error ? error.message : String(error));
  }
  if (!response.ok) {
    let code = `HTTP_${response.status}`;
    let message = response.statusText || `HTTP ${response.status}`;
    try {
      const body = (await response.json()) as { error?: { code?: string; message?: string } };
      code = body.error?.code ?? code;
      message = body.error?.message ?? message;
    } catch {
      // Not our JSON error (a proxy's page): keep the status line.
    }
    throw new ApiCallError(response.status, code, message);
  }
  return (await response.json()) as T;
}

/**
 * Shows an image in `img`. Our kept outputs (/api/tasks/:id/outputs/:n) are behind the token, which an
 * <img> cannot send: with a token they are fetched with it and shown from a blob URL.
 */
export function showImage(img: HTMLImageElement, url: string): HTMLImageElement {
  const headers = authHeaders();
  if (!url.startsWith('/api/') || headers.authorization === undefined) {
    img.src = url;
    return img;
  }
  void fetch(url, { headers })
    .then(async (response) => {
      if (!response.ok) return;
      const blobUrl = URL.createObjectURL(await response.blob());
      img.addEventListener('load', () => URL.revokeObjectURL(blobUrl), { once: true });
      img.src = blobUrl;
    })
    .catch(() => undefined);
  return img;
}

/**
 * A link to one of our kept outputs (/api/tasks/:id/outputs/:n). Without a token the browser follows it;
 * with one, which a link cannot send, a click fetches the file with it and shows it in a new tab from a
 * blob URL (RunningHub's own URL would do without a token, but it expires after about a day).
 */
export function keptOutputLink(link: HTMLAnchorElement): HTMLAnchorElement {
  link.addEventListener('click', (event) => {
    const headers = authHeaders();
    if (headers.authorization === undefined || !(link.getAttribute('href') ?? '').startsWith('/api/')) return;
    event.preventDefault();
    // Opened in the click itself: a tab opened once the file is here would be a blocked pop-up.
    const tab = window.open('', '_blank');
    void fetch(link.href, { headers })
      .then(async (response) => {
        if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
        const blobUrl = URL.createObjectURL(await response.blob());
        if (tab) tab.location.href = blobUrl;
        else window.location.href = blobUrl;
      })
      .catch((error: unknown) => {
        if (tab) tab.document.body.textContent = `The output could not be loaded: ${String(error)}`;
      });
  });
  return link;
}
