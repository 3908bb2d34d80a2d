/**
 * refined: `base` refined on the real Alice fMRI data (Brennan et al. 2016) with `superb refine`
 * (Li et al. 2024's two-stage encoding objective); upstreams/refined/MODEL_CARD.md has the data,
 * history, penalty, stages, steps, seed and the held-out encoding r before and after.
 */
import { shippedUpstream } from "../src/wav2vec2/shipped.js";

export const upstream = shippedUpstream(
  "refined",
  "base refined on the Alice fMRI recordings (Li et al. 2024 two-stage encoding objective; shipped)",
  "superb refine --upstream base --brain alice --out upstreams/refined --stage1-steps 200 --stage2-steps 60",
);
