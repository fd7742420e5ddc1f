// The public types come from blocklab.d.ts, the one place they are declared
// (with the doc comments the editor shows); the implementation imports them
// from here, so the compiler holds it to what users are promised.

export type {
  ActorDefinition,
  ActorFunction,
  BuiltinInvariant,
  Config,
  DeviceView,
  DiskseqFormat,
  DmFlagPolicy,
  DomainDefinition,
  LoopAttachment,
  LoopListEntry,
  FileDefinition,
  ImageFileDefinition,
  KernelId,
  PatchId,
  PatchMap,
  PatchSelection,
  PatchValue,
  PresetId,
  ResolvedPatches,
  ScenarioDefinition,
  Size,
  Sys,
  TextFileDefinition,
  WorldCheck,
  WorldView,
} from "blocklab";
