// The digits teacher of the docs site's "Distil in your browser" page (scripts/site.mjs loads this
// file through tsx): `kdgrad distill`'s teacher, src/cli/recipe.ts's trainTeacher with the default
// recipe and the generator of the given seed, so its weights are those of the
// teacher-seed0.safetensors that `kdgrad distill --seeds 0 --out DIR` saves.
import { Generator, encodeSafetensors } from "../src/index.js";
import { loadDigits } from "../src/node/index.js";
import { defaultRecipe, trainTeacher } from "../src/cli/recipe.js";

/**
 * The teacher as safetensors bytes (its state dict, float32), with the recipe, the seed and its
 * test errors as metadata; and those errors.
 */
export async function digitsTeacher(seed: number): Promise<{ bytes: Uint8Array; errors: number }> {
  const data = loadDigits();
  const { model, result } = await trainTeacher(defaultRecipe, data.train, data.test, new Generator(seed));
  const metadata = {
    recipe: JSON.stringify(defaultRecipe), seed: String(seed),
    testErrors: String(result.errors), testSize: String(data.test.y.size),
  };
  return { bytes: encodeSafetensors(model.stateDict(), metadata), errors: result.errors };
}
