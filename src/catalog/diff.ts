// What a reload changes: models added, removed, and those whose launch key (everything their process depends on,
// the model file's stamp included) differs. Pure, so every case is a unit test.
export interface CatalogDiff {
  added: string[];
  removed: string[];
  changed: string[];
}

export function diffCatalogs(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): CatalogDiff {
  const added: string[] = [];
  const changed: string[] = [];
  for (const [id, key] of after) {
    if (!before.has(id)) added.push(id);
    else if (before.get(id) !== key) changed.push(id);
  }
  const removed = [...before.keys()].filter((id) => !after.has(id));
  return { added, removed, changed };
}
