// Types for the parts of the "espeak-ng" package (an Emscripten build without typings) we use.
declare module "espeak-ng" {
  export interface ESpeakNgFS {
    readFile(path: string): Uint8Array;
    readFile(path: string, opts: { encoding: "utf8" }): string;
    writeFile(path: string, data: string | Uint8Array): void;
    readdir(path: string): string[];
    unlink(path: string): void;
    analyzePath(path: string): { exists: boolean };
  }
  export interface ESpeakNgModule {
    FS: ESpeakNgFS;
    HEAPU8: Uint8Array;
    HEAPU32: Uint32Array;
    /** The C main(argc, argv) of the espeak-ng command line program. */
    _main(argc: number, argv: number): number;
  }
  export interface ESpeakNgOptions {
    arguments?: string[];
    noInitialRun?: boolean;
    print?: (text: string) => void;
    printErr?: (text: string) => void;
    instantiateWasm?: (
      imports: WebAssembly.Imports,
      receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void,
    ) => object;
  }
  export default function ESpeakNg(options?: ESpeakNgOptions): Promise<ESpeakNgModule>;
}
