/**
 * pase:<dir>: a PASE+ encoder folder written by `superb pretrain --recipe pase+ --out <dir>`
 * (config.json + model.safetensors with pase's state_dict names; see src/pase/params.ts).
 */
import { UserError } from "../src/errors.js";
import { createPaseUpstream, loadPaseFolder } from "../src/pase/upstream.js";
import type { Upstream, UpstreamDefinition } from "../src/upstream.js";

export const upstream: UpstreamDefinition = {
  name: "pase",
  description: "PASE+ folder: pase:<dir> (config.json + model.safetensors from superb pretrain --recipe pase+)",
  takesArgument: true,
  async create(argument?: string): Promise<Upstream> {
    if (!argument) throw new UserError('upstream "pase:" needs a folder: pase:<dir>');
    const { config, params } = loadPaseFolder(argument);
    return createPaseUpstream(`pase:${argument}`, config, params);
  },
};
