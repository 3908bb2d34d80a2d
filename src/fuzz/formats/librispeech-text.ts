import * as path from "node:path";
import { datasetFuzzFormat, LIBRISPEECH_LEXICON, libriSpeechFiles } from "../dataset-seeds.js";

/** LibriSpeech transcripts (*.trans.txt, ASR) and an s3prl g2p lexicon (`--lexicon`, PR). */
export const format = datasetFuzzFormat({
  name: "librispeech-text",
  description: "LibriSpeech chapter transcripts and g2p lexicons",
  kind: "librispeech",
  files: libriSpeechFiles,
  targets: ["train-clean-100/103/1240/103-1240.trans.txt", LIBRISPEECH_LEXICON],
  options: (dir) => ({ lexicon: path.join(dir, LIBRISPEECH_LEXICON) }),
});
