// Live progress of a search, for people watching it: counters the
// strategies update in place (whenever they read the clock), so a caller
// (the UI's worker) reads exact figures instead of estimating them. They
// never affect what is explored.

export interface LiveCounts {
  /** Distinct states so far (exhaustive search). */
  states: number;
  /** Steps taken so far. */
  transitions: number;
  /** Executions completed so far. */
  executions: number;
}

export function liveCounts(): LiveCounts {
  return { states: 0, transitions: 0, executions: 0 };
}
