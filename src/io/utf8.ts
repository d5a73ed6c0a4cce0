/**
 * UTF-8 without TextEncoder/TextDecoder (which are host APIs, not part of
 * ECMAScript): the core must run on any engine.
 */

/** The UTF-8 bytes of a string. A lone surrogate becomes U+FFFD, as TextEncoder does. */
export function utf8Encode(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(out);
}

/**
 * Decode strict UTF-8: returns null on any invalid sequence (a stray
 * continuation byte, a truncated sequence, an overlong form, a surrogate
 * code point, or one above U+10FFFF), like TextDecoder with fatal: true.
 */
export function utf8Decode(bytes: Uint8Array): string | null {
  const parts: string[] = [];
  let codes: number[] = [];
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    let c: number;
    let extra: number;
    let min: number;
    if (b < 0x80) [c, extra, min] = [b, 0, 0];
    else if (b >= 0xc2 && b < 0xe0) [c, extra, min] = [b & 31, 1, 0x80];
    else if (b >= 0xe0 && b < 0xf0) [c, extra, min] = [b & 15, 2, 0x800];
    else if (b >= 0xf0 && b < 0xf5) [c, extra, min] = [b & 7, 3, 0x10000];
    else return null;
    for (let k = 1; k <= extra; k++) {
      const n = bytes[i + k];
      if (n === undefined || (n & 0xc0) !== 0x80) return null;
      c = (c << 6) | (n & 63);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return null;
    codes.push(c);
    if (codes.length >= 4096) {
      parts.push(String.fromCodePoint(...codes));
      codes = [];
    }
    i += extra + 1;
  }
  parts.push(String.fromCodePoint(...codes));
  return parts.join("");
}
