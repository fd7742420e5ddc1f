// A kind of store object, declared once by the model that owns it: its
// name, how its key is built from its parts, and typed accessors.
//
// Footprints are made of key strings (store.ts), so a key spelled two ways
// silently parts a writer from its reader, and the reductions then prune
// real interleavings without any test failing. Hence one declaration per
// kind, and accessors that take a key check that it is of their kind: a
// mixed-up key fails the step instead of splitting a footprint. The check
// is a `startsWith`, as cheap as the lookup it guards.
//
// A key is "<kind>:<tail>", the tail built from the parts ("disk:dom0:s3",
// "xs:/local/domain/1", "blkring:0:1:51712"). Most kinds put the domain
// first in the tail, which is the store's scope ("<kind>:<scope>:*"):
// `list(store, scope)` lists one domain's objects only.

import type { Store } from "./store";

/** A key handed to the accessors of another kind: a bug in a model, never an outcome. */
export class KindMismatch extends Error {
  constructor(kind: string, key: string) {
    super(`store key ${JSON.stringify(key)} is not a "${kind}" key`);
    this.name = "KindMismatch";
  }
}

export class ObjectKind<V, P extends readonly unknown[]> {
  /** "<name>:", what every key of the kind starts with. */
  readonly prefix: string;

  constructor(
    readonly name: string,
    private readonly build: (...parts: P) => string,
    private readonly parse?: (tail: string) => P,
  ) {
    this.prefix = `${name}:`;
  }

  key(...parts: P): string {
    return this.prefix + this.build(...parts);
  }

  /** Whether `key` names an object of this kind (not a collection: "<kind>:*" or "<kind>:<scope>:*"). */
  is(key: string): boolean {
    return key.startsWith(this.prefix) && !key.endsWith(":*");
  }

  /** Whether `key` is in the scope `scope` ("<kind>:<scope>:..."). */
  inScope(key: string, scope: string): boolean {
    return key.startsWith(this.prefix) && key.startsWith(scope, this.prefix.length) && key.charCodeAt(this.prefix.length + scope.length) === COLON;
  }

  /** The key's tail: what follows "<kind>:", or with `scope`, what follows "<kind>:<scope>:". */
  tail(key: string, scope?: string): string {
    if (scope === undefined) return this.check(key).slice(this.prefix.length);
    if (!this.inScope(key, scope)) throw new KindMismatch(`${this.name}:${scope}`, key);
    return key.slice(this.prefix.length + scope.length + 1);
  }

  /** The key's scope: its tail up to the first ":" (the domain, for most kinds). */
  scopeOf(key: string): string {
    this.check(key);
    const end = key.indexOf(":", this.prefix.length);
    return key.slice(this.prefix.length, end < 0 ? key.length : end);
  }

  /** The parts a key was built from, for a kind declared with its parse. */
  parts(key: string): P {
    if (!this.parse) throw new Error(`store object kind "${this.name}" has no parse of its keys`);
    return this.parse(this.tail(key));
  }

  /** The key of this kind with the tail of another kind's key (an object that goes with another, e.g. a device's ring). */
  withTail(tail: string): string {
    return this.prefix + tail;
  }

  /** Reads, recorded in the step's footprint. */
  get(store: Store, key: string): V | undefined {
    return store.get<V>(this.check(key));
  }

  has(store: Store, key: string): boolean {
    return store.has(this.check(key));
  }

  /** Reads without recording: invariants and views. */
  peek(store: Store, key: string): V | undefined {
    return store.peek<V>(this.check(key));
  }

  set(store: Store, key: string, value: V): void {
    store.set(this.check(key), value);
  }

  delete(store: Store, key: string): void {
    store.delete(this.check(key));
  }

  /** Replaces `old`, the object's value now, with it changed by `change`; the new value. */
  update(store: Store, key: string, old: V, change: Partial<V>): V {
    const next = { ...old, ...change } as V;
    store.set(this.check(key), next);
    return next;
  }

  /** The kind's keys (with `scope`, those in it), sorted; recorded as a read of the collection. */
  list(store: Store, scope?: string): string[] {
    return store.list(this.name, scope);
  }

  /** list() without recording: invariants and views. */
  peekList(store: Store, scope?: string): string[] {
    return store.peekList(this.name, scope);
  }

  private check(key: string): string {
    if (!key.startsWith(this.prefix)) throw new KindMismatch(this.name, key);
    return key;
  }
}

const COLON = 58;

/** What every kind has, whatever its values and parts: its name and its keys (registries, lists of kinds). */
export type AnyObjectKind = Pick<ObjectKind<unknown, never>, "name" | "prefix" | "is" | "inScope" | "tail" | "scopeOf" | "withTail" | "peek" | "list" | "peekList">;

/** Every declared kind by name. */
const declared = new Map<string, AnyObjectKind>();

/**
 * Declares a kind: `V` its values, `P` the parts its key is built from,
 * `tail` the key after "<name>:", and `parse`, for a kind whose keys are
 * taken apart, the parts back from a tail. A name declared twice throws:
 * two declarations of one kind are two spellings waiting to drift apart.
 */
export function declareKind<V, P extends readonly unknown[]>(name: string, tail: (...parts: P) => string, parse?: (tail: string) => P): ObjectKind<V, P> {
  if (name === "" || name.includes(":") || name === "*") throw new Error(`bad store object kind name ${JSON.stringify(name)}`);
  if (declared.has(name)) throw new Error(`store object kind "${name}" is declared twice`);
  const kind = new ObjectKind<V, P>(name, tail, parse);
  declared.set(name, kind);
  return kind;
}

/** The declared kinds, by name. */
export function declaredKinds(): ReadonlyMap<string, AnyObjectKind> {
  return declared;
}
