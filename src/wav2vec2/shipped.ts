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
      const { config, params, doNormalize } = loadHfFolder(dir);
      return createWav2Vec2Upstream(name, config, params, { normalizeInput: doNormalize });
    },
  };
}

/**
 * The HuggingFace folder behind a wav2vec 2.0 upstream spec: `hf:<dir>`, a folder path, or the
 * name of a shipped upstream (`upstreams/<name>/`). Anything else is a UserError saying why.
 */
export function resolveWav2Vec2Folder(spec: string): string {
  if (spec.startsWith("hf:")) {
    const dir = spec.slice(3);
    if (!dir) throw new UserError('hf: needs a folder: hf:<dir> (config.json + model.safetensors)');
    return dir;
  }
  if (spec.startsWith("onnx:")) throw new UserError(`${spec}: an ONNX graph has no trainable weights here; give a HuggingFace folder (hf:<dir>)`);
  if (/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(spec)) {
    const shipped = path.join(packageRoot(), "upstreams", spec);
    if (fs.existsSync(shipped) && fs.statSync(shipped).isDirectory()) {
      if (!fs.existsSync(path.join(shipped, "model.safetensors"))) throw new UserError(`upstream "${spec}" has no weights in ${shipped} yet (no model.safetensors)`);
      return shipped;
    }
    if (fs.existsSync(path.join(packageRoot(), "upstreams", `${spec}.ts`))) {
      throw new UserError(`upstream "${spec}" has no stored wav2vec 2.0 weights (use a shipped wav2vec 2.0 upstream such as base, or hf:<dir>)`);
    }
  }
  if (fs.existsSync(spec)) return spec;
  throw new UserError(`unknown upstream "${spec}": not hf:<dir>, a folder, or a shipped upstream in upstreams/<name>/`);
}
