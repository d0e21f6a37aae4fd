// What a file is, read from its first bytes (never from a name or a header a client chose).

/** The image types POST /api/uploads accepts, by their magic bytes. */
export const UPLOAD_IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp'] as const;
export type UploadImageType = (typeof UPLOAD_IMAGE_TYPES)[number];

const startsWith = (head: Uint8Array, bytes: readonly number[], at = 0): boolean =>
  head.length >= at + bytes.length && bytes.every((b, i) => head[at + i] === b);
const ascii = (text: string): number[] => [...text].map((c) => c.charCodeAt(0));

/** PNG, JPEG or WebP by content, else null. Needs the first 12 bytes. */
export function sniffImageType(head: Uint8Array): UploadImageType | null {
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (startsWith(head, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(head, ascii('RIFF')) && startsWith(head, ascii('WEBP'), 8)) return 'image/webp';
  return null;
}

/** An output's type: sniffed for the formats RunningHub produces, else the server's header, else octet-stream. */
export function outputContentType(head: Uint8Array, headerType: string | undefined): string {
  const image = sniffImageType(head);
  if (image) return image;
  if (startsWith(head, ascii('GIF8'))) return 'image/gif';
  if (startsWith(head, ascii('ftyp'), 4)) return 'video/mp4';
  const header = headerType?.split(';')[0]?.trim().toLowerCase();
  return header && /^[a-z]+\/[\w.+-]+$/.test(header) ? header : 'application/octet-stream';
}
