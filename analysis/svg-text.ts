/**
 * Text in the report's SVG pictures: escaping, a width estimate, and wrapping. SVG 1.1 text does
 * not wrap by itself, so a long label either runs across whatever is beside it or has to be
 * broken into lines by us; we break it, at commas first, and never cut it short.
 */

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * Estimated width of `text` in a sans-serif font of `fontSize` px. 0.62 em per character is an
 * upper bound for the wide faces Chromium falls back to here (DejaVu Sans averages ~0.55 em on
 * these labels), so a layout that fits the estimate fits the rendering.
 */
export const CHAR_EM = 0.62;

export function textWidth(text: string, fontSize: number): number {
  return [...text].length * fontSize * CHAR_EM;
}

/** `text` in lines no wider than `maxWidth`: broken after ", " where possible, else at spaces, else anywhere. */
export function wrapText(text: string, maxWidth: number, fontSize: number): string[] {
  const maxChars = Math.max(8, Math.floor(maxWidth / (fontSize * CHAR_EM)));
  const lines: string[] = [];
  let current = '';
  for (const piece of pieces(text)) {
    if ((current + piece).trimEnd().length <= maxChars) {
      current += piece;
      continue;
    }
    if (current.trim()) lines.push(current.trimEnd());
    current = '';
    let rest = piece.trimStart();
    while (rest.length > maxChars) {
      lines.push(rest.slice(0, maxChars));
      rest = rest.slice(maxChars);
    }
    current = rest;
  }
  if (current.trim() || lines.length === 0) lines.push(current.trimEnd());
  return lines;
}

/** Break opportunities: after each ", ", then after each space inside a long piece. */
function pieces(text: string): string[] {
  return text.split(/(?<=, )/).flatMap((p) => (p.length > 40 ? p.split(/(?<= )/) : [p]));
}

/** A report picture: an SVG document of `width` × `height` on a white background (readable on a dark page), in the report's font. */
export function svgDocument(width: number, height: number, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`
    + `<rect width="${width}" height="${height}" fill="white"/>${body}</svg>`;
}
