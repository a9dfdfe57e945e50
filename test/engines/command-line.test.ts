// A cmd preset's command line: split as a POSIX shell splits words (no shell runs it), macros expanded after.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { expandMacros, splitCommandLine } from "../../src/engines/cmd/command-line.js";

describe("splitCommandLine", () => {
  test("blanks separate words, runs of them and leading/trailing ones make no empty words", () => {
    assert.deepEqual(splitCommandLine("  vllm   serve\tmodel \n --port 8000  "), ["vllm", "serve", "model", "--port", "8000"]);
    assert.deepEqual(splitCommandLine(""), []);
    assert.deepEqual(splitCommandLine("   "), []);
  });

  test("single quotes are literal: backslashes, double quotes and ${…} stay as written", () => {
    assert.deepEqual(splitCommandLine(`run 'a b' 'c\\d' '"q"' '\${PORT}'`), ["run", "a b", "c\\d", '"q"', "${PORT}"]);
  });

  test("double quotes keep blanks; inside them \\ escapes only \" \\ $ and `", () => {
    assert.deepEqual(splitCommandLine(`run "a  b" "say \\"hi\\"" "c:\\\\x" "\\$HOME" "\\n"`), ["run", "a  b", 'say "hi"', "c:\\x", "$HOME", "\\n"]);
  });

  test("a backslash outside quotes escapes the next character, a blank included", () => {
    assert.deepEqual(splitCommandLine(String.raw`/opt/my\ models/run a\"b \'c\\`), ["/opt/my models/run", 'a"b', "'c\\"]);
  });

  test("quoted parts join the word around them, and empty quotes are an empty word", () => {
    assert.deepEqual(splitCommandLine(`--name="my model"x pre'fix'post`), ["--name=my modelx", "prefixpost"]);
    assert.deepEqual(splitCommandLine(`a "" '' b`), ["a", "", "", "b"]);
  });

  test("a backslash at the very end is kept as itself", () => {
    assert.deepEqual(splitCommandLine("a b\\"), ["a", "b\\"]);
  });

  test("an unterminated quote is an error naming the quote and the line", () => {
    assert.throws(() => splitCommandLine(`run "a b`), /unterminated " quote in 'run "a b'/);
    assert.throws(() => splitCommandLine(`run 'a b`), /unterminated ' quote/);
    // the escaped quote does not close it
    assert.throws(() => splitCommandLine(`run "a \\"`), /unterminated " quote/);
  });
});

describe("expandMacros", () => {
  const m = { PORT: "4321", HOST: "127.0.0.1", MODEL: "/models/a b.gguf", MODEL_ID: "a" };

  test("replaces ${PORT} ${HOST} ${MODEL} ${MODEL_ID}, each as often as it appears", () => {
    assert.equal(expandMacros("http://${HOST}:${PORT}/v1?m=${MODEL_ID}&p=${PORT}", m), "http://127.0.0.1:4321/v1?m=a&p=4321");
    assert.equal(expandMacros("--model=${MODEL}", m), "--model=/models/a b.gguf");
  });

  test("leaves other ${…}, $VAR and lowercase macro names as written", () => {
    assert.equal(expandMacros("${HOME} $PORT ${port} ${MODEL_IDS} ${ PORT }", m), "${HOME} $PORT ${port} ${MODEL_IDS} ${ PORT }");
  });

  test("is applied per word after splitting, so a macro value with blanks stays one argument", () => {
    const words = splitCommandLine("server -m ${MODEL} --port ${PORT}").map((w) => expandMacros(w, m));
    assert.deepEqual(words, ["server", "-m", "/models/a b.gguf", "--port", "4321"]);
  });

  test("a value that looks like a macro is not expanded again", () => {
    assert.equal(expandMacros("${MODEL_ID}", { ...m, MODEL_ID: "${PORT}" }), "${PORT}");
  });
});
