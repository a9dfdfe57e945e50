// llama.cpp's three-way switches (--log-colors, -rea/--reasoning) take on, off or auto, and its other truthy and
// falsy words for on and off. It sits in util/ because the logger reads --log-colors with it.

const TRUTHY = ["on", "true", "1", "yes", "enabled"];
const FALSY = ["off", "false", "0", "no", "disabled"];

export function parseOnOffAuto(raw: string): "on" | "off" | "auto" {
  const v = raw.trim().toLowerCase();
  if (TRUTHY.includes(v)) return "on";
  if (FALSY.includes(v)) return "off";
  if (v === "auto") return "auto";
  throw new Error(`expected on, off or auto, got '${raw}'`);
}
