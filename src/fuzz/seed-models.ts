/** Model seeds for the fuzz harness, written by the project's own exporters. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { presetConfig } from "../wav2vec2/config.js";
import { saveHfFolder } from "../wav2vec2/hf-io.js";
import { initParams } from "../wav2vec2/params.js";

/** The project's tiny wav2vec 2.0 saved as a HuggingFace folder by its own writer. */
export function tinyHfFiles(): Record<string, Uint8Array> {
  const config = presetConfig("tiny", { num_hidden_layers: 1, hidden_size: 32, intermediate_size: 32, conv_dim: [16, 16, 16, 16, 16, 16, 16] });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "superb-fuzz-hf-"));
  try {
    saveHfFolder(dir, config, initParams(config, 3));
    const files: Record<string, Uint8Array> = {};
    for (const f of fs.readdirSync(dir)) files[f] = new Uint8Array(fs.readFileSync(path.join(dir, f)));
    files["preprocessor_config.json"] = new TextEncoder().encode(JSON.stringify({ do_normalize: true, sampling_rate: 16000, feature_size: 1 }, null, 2));
    return files;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

