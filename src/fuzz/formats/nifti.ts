import { readBold } from "../../brain/bold-io.js";
import { encodeNifti1, readNifti } from "../../brain/nifti.js";
import type { FuzzFormat } from "../format.js";

/** NIfTI-1 BOLD images (4-D) and masks (3-D), as `superb brain` reads them. */
export const format: FuzzFormat = {
  name: "nifti",
  description: "NIfTI-1 .nii images: 4-D BOLD, read raw and as a BOLD matrix",
  textual: false,
  async seeds() {
    const bold = Float32Array.from({ length: 2 * 2 * 2 * 5 }, (_, i) => Math.cos(i) * 100 + 1000);
    return [{ name: "bold-2x2x2x5", files: { "bold.nii": encodeNifti1(bold, [2, 2, 2, 5], { tr: 2 }) }, target: "bold.nii" }];
  },
  async read(dir) {
    readNifti(`${dir}/bold.nii`);
    readBold(`${dir}/bold.nii`);
  },
};
