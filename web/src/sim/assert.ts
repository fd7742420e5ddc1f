// Internal errors of the explorer: an invariant of its own bookkeeping that
// does not hold. Never a finding about the scenario (that is a Violation):
// it means the search's answer cannot be trusted, so it stops the search
// instead of going on with a guess.

export class InternalError extends Error {
  constructor(message: string) {
    super(`internal error in the explorer: ${message}`);
    this.name = "InternalError";
  }
}

/**
 * Throws an InternalError unless `ok`; the message is built only then. Hot
 * paths test and throw inline instead: the message's closure would be
 * allocated at every call.
 */
export function internal(ok: boolean, message: () => string): asserts ok {
  if (!ok) throw new InternalError(message());
}
