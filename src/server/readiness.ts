/**
 * Whether this process should get traffic: not while it drains for shutdown, and not while its store does not
 * answer. One object feeds `/readyz` and the gRPC health service, so both always agree.
 */
export class Readiness {
  private draining = false;
  private readonly drainListeners = new Set<() => void>();

  /** `storeAnswers` rejects (or resolves false) when the store is unreachable. */
  constructor(private readonly storeAnswers: () => Promise<boolean>) {}

  /** True once shutdown has begun; never false again. */
  get isDraining(): boolean {
    return this.draining;
  }

  /** Marks the process as shutting down: readiness is false from now on and drain listeners run once. */
  startDraining(): void {
    if (this.draining) return;
    this.draining = true;
    for (const listener of this.drainListeners) listener();
    this.drainListeners.clear();
  }

  /** Calls `listener` when draining starts (at once if it has); returns an unsubscribe function. */
  onDrain(listener: () => void): () => void {
    if (this.draining) {
      listener();
      return () => {};
    }
    this.drainListeners.add(listener);
    return () => this.drainListeners.delete(listener);
  }

  /** Can this process take traffic right now? Never rejects. */
  async isReady(): Promise<boolean> {
    if (this.draining) return false;
    try {
      return await this.storeAnswers();
    } catch {
      return false;
    }
  }
}
