/**
 * base: the project's own wav2vec 2.0, pre-trained with the wav2vec 2.0 objective on the real
 * recordings of `npm run pretrain-data` plus the embedded corpus (upstreams/base/MODEL_CARD.md has
 * the config, data, seed, command and loss curve).
 */
import { shippedUpstream } from "../src/wav2vec2/shipped.js";

export const upstream = shippedUpstream(
  "base",
  "wav2vec 2.0 (4 x 192, 5 hidden states, 50 Hz) pre-trained here on real speech + the embedded corpus (shipped)",
  "npm run pretrain-data && superb pretrain --recipe wav2vec2 --config base --out upstreams/base --data /tmp/superb-pretrain-real --data embedded:full --steps 3000 --batch-size 8 --seed 0 --diversity-weight 0.5",
);
