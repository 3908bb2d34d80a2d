/** Worker thread for corpus generation: renders the jobs it is sent, one reply per job. */
import { parentPort } from "node:worker_threads";
import { renderUtterance, type UttJob, type UttResult } from "./render.js";
import { EspeakSynth } from "./synth.js";

export type WorkerReply = { ok: true; result: UttResult } | { ok: false; index: number; error: string };

const port = parentPort;
if (!port) throw new Error("synth-worker must run as a worker thread");

const synthReady = EspeakSynth.create();

port.on("message", (jobs: UttJob[]) => {
  void synthReady.then(
    (synth) => {
      for (const job of jobs) {
        let reply: WorkerReply;
        try {
          reply = { ok: true, result: renderUtterance(synth, job) };
        } catch (err) {
          reply = { ok: false, index: job.index, error: err instanceof Error ? err.message : String(err) };
        }
        port.postMessage(reply);
      }
    },
    (err: unknown) => {
      for (const job of jobs) {
        port.postMessage({ ok: false, index: job.index, error: `eSpeak start-up failed: ${String(err)}` } satisfies WorkerReply);
      }
    },
  );
});
