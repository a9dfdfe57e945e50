// node-llama-cpp reads a model's GGUF metadata in JavaScript before llama.cpp loads it, one array element at a
// time through a chain of closures and offset objects: about 1.5 µs per element, so 100-200 ms for a 32000-token
// vocabulary (tokens, scores, types) and several times that for today's 128k-150k vocabularies, on every load
// (measured with --cpu-prof: GgufV2Parser, GgufFileReader, transformPromisable). This replaces only its reading of
// arrays of strings and of 8- to 32-bit numbers with a loop over the file buffer, and leaves everything else,
// including 64-bit and nested arrays, to the original. It patches internals, which is safe only because
// node-llama-cpp is pinned exactly (3.21.1); a test checks that both read every test model identically.
import { importNllc } from "./llama-loader.js";

const ARRAY = 9;
const STRING = 8;
type Decoder = (b: Buffer, at: number) => number | boolean;
/** GGUF element type -> [byte size, decoder]. */
const FIXED: Record<number, [number, Decoder]> = {
  0: [1, (b, at) => b.readUInt8(at)],
  1: [1, (b, at) => b.readInt8(at)],
  2: [2, (b, at) => b.readUInt16LE(at)],
  3: [2, (b, at) => b.readInt16LE(at)],
  4: [4, (b, at) => b.readUInt32LE(at)],
  5: [4, (b, at) => b.readInt32LE(at)],
  6: [4, (b, at) => b.readFloatLE(at)],
  7: [1, (b, at) => b.readUInt8(at) === 1],
};

interface FileReader {
  _buffer: Buffer;
  ensureHasByteRange(offset: number, length: number): Promise<void> | undefined;
}
interface ReadOffset {
  offset: number;
  moveBy(n: number): void;
}
type ReadValue = (this: { _fileReader: FileReader }, type: number, offset: unknown) => unknown;

let installed = false;

/** Installs the fast array reader (idempotent). */
export async function speedUpGgufArrays(): Promise<void> {
  if (installed) return;
  installed = true;
  const [{ GgufV2Parser }, { GgufReadOffset }] = await Promise.all([importNllc("gguf/parser/GgufV2Parser.js"), importNllc("gguf/utils/GgufReadOffset.js")]);
  const proto = GgufV2Parser.prototype as { _readGgufValue: ReadValue };
  const original = proto._readGgufValue;
  proto._readGgufValue = function (type, offset) {
    if (type !== ARRAY) return original.call(this, type, offset);
    const reader = this._fileReader;
    const readOffset = GgufReadOffset.resolveReadOffset(offset) as ReadOffset;
    const start = readOffset.offset;
    const withBytes = <T>(at: number, n: number, then: () => T): T | Promise<T> => {
      const p = reader.ensureHasByteRange(at, n);
      return p ? p.then(then) : then();
    };
    return withBytes(start, 12, () => {
      const elementType = reader._buffer.readUInt32LE(start);
      const fixed = FIXED[elementType];
      if (!fixed && elementType !== STRING) return original.call(this, type, readOffset);
      const length = Number(reader._buffer.readBigUInt64LE(start + 4));
      const values: unknown[] = new Array(length);
      let pos = start + 12;
      let i = 0;
      const finish = () => {
        readOffset.moveBy(pos - start);
        return values;
      };
      if (fixed) {
        const [size, decode] = fixed;
        return withBytes(pos, size * length, () => {
          const b = reader._buffer;
          for (; i < length; i++, pos += size) values[i] = decode(b, pos);
          return finish();
        });
      }
      // strings: as many as the buffer holds, then read more of the file and go on
      const strings = (): unknown => {
        while (i < length) {
          const b = reader._buffer;
          if (pos + 8 > b.length) return withBytes(pos, 8, strings);
          const n = Number(b.readBigUInt64LE(pos));
          if (pos + 8 + n > b.length) return withBytes(pos, 8 + n, strings);
          values[i++] = b.toString("utf8", pos + 8, pos + 8 + n);
          pos += 8 + n;
        }
        return finish();
      };
      return strings();
    });
  };
}
