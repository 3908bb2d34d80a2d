/**
 * pase: the project's own PASE+ encoder (SincNet, 7 conv blocks, QRNN, dense skips; PASE+'s
 * kernels and strides at half the channels), pre-trained here with PASE+'s twelve workers on
 * real recordings plus the embedded corpus (upstreams/pase/MODEL_CARD.md has the config, data,
 * seed, command and per-worker loss curves).
 */
import * as path from "node:path";
import { UserError } from "../src/errors.js";
import { packageRoot } from "../src/package-info.js";
import { createPaseUpstream, loadPaseFolder, paseFolderExists } from "../src/pase/upstream.js";
import type { Upstream, UpstreamDefinition } from "../src/upstream.js";

const HOW_TO_BUILD = "npm run pretrain-data && superb pretrain --recipe pase+ --config pase+-small --out upstreams/pase --data /tmp/superb-pretrain-real --data embedded:full --steps 800 --batch-size 8 --lr 1e-3 --seed 0";

export const upstream: UpstreamDefinition = {
  name: "pase",
  description: "PASE+ (SincNet + conv blocks + QRNN + dense skips, 9 hidden states x 256, 100 Hz) pre-trained here (shipped)",
  async create(): Promise<Upstream> {
    const dir = path.join(packageRoot(), "upstreams", "pase");
    if (!paseFolderExists(dir)) throw new UserError(`upstream "pase" has no weights in ${dir}; build them with: ${HOW_TO_BUILD}`);
    const { config, params } = loadPaseFolder(dir);
    return createPaseUpstream("pase", config, params);
  },
};
