import { createOnnxFileUpstream } from "../../onnx-upstream.js";
import { presetConfig } from "../../wav2vec2/config.js";
import { buildOnnxModel } from "../../wav2vec2/onnx-export.js";
import { initParams } from "../../wav2vec2/params.js";
import type { FuzzFormat } from "../format.js";

/** ONNX upstreams (`--upstream onnx:FILE`): loaded, validated and probed as a run does. */
export const format: FuzzFormat = {
  name: "onnx",
  description: "ONNX models: protobuf graph, loaded by onnxruntime and probed for its layout",
  textual: false,
  async seeds() {
    const config = presetConfig("tiny", { num_hidden_layers: 1, hidden_size: 16, intermediate_size: 16, num_attention_heads: 2, num_conv_pos_embedding_groups: 2, conv_dim: [8, 8, 8, 8, 8, 8, 8] });
    return [{ name: "tiny-wav2vec2", files: { "m.onnx": buildOnnxModel(config, initParams(config, 5)) }, target: "m.onnx" }];
  },
  async read(dir) {
    const upstream = await createOnnxFileUpstream(`${dir}/m.onnx`, { intraOpNumThreads: 1 });
    await upstream.dispose();
  },
};
