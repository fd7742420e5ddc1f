/** Misuse of the data plane from TypeScript: a bad id, size or offset. Never a guest's doing. */
export class CoreUsageError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "CoreUsageError";
  }
}

/** The arena (guest memory, images, tables) ran out of frames. */
export class CoreOutOfMemoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CoreOutOfMemoryError";
  }
}
