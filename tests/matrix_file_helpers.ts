/** A small matrix file for tests that run a matrix through the CLI or the runner. */

/**
 * Write a matrix of tiny-preset cases (both paths, b 2, s_k 12, seed 11) named `name` into
 * `dir`, with the given query lengths, dtypes and layouts; returns the file's path.
 */
export async function writeTinyMatrix(
  dir: string,
  cases: { sq: number[]; dtype: string[]; layout: string[] },
  name: string,
): Promise<string> {
  const path = `${dir}/m.json`;
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      name,
      seed: 11,
      groups: [{
        axes: {
          preset: "tiny",
          path: ["absorbed", "expanded"],
          b: 2,
          sk: 12,
          sq: cases.sq,
          dtype: cases.dtype,
          layout: cases.layout,
        },
      }],
    }),
  );
  return path;
}

/**
 * Copy the published DeepSeek-V3 config.json into `dir` as cfg.json and write a matrix "m"
 * (seed 1) of one group reading it (`preset: "cfg.json"`) with the given query lengths;
 * returns the matrix's path. For tests of runs whose config file changes under them.
 */
export async function writeConfigMatrix(dir: string, sq: number[]): Promise<string> {
  const config = new URL(
    "../matrix/bundled/configs/published/DeepSeek-V3.config.json",
    import.meta.url,
  );
  await Deno.copyFile(config, `${dir}/cfg.json`);
  const path = `${dir}/m.json`;
  await Deno.writeTextFile(
    path,
    JSON.stringify({ name: "m", seed: 1, groups: [{ axes: { preset: "cfg.json", sq } }] }),
  );
  return path;
}
