/**
 * onnx:<path>: any ONNX speech model with one float32 waveform input [batch, samples] at 16 kHz
 * whose outputs are hidden states (one stacked rank-4 tensor, or [batch, frames, dim] outputs in
 * output order). Layers, dim and frame rate are learned by probing; see src/onnx-upstream.ts.
 */
import { createOnnxFileUpstream } from "../src/onnx-upstream.js";
import { UserError } from "../src/errors.js";
import type { Upstream, UpstreamDefinition } from "../src/upstream.js";

export const upstream: UpstreamDefinition = {
  name: "onnx",
  description: "ONNX model: onnx:<path>, waveform [batch, samples] in, hidden states out (e.g. torch.onnx.export, optimum)",
  takesArgument: true,
  async create(argument?: string): Promise<Upstream> {
    if (!argument) throw new UserError('upstream "onnx" needs a file: onnx:<path.onnx>');
    return createOnnxFileUpstream(argument);
  },
};
