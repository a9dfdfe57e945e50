// The layering rules, checked by `npm run lint` (part of `npm test`).
//
// dependency-cruiser runs on an import skeleton of the sources (tools/lint/import-skeleton.mjs): one .js file per
// .ts file holding only its relative imports, type-only ones included, so paths in the report end in .js.

// Floors, low to high: a module in src/ imports only from its own floor or a lower one.
const FLOORS = [
  ["util"],
  ["options", "gguf"],
  ["http", "hf"],
  ["catalog"],
  ["engines"],
  ["dialects"],
  ["model-server"],
  ["router"],
  ["cluster"],
  ["cli"],
];

// Import cycles that others are taking apart; each pair is tolerated as a cycle of its own and nothing more.
// Remove a pair once its cycle is gone.
const TOLERATED_CYCLES = [
];

const folders = (names) => `^src/(${names.join("|")})/`;
const exactly = (files) => `^(${files.map((f) => f.replace(/[.]/g, "\\.")).join("|")})$`;

const floorRules = FLOORS.slice(0, -1).map((floor, i) => ({
  name: `floor-${floor.join("-")}`,
  comment: `src/${floor.join("/, src/")}/ may not import from a higher floor`,
  severity: "error",
  from: { path: folders(floor) },
  to: { path: folders(FLOORS.slice(i + 1).flat()) },
}));

const toleratedCycleRules = TOLERATED_CYCLES.map((pair) => ({
  name: "no-circular",
  comment: "a tolerated cycle may not grow: it must not run through any other module",
  severity: "error",
  from: { path: exactly(pair) },
  to: { circular: true, via: { pathNot: exactly(pair) } },
}));

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "no import cycles, type-only imports included",
      severity: "error",
      from: { pathNot: exactly(TOLERATED_CYCLES.flat()) },
      to: { circular: true },
    },
    ...toleratedCycleRules,
    ...floorRules,
    {
      name: "on-a-floor",
      comment: "every module in src/ sits on a floor (add a new folder to FLOORS)",
      severity: "error",
      from: { path: "^src/", pathNot: folders(FLOORS.flat()) },
      to: {},
    },
    {
      name: "on-a-floor",
      comment: "every module in src/ sits on a floor (add a new folder to FLOORS)",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^src/", pathNot: folders(FLOORS.flat()) },
    },
    {
      name: "src-not-from-tests-or-tools",
      comment: "the product does not import tests, benchmarks or tools",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^(test|bench|tools)/" },
    },
  ],
  options: {
    moduleSystems: ["es6"],
    doNotFollow: { path: "node_modules" },
  },
};
