// What a scenario file imports as "blocklab" (the CLI maps the name here;
// the editor gets the types from blocklab.d.ts, where they are declared).

export { scenario } from "./scenario";
export { SysError } from "../sim/op";
export type * from "./types";
