// A small GGUF v3 writer: enough to produce models that llama.cpp loads, with
// F32/F16 tensors. Spec: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
//
// The file is produced in two phases because GGUF puts every tensor's offset in
// the header: first all metadata and tensor shapes are registered (cheap), then
// write() emits the header and streams each tensor's data in chunks, so tensor
// data is never held in memory all at once.

import { open, unlink } from "node:fs/promises";
import { endianness } from "node:os";

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** GGUF metadata value type ids, as stored in the file. */
export const GgufValueType = {
    uint8: 0,
    int8: 1,
    uint16: 2,
    int16: 3,
    uint32: 4,
    int32: 5,
    float32: 6,
    bool: 7,
    string: 8,
    array: 9,
    uint64: 10,
    int64: 11,
    float64: 12
} as const;
export type GgufValueTypeName = keyof typeof GgufValueType;

/** ggml tensor type ids for the tensor formats this writer can encode. */
export const GgmlType = { f32: 0, f16: 1 } as const;
export type GgufTensorType = keyof typeof GgmlType;

export type GgufNumberTypeName = "uint8" | "int8" | "uint16" | "int16" | "uint32" | "int32" | "float32" | "float64";
export type GgufBigIntTypeName = "uint64" | "int64";

export type GgufValue =
    | { type: GgufNumberTypeName; value: number }
    | { type: GgufBigIntTypeName; value: number | bigint }
    | { type: "bool"; value: boolean }
    | { type: "string"; value: string }
    | { type: "array"; itemType: GgufNumberTypeName; value: ArrayLike<number> }
    | { type: "array"; itemType: GgufBigIntTypeName; value: ArrayLike<number | bigint> }
    | { type: "array"; itemType: "bool"; value: ArrayLike<boolean> }
    | { type: "array"; itemType: "string"; value: ArrayLike<string> };

/** Shorthands for building typed metadata values (JS numbers alone don't say which GGUF type to use). */
export const gguf = {
    u8: (value: number): GgufValue => ({ type: "uint8", value }),
    i8: (value: number): GgufValue => ({ type: "int8", value }),
    u16: (value: number): GgufValue => ({ type: "uint16", value }),
    i16: (value: number): GgufValue => ({ type: "int16", value }),
    u32: (value: number): GgufValue => ({ type: "uint32", value }),
    i32: (value: number): GgufValue => ({ type: "int32", value }),
    u64: (value: number | bigint): GgufValue => ({ type: "uint64", value }),
    i64: (value: number | bigint): GgufValue => ({ type: "int64", value }),
    f32: (value: number): GgufValue => ({ type: "float32", value }),
    f64: (value: number): GgufValue => ({ type: "float64", value }),
    bool: (value: boolean): GgufValue => ({ type: "bool", value }),
    str: (value: string): GgufValue => ({ type: "string", value }),
    strings: (value: ArrayLike<string>): GgufValue => ({ type: "array", itemType: "string", value }),
    i32s: (value: ArrayLike<number>): GgufValue => ({ type: "array", itemType: "int32", value }),
    u32s: (value: ArrayLike<number>): GgufValue => ({ type: "array", itemType: "uint32", value }),
    f32s: (value: ArrayLike<number>): GgufValue => ({ type: "array", itemType: "float32", value }),
    bools: (value: ArrayLike<boolean>): GgufValue => ({ type: "array", itemType: "bool", value })
};

/**
 * Tensor data: either the whole tensor, or a function returning chunks in
 * row-major order (innermost dimension fastest). The writer is done with a
 * chunk before it asks for the next one, so a generator may refill and yield
 * the same buffer every time.
 */
export type GgufTensorData = Float32Array | (() => Iterable<Float32Array>);

export interface GgufTensorSpec {
    name: string;
    /** Innermost dimension first, as GGUF stores them (a [rows x cols] matrix is [cols, rows]). */
    dims: readonly number[];
    type: GgufTensorType;
    data: GgufTensorData;
}

export interface GgufTensorLayout {
    name: string;
    dims: readonly number[];
    type: GgufTensorType;
    elementCount: number;
    /** Offset from the start of the tensor data section. */
    offset: number;
    /** Absolute offset in the file. */
    fileOffset: number;
    byteLength: number;
}

export interface GgufLayout {
    alignment: number;
    metadataCount: number;
    /** Bytes of header + metadata + tensor infos, before the padding that starts the data section. */
    headerBytes: number;
    dataOffset: number;
    tensorDataBytes: number;
    fileSize: number;
    tensors: GgufTensorLayout[];
}

const GGML_MAX_DIMS = 4;
const GGML_MAX_NAME = 64; // includes the terminating NUL in ggml, so names may use 63 bytes
const OUTPUT_BUFFER_BYTES = 4 << 20;

const bytesPerElement: Record<GgufTensorType, number> = { f32: 4, f16: 2 };

const alignUp = (n: number, alignment: number) => Math.ceil(n / alignment) * alignment;

// ---------------------------------------------------------------------------
// float32 -> float16

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/**
 * IEEE 754 binary16 bits of a float32 value, rounding to nearest-even like
 * ggml's own conversion (and hardware F16C), so files match what llama.cpp's
 * tools would write. Inputs are narrowed to float32 first.
 */
export function float32ToFloat16Bits(value: number): number {
    scratchF32[0] = value;
    return f32BitsToF16Bits(scratchU32[0]!);
}

function f32BitsToF16Bits(bits: number): number {
    const sign = (bits >>> 16) & 0x8000;
    const exponent = (bits >>> 23) & 0xff;
    const mantissa = bits & 0x7fffff;

    if (exponent === 0xff) // Inf stays Inf; NaN keeps its top payload bits but must stay a NaN
        return mantissa === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mantissa >>> 13);

    const e = exponent - 127 + 15;
    if (e >= 0x1f)
        return sign | 0x7c00;

    if (e <= 0) {
        // Result is subnormal (or zero): shift in the implicit leading bit and round once.
        if (e < -10)
            return sign;
        const full = mantissa | 0x800000;
        const shift = 14 - e;
        let half = full >>> shift;
        const rest = full & ((1 << shift) - 1);
        const halfway = 1 << (shift - 1);
        if (rest > halfway || (rest === halfway && (half & 1) !== 0))
            half++;
        return sign | half;
    }

    // A rounding carry out of the mantissa correctly bumps the exponent (up to Inf).
    let half = (e << 10) | (mantissa >>> 13);
    const rest = mantissa & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (half & 1) !== 0))
        half++;
    return sign | half;
}

/** Converts `src` into `dst` (binary16 bit patterns); both must have the same length. */
export function convertFloat32ToFloat16(src: Float32Array, dst: Uint16Array): void {
    if (src.length !== dst.length)
        throw new RangeError(`length mismatch: ${src.length} float32 values, room for ${dst.length} float16 values`);
    const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
    for (let i = 0; i < bits.length; i++)
        dst[i] = f32BitsToF16Bits(bits[i]!);
}

/** Inverse of float32ToFloat16Bits (exact: every binary16 value is representable as a float32). */
export function float16BitsToFloat32(half: number): number {
    const sign = half & 0x8000 ? -1 : 1;
    const exponent = (half >>> 10) & 0x1f;
    const mantissa = half & 0x3ff;
    if (exponent === 0)
        return sign * mantissa * 2 ** -24;
    if (exponent === 0x1f)
        return mantissa === 0 ? sign * Infinity : NaN;
    return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

// ---------------------------------------------------------------------------
// header serialization

/** Growable little-endian byte sink for the header (metadata can be a few MB with a large vocabulary). */
class ByteSink {
    private buf = Buffer.allocUnsafe(64 * 1024);
    length = 0;

    private reserve(n: number) {
        if (this.length + n <= this.buf.length)
            return;
        let size = this.buf.length * 2;
        while (size < this.length + n)
            size *= 2;
        const next = Buffer.allocUnsafe(size);
        this.buf.copy(next, 0, 0, this.length);
        this.buf = next;
    }

    u8(v: number) { this.reserve(1); this.buf.writeUInt8(v, this.length); this.length += 1; }
    i8(v: number) { this.reserve(1); this.buf.writeInt8(v, this.length); this.length += 1; }
    u16(v: number) { this.reserve(2); this.buf.writeUInt16LE(v, this.length); this.length += 2; }
    i16(v: number) { this.reserve(2); this.buf.writeInt16LE(v, this.length); this.length += 2; }
    u32(v: number) { this.reserve(4); this.buf.writeUInt32LE(v, this.length); this.length += 4; }
    i32(v: number) { this.reserve(4); this.buf.writeInt32LE(v, this.length); this.length += 4; }
    u64(v: bigint) { this.reserve(8); this.buf.writeBigUInt64LE(v, this.length); this.length += 8; }
    i64(v: bigint) { this.reserve(8); this.buf.writeBigInt64LE(v, this.length); this.length += 8; }
    f32(v: number) { this.reserve(4); this.buf.writeFloatLE(v, this.length); this.length += 4; }
    f64(v: number) { this.reserve(8); this.buf.writeDoubleLE(v, this.length); this.length += 8; }

    string(s: string) {
        const n = Buffer.byteLength(s, "utf8");
        this.u64(BigInt(n));
        this.reserve(n);
        this.buf.write(s, this.length, n, "utf8");
        this.length += n;
    }

    zeros(n: number) { this.reserve(n); this.buf.fill(0, this.length, this.length + n); this.length += n; }

    bytes(): Buffer { return this.buf.subarray(0, this.length); }
}

const intRanges: Record<string, [number, number]> = {
    uint8: [0, 0xff],
    int8: [-0x80, 0x7f],
    uint16: [0, 0xffff],
    int16: [-0x8000, 0x7fff],
    uint32: [0, 0xffffffff],
    int32: [-0x80000000, 0x7fffffff]
};

function checkInteger(type: string, v: number, where: string) {
    const range = intRanges[type]!;
    if (!Number.isInteger(v) || v < range[0] || v > range[1])
        throw new RangeError(`${where}: ${String(v)} is not a valid ${type}`);
}

function toBigInt64(type: GgufBigIntTypeName, v: number | bigint, where: string): bigint {
    if (typeof v === "number" && !Number.isSafeInteger(v))
        throw new RangeError(`${where}: ${String(v)} is not a safe integer; pass a bigint for ${type}`);
    const b = BigInt(v);
    const ok = type === "uint64"
        ? b >= 0n && b <= 0xffffffffffffffffn
        : b >= -0x8000000000000000n && b <= 0x7fffffffffffffffn;
    if (!ok)
        throw new RangeError(`${where}: ${String(v)} is not a valid ${type}`);
    return b;
}

function writeScalar(sink: ByteSink, type: Exclude<GgufValueTypeName, "array">, v: unknown, where: string) {
    switch (type) {
        case "uint8": checkInteger(type, v as number, where); sink.u8(v as number); return;
        case "int8": checkInteger(type, v as number, where); sink.i8(v as number); return;
        case "uint16": checkInteger(type, v as number, where); sink.u16(v as number); return;
        case "int16": checkInteger(type, v as number, where); sink.i16(v as number); return;
        case "uint32": checkInteger(type, v as number, where); sink.u32(v as number); return;
        case "int32": checkInteger(type, v as number, where); sink.i32(v as number); return;
        case "float32": sink.f32(v as number); return;
        case "float64": sink.f64(v as number); return;
        case "uint64": sink.u64(toBigInt64(type, v as number | bigint, where)); return;
        case "int64": sink.i64(toBigInt64(type, v as number | bigint, where)); return;
        case "bool":
            if (typeof v !== "boolean")
                throw new TypeError(`${where}: expected a boolean`);
            sink.u8(v ? 1 : 0);
            return;
        case "string":
            if (typeof v !== "string")
                throw new TypeError(`${where}: expected a string`);
            sink.string(v);
            return;
    }
}

function writeValue(sink: ByteSink, value: GgufValue, where: string) {
    if (!(value.type in GgufValueType))
        throw new TypeError(`${where}: unknown GGUF value type ${JSON.stringify(value.type)}`);
    sink.u32(GgufValueType[value.type]);
    if (value.type !== "array") {
        writeScalar(sink, value.type, value.value, where);
        return;
    }
    // Nested arrays are legal GGUF but nothing llama.cpp reads needs them.
    if (!(value.itemType in GgufValueType) || value.itemType === ("array" as string))
        throw new TypeError(`${where}: unsupported array item type ${JSON.stringify(value.itemType)}`);
    const items = value.value;
    sink.u32(GgufValueType[value.itemType]);
    sink.u64(BigInt(items.length));
    for (let i = 0; i < items.length; i++)
        writeScalar(sink, value.itemType, items[i], `${where}[${i}]`);
}

// ---------------------------------------------------------------------------

export interface GgufWriterOptions {
    /** Tensor data alignment in bytes; stored as `general.alignment`. Default 32 (llama.cpp's default). */
    alignment?: number;
}

export class GgufWriter {
    readonly alignment: number;
    private readonly metadata = new Map<string, GgufValue>();
    private readonly tensors: GgufTensorSpec[] = [];
    private readonly tensorNames = new Set<string>();

    constructor(options: GgufWriterOptions = {}) {
        const alignment = options.alignment ?? GGUF_DEFAULT_ALIGNMENT;
        // The GGUF spec requires a power of two, and llama.cpp additionally needs
        // a multiple of 8 to read the (u)int64 values it casts in place.
        if (!Number.isInteger(alignment) || alignment < 8 || (alignment & (alignment - 1)) !== 0)
            throw new RangeError(`alignment must be a power of two >= 8, got ${alignment}`);
        this.alignment = alignment;
    }

    /** Sets a metadata key; keys are written in first-insertion order, re-setting keeps the position. */
    set(key: string, value: GgufValue): this {
        if (key.length === 0)
            throw new Error("metadata key must not be empty");
        if (key === "general.alignment")
            throw new Error("general.alignment is written from the writer's alignment option; don't set it directly");
        // Validate now so the error points at the caller rather than at write().
        writeValue(new ByteSink(), value, key);
        this.metadata.set(key, value);
        return this;
    }

    get(key: string): GgufValue | undefined {
        return this.metadata.get(key);
    }

    addTensor(spec: GgufTensorSpec): this {
        const { name, dims, type } = spec;
        if (name.length === 0 || Buffer.byteLength(name, "utf8") >= GGML_MAX_NAME)
            throw new Error(`tensor name ${JSON.stringify(name)} must be 1..${GGML_MAX_NAME - 1} bytes`);
        if (this.tensorNames.has(name))
            throw new Error(`duplicate tensor name ${JSON.stringify(name)}`);
        if (dims.length < 1 || dims.length > GGML_MAX_DIMS)
            throw new Error(`tensor ${name}: 1..${GGML_MAX_DIMS} dimensions required, got ${dims.length}`);
        for (const d of dims)
            if (!Number.isSafeInteger(d) || d < 1)
                throw new Error(`tensor ${name}: bad dimension ${d}`);
        if (!(type in GgmlType))
            throw new Error(`tensor ${name}: unsupported type ${JSON.stringify(type)}`);
        const count = elementCount(dims);
        if (spec.data instanceof Float32Array && spec.data.length !== count)
            throw new Error(`tensor ${name}: ${spec.data.length} values given, shape needs ${count}`);
        this.tensorNames.add(name);
        this.tensors.push({ name, dims: [...dims], type, data: spec.data });
        return this;
    }

    /** Offsets and sizes of everything, without producing any tensor data. */
    layout(): GgufLayout {
        return this.buildHeader().layout;
    }

    /** Writes the whole file to `path` (overwriting it); a partial file is removed on failure. */
    async write(path: string): Promise<GgufLayout> {
        if (endianness() !== "LE")
            throw new Error("GGUF writing is only implemented for little-endian hosts");
        const { header, layout } = this.buildHeader();
        const file = await open(path, "w");
        try {
            const out = new OutputBuffer(file);
            await out.write(header);
            await out.zeros(layout.dataOffset - header.length);
            for (let i = 0; i < this.tensors.length; i++) {
                const tensor = this.tensors[i]!;
                const info = layout.tensors[i]!;
                const written = await writeTensorData(out, tensor, info.elementCount);
                if (written !== info.elementCount)
                    throw new Error(`tensor ${tensor.name}: data source produced ${written} values, shape needs ${info.elementCount}`);
                await out.zeros(alignUp(info.byteLength, this.alignment) - info.byteLength);
            }
            await out.flush();
            if (out.position !== layout.fileSize)
                throw new Error(`internal error: wrote ${out.position} bytes, layout says ${layout.fileSize}`);
            await file.close();
        } catch (err) {
            await file.close().catch(() => undefined);
            await unlink(path).catch(() => undefined);
            throw err;
        }
        return layout;
    }

    private buildHeader(): { header: Buffer; layout: GgufLayout } {
        const sink = new ByteSink();
        sink.u32(GGUF_MAGIC);
        sink.u32(GGUF_VERSION);
        sink.u64(BigInt(this.tensors.length));
        sink.u64(BigInt(this.metadata.size + 1));

        for (const [key, value] of this.metadata) {
            sink.string(key);
            writeValue(sink, value, key);
        }
        sink.string("general.alignment");
        writeValue(sink, gguf.u32(this.alignment), "general.alignment");

        const tensors: GgufTensorLayout[] = [];
        let offset = 0;
        for (const t of this.tensors) {
            const count = elementCount(t.dims);
            const byteLength = count * bytesPerElement[t.type];
            sink.string(t.name);
            sink.u32(t.dims.length);
            for (const d of t.dims)
                sink.u64(BigInt(d));
            sink.u32(GgmlType[t.type]);
            sink.u64(BigInt(offset));
            tensors.push({ name: t.name, dims: t.dims, type: t.type, elementCount: count, offset, fileOffset: 0, byteLength });
            offset += alignUp(byteLength, this.alignment);
        }

        const headerBytes = sink.length;
        const dataOffset = alignUp(headerBytes, this.alignment);
        for (const t of tensors)
            t.fileOffset = dataOffset + t.offset;
        return {
            header: sink.bytes(),
            layout: {
                alignment: this.alignment,
                metadataCount: this.metadata.size + 1,
                headerBytes,
                dataOffset,
                tensorDataBytes: offset,
                fileSize: dataOffset + offset,
                tensors
            }
        };
    }
}

function elementCount(dims: readonly number[]): number {
    let n = 1;
    for (const d of dims)
        n *= d;
    if (!Number.isSafeInteger(n))
        throw new RangeError(`tensor with dims [${dims.join(", ")}] is too large`);
    return n;
}

type FileHandle = Awaited<ReturnType<typeof open>>;

/** Coalesces small writes (padding, small tensors) into large fs writes. */
class OutputBuffer {
    private readonly buf = Buffer.allocUnsafe(OUTPUT_BUFFER_BYTES);
    private used = 0;
    position = 0;

    constructor(private readonly file: FileHandle) {}

    /** Space to write `n` bytes directly into, flushing first if needed (n must fit the buffer). */
    async claim(n: number): Promise<Buffer> {
        if (this.used + n > this.buf.length)
            await this.flush();
        const view = this.buf.subarray(this.used, this.used + n);
        this.used += n;
        this.position += n;
        return view;
    }

    async write(bytes: Uint8Array): Promise<void> {
        let done = 0;
        while (done < bytes.length) {
            const n = Math.min(bytes.length - done, this.buf.length);
            const dst = await this.claim(n);
            dst.set(bytes.subarray(done, done + n));
            done += n;
        }
    }

    async zeros(n: number): Promise<void> {
        if (n > 0)
            (await this.claim(n)).fill(0);
    }

    async flush(): Promise<void> {
        let off = 0;
        while (off < this.used) {
            const { bytesWritten } = await this.file.write(this.buf, off, this.used - off);
            off += bytesWritten;
        }
        this.used = 0;
    }

    get capacity() { return this.buf.length; }
}

async function writeTensorData(out: OutputBuffer, tensor: GgufTensorSpec, expected: number): Promise<number> {
    const chunks: Iterable<Float32Array> = tensor.data instanceof Float32Array ? [tensor.data] : tensor.data();
    let written = 0;
    for (const chunk of chunks) {
        if (written + chunk.length > expected)
            throw new Error(`tensor ${tensor.name}: data source produced more than the ${expected} values its shape needs`);
        // Slice so that each piece fits the output buffer; the chunk is fully consumed before the generator resumes.
        const step = Math.floor(out.capacity / bytesPerElement[tensor.type]);
        for (let start = 0; start < chunk.length; start += step) {
            const part = chunk.subarray(start, Math.min(chunk.length, start + step));
            if (tensor.type === "f32") {
                await out.write(new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
            } else {
                const dst = await out.claim(part.length * 2);
                if ((dst.byteOffset & 1) === 0) {
                    convertFloat32ToFloat16(part, new Uint16Array(dst.buffer, dst.byteOffset, part.length));
                } else {
                    // A Uint16Array view needs an even offset; the buffer position can be odd after an odd-sized header flush.
                    const tmp = new Uint16Array(part.length);
                    convertFloat32ToFloat16(part, tmp);
                    dst.set(new Uint8Array(tmp.buffer));
                }
            }
        }
        written += chunk.length;
    }
    return written;
}
