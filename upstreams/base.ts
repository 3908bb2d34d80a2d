/**
 * base: the project's own wav2vec 2.0, pre-trained with the wav2vec 2.0 objective on the embedded
 * corpus (upstreams/base/MODEL_CARD.md has the config, data, seed, command and loss curve).
 */
import { shippedUpstream } from "../src/wav2vec2/shipped.js";

export const upstream = shippedUpstream(
  "base",
  "wav2vec 2.0 (4 x 192, 5 hidden states, 50 Hz) pre-trained here on the embedded corpus (shipped)",
  "superb pretrain --config base --out upstreams/base --steps 1200 --batch-size 8 --seed 0",
);
