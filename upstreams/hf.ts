/**
 * hf:<dir>: a HuggingFace wav2vec2 folder (config.json + model.safetensors, as written by
 * `save_pretrained(dir, safe_serialization=True)` or by this project). Pickle checkpoints are
 * refused. All num_hidden_layers + 1 hidden states are exposed.
 */
import { UserError } from "../src/errors.js";
import type { Upstream, UpstreamDefinition } from "../src/upstream.js";
import { loadHfFolder } from "../src/wav2vec2/hf-io.js";
import { createWav2Vec2Upstream } from "../src/wav2vec2/upstream.js";

export const upstream: UpstreamDefinition = {
  name: "hf",
  description: "HuggingFace wav2vec2 folder: hf:<dir> with config.json + model.safetensors (all hidden layers)",
  takesArgument: true,
  async create(argument?: string): Promise<Upstream> {
    if (!argument) throw new UserError('upstream "hf" needs a folder: hf:<dir> (config.json + model.safetensors)');
    const { config, params, doNormalize } = loadHfFolder(argument);
    return createWav2Vec2Upstream("hf", config, params, { normalizeInput: doNormalize });
  },
};
