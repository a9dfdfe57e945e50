// The threadpool shim (native/threadpool-shim.c) must only change speed, never output.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { getTestModel } from "../../helpers/models.js";
import { postJson, startServer } from "../../helpers/server.js";
import { SHIM_PATH } from "../../../src/model-server/engine/threadpool-shim.js";

const why = process.platform !== "linux" ? "the shim is Linux-only" : !existsSync(SHIM_PATH) ? `${SHIM_PATH} was not built (no C compiler at install?)` : false;

test("with -t 2 the shim is loaded and greedy output is token for token the same as without it", { skip: why }, async () => {
  const model = await getTestModel("small");
  const ask = { prompt: "Once upon a time", n_predict: 48, temperature: 0, logit_bias: [[2, false], [4, false]] };
  const outputs: string[] = [];
  for (const env of [{ CORRAL_THREADPOOL: "1" }, { CORRAL_THREADPOOL: "0" }]) {
    const server = await startServer(["-m", model, "-t", "2", "-c", "512"], { env });
    try {
      assert.match(server.output(), env.CORRAL_THREADPOOL === "1" ? /threadpool shim loaded/ : /threadpool shim disabled/);
      const r = await postJson(`${server.url}/completion`, ask);
      assert.equal(r.status, 200);
      assert.equal(r.json.tokens_predicted, 48);
      outputs.push(r.json.content);
    } finally {
      await server.stop();
    }
  }
  assert.equal(outputs[0], outputs[1]);
});
