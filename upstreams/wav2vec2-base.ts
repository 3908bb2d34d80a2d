/**
 * wav2vec2-base: the standard wav2vec 2.0 Base configuration (HF facebook/wav2vec2-base: 7-layer
 * CNN, 12 post-LN transformer layers, d 768, 95M parameters), 13 hidden states at 50 frames/s.
 * No weights can be downloaded here, so its parameters are HF's initialisation drawn with seed 0
 * (deterministic, untrained). For a pretrained or refined checkpoint use `hf:<dir>`.
 */
import type { Upstream, UpstreamDefinition } from "../src/upstream.js";
import { presetConfig } from "../src/wav2vec2/config.js";
import { initParams } from "../src/wav2vec2/params.js";
import { createWav2Vec2Upstream } from "../src/wav2vec2/upstream.js";

export const WAV2VEC2_BASE_SEED = 0;

export const upstream: UpstreamDefinition = {
  name: "wav2vec2-base",
  description: "wav2vec 2.0 Base config (95M params, 13 layers, 768-d, 50 Hz), random weights (seed 0); use hf:<dir> for a checkpoint",
  async create(): Promise<Upstream> {
    const config = presetConfig("wav2vec2-base");
    return createWav2Vec2Upstream("wav2vec2-base", config, initParams(config, WAV2VEC2_BASE_SEED));
  },
};
