export { Atomic, AtomicArray } from "./atomic.js";
export { Counter } from "./counter.js";
export { SpinLock, Mutex } from "./spinlock.js";
export { RwLock } from "./rwlock.js";
export { TryLock } from "./trylock.js";
export { waitUntil } from "./wait.js";
export { choose } from "./choice.js";
