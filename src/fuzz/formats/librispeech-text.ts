import * as path from "node:path";
import type { FuzzFormat } from "../format.js";
import { LIBRISPEECH_LEXICON, libriSpeechFiles, readDataset } from "../dataset-seeds.js";

/** LibriSpeech transcripts (*.trans.txt, ASR) and an s3prl g2p lexicon (`--lexicon`, PR). */
export const format: FuzzFormat = {
  name: "librispeech-text",
  description: "LibriSpeech chapter transcripts and g2p lexicons",
  textual: true,
  async seeds() {
    const files = libriSpeechFiles();
    return [
      { name: "trans.txt", files, target: "train-clean-100/103/1240/103-1240.trans.txt" },
      { name: "lexicon", files, target: LIBRISPEECH_LEXICON },
    ];
  },
  async read(dir) {
    await readDataset("librispeech", dir, { lexicon: path.join(dir, LIBRISPEECH_LEXICON) });
  },
};
