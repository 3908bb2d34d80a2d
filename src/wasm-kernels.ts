import * as tf from "@tensorflow/tfjs";

/**
 * A faster Slice for the tfjs wasm backend. The stock kernel copies the whole input out of the
 * wasm heap (readSync) before taking its slice, so slicing one step out of a [T, ...] tensor costs
 * O(T) and a loop over steps O(T^2): 4 ms per slice of a 2M-element tensor, measured. Here the
 * output is allocated first and both tensors are read as views of the heap (as the stock Concat
 * kernel does), so a slice costs only what it copies. Same results, bit for bit.
 */
interface WasmTensorInfo {
  shape: number[];
  dtype: string;
  dataId: object;
}

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: string): WasmTensorInfo;
  typedArrayFromHeap(t: WasmTensorInfo): Float32Array | Int32Array | Uint8Array;
}

function sliceKernel(args: { inputs: { x?: unknown }; attrs?: unknown; backend: unknown }): WasmTensorInfo {
  const x = args.inputs.x as WasmTensorInfo;
  const backend = args.backend as WasmBackendLike;
  const attrs = args.attrs as { begin: number | number[]; size?: number | number[] };
  const [begin, size] = tf.slice_util.parseSliceParams(x as unknown as tf.TensorInfo, attrs.begin, attrs.size);
  const out = backend.makeOutput(size, x.dtype);
  const count = size.reduce((a, b) => a * b, 1);
  if (count === 0) return out;
  // Views are taken after makeOutput: allocating may grow (and so replace) the heap buffer.
  const xVals = backend.typedArrayFromHeap(x);
  const outVals = backend.typedArrayFromHeap(out);
  const strides = tf.util.computeStrides(x.shape);
  if (tf.slice_util.isSliceContinous(x.shape, begin, size)) {
    const offset = tf.slice_util.computeFlatOffset(begin, strides);
    outVals.set(xVals.subarray(offset, offset + count));
    return out;
  }
  // Copy rows of the innermost dimension, walking the outer indices like an odometer.
  const rank = size.length;
  const row = size[rank - 1];
  const index = new Array<number>(rank - 1).fill(0);
  const rows = count / row;
  for (let r = 0; r < rows; r++) {
    let offset = begin[rank - 1];
    for (let d = 0; d < rank - 1; d++) offset += (begin[d] + index[d]) * strides[d];
    outVals.set(xVals.subarray(offset, offset + row), r * row);
    for (let d = rank - 2; d >= 0; d--) {
      index[d] += 1;
      if (index[d] < size[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

/** Unpack (tf.unstack) and SplitV (tf.split) are slices too; the stock ones call the stock Slice directly. */
function unpackKernel(args: { inputs: { value?: unknown }; attrs?: unknown; backend: unknown }): WasmTensorInfo[] {
  const value = args.inputs.value as WasmTensorInfo;
  const rank = value.shape.length;
  let axis = (args.attrs as { axis: number }).axis;
  if (axis < 0) axis += rank;
  const outShape = value.shape.filter((_, i) => i !== axis);
  const begin = new Array<number>(rank).fill(0);
  const size = value.shape.slice();
  size[axis] = 1;
  const outs: WasmTensorInfo[] = [];
  for (let i = 0; i < value.shape[axis]; i++) {
    begin[axis] = i;
    const out = sliceKernel({ inputs: { x: value }, attrs: { begin: [...begin], size }, backend: args.backend });
    outs.push({ dataId: out.dataId, dtype: out.dtype, shape: outShape });
  }
  return outs;
}

function splitVKernel(args: { inputs: { x?: unknown }; attrs?: unknown; backend: unknown }): WasmTensorInfo[] {
  const x = args.inputs.x as WasmTensorInfo;
  const attrs = args.attrs as { numOrSizeSplits: number | number[]; axis: number | number[] };
  const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, attrs.numOrSizeSplits, axis);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((s) => {
    const size = [...x.shape];
    size[axis] = s;
    const out = sliceKernel({ inputs: { x }, attrs: { begin: [...begin], size }, backend: args.backend });
    begin[axis] += s;
    return out;
  });
}

let installed = false;

/** Replaces the wasm backend's Slice, Unpack and SplitV kernels; call after the wasm backend is registered. */
export function installWasmKernels(): void {
  if (installed) return;
  installed = true;
  const kernels: [string, unknown][] = [["Slice", sliceKernel], ["Unpack", unpackKernel], ["SplitV", splitVKernel]];
  for (const [kernelName, kernelFunc] of kernels) {
    tf.unregisterKernel(kernelName, "wasm");
    tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc: kernelFunc as tf.KernelFunc });
  }
}
