import * as tf from "@tensorflow/tfjs";

/**
 * s3prl's Featurizer: one learnable weight per hidden layer, initialised to 0 (so the start is a
 * plain average), softmax over layers, weighted sum of the layers.
 */
export class WeightedLayerSum {
  readonly weights: tf.Variable<tf.Rank.R1>;

  constructor(readonly numLayers: number) {
    this.weights = tf.variable(tf.zeros([numLayers]), true, "featurizer.weights");
  }

  /** stacked: [batch, layers, frames, dim] -> [batch, frames, dim] */
  apply(stacked: tf.Tensor4D): tf.Tensor3D {
    return tf.tidy(() => {
      if (this.numLayers === 1) return stacked.squeeze([1]) as tf.Tensor3D;
      const norm = tf.softmax(this.weights).reshape([1, this.numLayers, 1, 1]);
      return tf.sum(tf.mul(stacked, norm), 1) as tf.Tensor3D;
    });
  }

  /** The softmax-normalised weights, one per layer, summing to 1. */
  layerWeights(): number[] {
    return Array.from(tf.tidy(() => tf.softmax(this.weights)).dataSync());
  }

  dispose(): void {
    this.weights.dispose();
  }
}
