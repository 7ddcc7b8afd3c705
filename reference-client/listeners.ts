// Notification listeners by type (a subscription's `on`), called like EventTarget's: a listener
// that throws is reported asynchronously and stops neither the others nor the stream.

export type Listener<T> = (value: T) => void;

export class Listeners<Events> {
  readonly #byType = new Map<keyof Events, Set<Listener<never>>>();

  /** Calls `listener` for each notification of `type`; returns a function that removes it. */
  on<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void {
    let set = this.#byType.get(type);
    if (!set) this.#byType.set(type, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  emit<K extends keyof Events>(type: K, value: Events[K]): void {
    for (const listener of this.#byType.get(type) ?? []) {
      try {
        (listener as Listener<Events[K]>)(value);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
