/** One cap on failures: at most `max` per sliding `windowMs`. */
export interface FailureCap {
  readonly max: number;
  readonly windowMs: number;
}

/** Client addresses remembered at most; beyond this the longest-known are forgotten. */
const DEFAULT_MAX_ADDRESSES = 10_000;

/**
 * Failed authentications per client address in sliding windows, in memory, where a failure costs a third party (an
 * introspection request). Bounded: `maxAddresses` addresses, each as many times as the largest cap counts.
 */
export class AuthenticationFailureLimiter {
  private readonly failures = new Map<string, number[]>();
  private readonly keep: number;
  private readonly maxAddresses: number;
  private readonly now: () => number;

  constructor(
    private readonly caps: readonly FailureCap[],
    options: { readonly maxAddresses?: number; readonly now?: () => number } = {},
  ) {
    this.keep = Math.max(0, ...caps.map((cap) => cap.max));
    this.maxAddresses = options.maxAddresses ?? DEFAULT_MAX_ADDRESSES;
    this.now = options.now ?? Date.now;
  }

  /** True while `address` has reached one of the caps. */
  isLimited(address: string): boolean {
    const times = this.failures.get(address);
    if (!times) return false;
    const now = this.now();
    return this.caps.some((cap) => times.filter((at) => at > now - cap.windowMs).length >= cap.max);
  }

  /** Records a failure of `address`; true when this failure made it reach a cap (to log that once). */
  recordFailure(address: string): boolean {
    if (this.keep === 0) return false;
    const wasLimited = this.isLimited(address);
    const longest = Math.max(...this.caps.map((cap) => cap.windowMs));
    const now = this.now();
    const times = (this.failures.get(address) ?? []).filter((at) => at > now - longest);
    times.push(now);
    if (times.length > this.keep) times.splice(0, times.length - this.keep);
    // Re-inserted, so Map order is least recently failed first: that is what goes when the map is full.
    this.failures.delete(address);
    this.failures.set(address, times);
    if (this.failures.size > this.maxAddresses) this.failures.delete(this.failures.keys().next().value!);
    return !wasLimited && this.isLimited(address);
  }
}
