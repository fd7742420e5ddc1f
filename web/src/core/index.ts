export { DataPlane, LIMITS } from "./data-plane";
export type { Target, MapResult, ConnectResult, ProcessResult, RingHeader, BackendOptions, GrantEntry, DomainState } from "./data-plane";
export { compileCore } from "./load";
export { CoreUsageError, CoreOutOfMemoryError } from "./errors";
export * from "./abi";
