/**
 * Minimal protobuf writer for the subset of onnx.proto needed to emit an inference graph
 * (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto). Written by
 * hand instead of pulling in protobufjs + a schema: it is ~200 lines, and onnxruntime validates
 * the result on load. Field numbers are those of onnx/onnx.proto (proto2).
 *
 * Large payloads (initializer raw_data) are kept as separate chunks and only copied once, into
 * the final buffer.
 */

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

export class PbWriter {
  private readonly chunks: Uint8Array[] = [];
  private small: number[] = [];
  private len = 0;

  get length(): number {
    return this.len + this.small.length;
  }

  private flush(): void {
    if (this.small.length > 0) {
      this.chunks.push(Uint8Array.from(this.small));
      this.len += this.small.length;
      this.small = [];
    }
  }

  private raw(bytes: Uint8Array): void {
    this.flush();
    this.chunks.push(bytes);
    this.len += bytes.length;
  }

  /** Unsigned varint of a non-negative safe integer, or any int64 given as bigint (two's complement). */
  varint(v: number | bigint): void {
    let n = typeof v === "bigint" ? BigInt.asUintN(64, v) : v >= 0 ? v : BigInt.asUintN(64, BigInt(v));
    if (typeof n === "number") {
      if (!Number.isSafeInteger(n)) throw new Error(`protobuf: varint ${n} is not a safe integer`);
      while (n >= 0x80) {
        this.small.push((n % 0x80) | 0x80);
        n = Math.floor(n / 0x80);
      }
      this.small.push(n);
      return;
    }
    while (n >= 0x80n) {
      this.small.push(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    this.small.push(Number(n));
  }

  private tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  int(field: number, v: number | bigint): void {
    this.tag(field, WIRE_VARINT);
    this.varint(v);
  }

  float(field: number, v: number): void {
    this.tag(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    for (const x of b) this.small.push(x);
  }

  bytes(field: number, b: Uint8Array): void {
    this.tag(field, WIRE_LEN);
    this.varint(b.length);
    if (b.length < 64) for (const x of b) this.small.push(x);
    else this.raw(b);
  }

  string(field: number, s: string): void {
    this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, m: PbWriter): void {
    this.tag(field, WIRE_LEN);
    this.varint(m.length);
    m.flush();
    this.flush();
    for (const c of m.chunks) this.chunks.push(c);
    this.len += m.len;
  }

  finish(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.len);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }
}

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT8: 3, INT64: 7 } as const;

/** AttributeProto.AttributeType values used here. */
const AttrType = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 } as const;

export type Attr =
  | { name: string; float: number }
  | { name: string; int: number }
  | { name: string; ints: readonly number[] }
  | { name: string; str: string };

function isLittleEndian(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}

/** TensorProto with raw little-endian data. */
export function tensorProto(name: string, dims: readonly number[], data: Float32Array | BigInt64Array | Int8Array): PbWriter {
  if (!isLittleEndian()) throw new Error("ONNX export needs a little-endian host (raw_data is little-endian)");
  const t = new PbWriter();
  for (const d of dims) t.int(1, d); // dims
  t.int(2, data instanceof Float32Array ? DataType.FLOAT : data instanceof Int8Array ? DataType.INT8 : DataType.INT64); // data_type
  t.string(8, name); // name
  t.bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)); // raw_data
  return t;
}

/** ValueInfoProto of a tensor; a string dim is symbolic (dim_param). */
export function valueInfo(name: string, elemType: number, dims: readonly (number | string)[]): PbWriter {
  const shape = new PbWriter();
  for (const d of dims) {
    const dim = new PbWriter();
    if (typeof d === "number") dim.int(1, d); // dim_value
    else dim.string(2, d); // dim_param
    shape.message(1, dim);
  }
  const tensorType = new PbWriter();
  tensorType.int(1, elemType); // elem_type
  tensorType.message(2, shape); // shape
  const type = new PbWriter();
  type.message(1, tensorType); // TypeProto.tensor_type
  const vi = new PbWriter();
  vi.string(1, name);
  vi.message(2, type);
  return vi;
}

function attributeProto(a: Attr): PbWriter {
  const w = new PbWriter();
  w.string(1, a.name);
  if ("float" in a) {
    w.int(20, AttrType.FLOAT);
    w.float(2, a.float);
  } else if ("int" in a) {
    w.int(20, AttrType.INT);
    w.int(3, a.int);
  } else if ("ints" in a) {
    w.int(20, AttrType.INTS);
    for (const v of a.ints) w.int(8, v);
  } else {
    w.int(20, AttrType.STRING);
    w.string(4, a.str);
  }
  return w;
}

export function nodeProto(opType: string, inputs: readonly string[], outputs: readonly string[], name: string, attrs: readonly Attr[] = [], domain = ""): PbWriter {
  const n = new PbWriter();
  for (const i of inputs) n.string(1, i);
  for (const o of outputs) n.string(2, o);
  n.string(3, name);
  n.string(4, opType);
  for (const a of attrs) n.message(5, attributeProto(a));
  if (domain !== "") n.string(7, domain);
  return n;
}

export interface GraphParts {
  name: string;
  nodes: PbWriter[];
  initializers: PbWriter[];
  inputs: PbWriter[];
  outputs: PbWriter[];
}

export function graphProto(g: GraphParts): PbWriter {
  const w = new PbWriter();
  for (const n of g.nodes) w.message(1, n);
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, t);
  for (const i of g.inputs) w.message(11, i);
  for (const o of g.outputs) w.message(12, o);
  return w;
}

export interface ModelParts {
  irVersion: number;
  opsets: readonly { domain: string; version: number }[];
  producerName: string;
  producerVersion: string;
  docString?: string;
  graph: PbWriter;
}

export function modelProto(m: ModelParts): Uint8Array {
  const w = new PbWriter();
  w.int(1, m.irVersion);
  w.string(2, m.producerName);
  w.string(3, m.producerVersion);
  if (m.docString !== undefined) w.string(6, m.docString);
  w.message(7, m.graph);
  for (const o of m.opsets) {
    const op = new PbWriter();
    if (o.domain !== "") op.string(1, o.domain);
    op.int(2, o.version);
    w.message(8, op);
  }
  return w.finish();
}

/** Records nodes and initializers; names values t0, t1, ... unless told otherwise. */
export class GraphBuilder {
  readonly nodes: PbWriter[] = [];
  readonly initializers: PbWriter[] = [];
  private counter = 0;
  private readonly consts = new Map<string, string>();

  fresh(hint: string): string {
    return `${hint}_${this.counter++}`;
  }

  init(name: string, dims: readonly number[], data: Float32Array | Int8Array): string {
    this.initializers.push(tensorProto(name, dims, data));
    return name;
  }

  /** A shared float scalar constant. */
  scalar(v: number): string {
    const key = `f:${v}`;
    let name = this.consts.get(key);
    if (name === undefined) {
      name = this.init(`const_f${this.consts.size}`, [], Float32Array.of(v));
      this.consts.set(key, name);
    }
    return name;
  }

  /** A shared int64 vector constant (shapes, axes, slice bounds). */
  ints(values: readonly number[]): string {
    const key = `i:${values.join(",")}`;
    let name = this.consts.get(key);
    if (name === undefined) {
      name = `const_i${this.consts.size}`;
      this.initializers.push(tensorProto(name, [values.length], BigInt64Array.from(values, (v) => BigInt(v))));
      this.consts.set(key, name);
    }
    return name;
  }

  op(opType: string, inputs: readonly string[], attrs: readonly Attr[] = [], output?: string): string {
    const out = output ?? this.fresh(opType.toLowerCase());
    this.nodes.push(nodeProto(opType, inputs, [out], `${opType}_${this.nodes.length}`, attrs));
    return out;
  }

  opMulti(opType: string, inputs: readonly string[], nOut: number, attrs: readonly Attr[] = []): string[] {
    const outs = Array.from({ length: nOut }, () => this.fresh(opType.toLowerCase()));
    this.nodes.push(nodeProto(opType, inputs, outs, `${opType}_${this.nodes.length}`, attrs));
    return outs;
  }
}
