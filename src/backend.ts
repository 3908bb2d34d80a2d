import * as tf from "@tensorflow/tfjs";
import { createRequire } from "node:module";
import { installWasmKernels } from "./wasm-kernels.js";

/**
 * Training runs on TensorFlow.js. The native bindings (`@tensorflow/tfjs-node-gpu`, `-node`) need a
 * libtensorflow download at install time, so they are optional: if the user installed one, it is
 * loaded here; otherwise the WebAssembly backend (always installable) is used.
 */
export interface TensorBackendInfo {
  name: string;
  /** Packages that were probed and whether they loaded. */
  probed: { package: string; loaded: boolean; reason?: string }[];
}

let initialised: Promise<TensorBackendInfo> | undefined;

const NATIVE_PACKAGES = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"] as const;

async function tryNative(): Promise<{ probed: TensorBackendInfo["probed"]; loaded: boolean }> {
  const probed: TensorBackendInfo["probed"] = [];
  const require = createRequire(import.meta.url);
  for (const pkg of NATIVE_PACKAGES) {
    try {
      require.resolve(pkg);
    } catch {
      probed.push({ package: pkg, loaded: false, reason: "not installed" });
      continue;
    }
    try {
      await import(pkg);
      if (tf.findBackend("tensorflow")) {
        probed.push({ package: pkg, loaded: true });
        return { probed, loaded: true };
      }
      probed.push({ package: pkg, loaded: false, reason: "loaded but registered no backend (version mismatch?)" });
    } catch (err) {
      probed.push({ package: pkg, loaded: false, reason: (err as Error).message.split("\n")[0] });
    }
  }
  return { probed, loaded: false };
}

/** Picks the fastest available backend once per process. SUPERB_TF_BACKEND forces one ("wasm", "cpu", "tensorflow"). */
export function initTensorBackend(): Promise<TensorBackendInfo> {
  initialised ??= (async () => {
    const forced = process.env.SUPERB_TF_BACKEND;
    let probed: TensorBackendInfo["probed"] = [];
    if (!forced || forced === "tensorflow") {
      const native = await tryNative();
      probed = native.probed;
      if (native.loaded && (await tf.setBackend("tensorflow"))) {
        await tf.ready();
        return { name: "tensorflow", probed };
      }
    }
    if (!forced || forced === "wasm") {
      await import("@tensorflow/tfjs-backend-wasm");
      probed.push({ package: "@tensorflow/tfjs-backend-wasm", loaded: true });
      installWasmKernels();
      if (await tf.setBackend("wasm")) {
        await tf.ready();
        return { name: "wasm", probed };
      }
    }
    await tf.setBackend("cpu");
    await tf.ready();
    return { name: "cpu", probed };
  })();
  return initialised;
}
