import * as fs from "node:fs";
import * as path from "node:path";
import { UserError } from "../errors.js";
import { packageRoot } from "../package-info.js";
import type { Upstream, UpstreamDefinition } from "../upstream.js";
import { loadHfFolder } from "./hf-io.js";
import { createWav2Vec2Upstream } from "./upstream.js";

/**
 * An upstream whose weights ship with the repository, in `upstreams/<name>/` as a HuggingFace
 * folder (config.json + model.safetensors + MODEL_CARD.md with the command that produced it).
 */
export function shippedUpstream(name: string, description: string, howToBuild: string): UpstreamDefinition {
  return {
    name,
    description,
    async create(): Promise<Upstream> {
      const dir = path.join(packageRoot(), "upstreams", name);
      if (!fs.existsSync(path.join(dir, "model.safetensors"))) {
        throw new UserError(`upstream "${name}" has no weights in ${dir}; build them with: ${howToBuild}`);
      }
      const { config, params } = loadHfFolder(dir);
      return createWav2Vec2Upstream(name, config, params);
    },
  };
}
