/** Passes per frame: a model flush may wake its panels, which then render in the same frame. */
const MAX_PASSES = 4;

/**
 * Batches DOM work into one pass per animation frame: however many events arrive
 * between two frames (200/s or 20,000 in a snapshot), each panel renders once.
 */
export class FrameScheduler {
  private readonly tasks = new Set<() => void>();
  private requested = false;

  schedule(task: () => void): void {
    this.tasks.add(task);
    this.request();
  }

  private request(): void {
    if (this.requested) return;
    this.requested = true;
    requestAnimationFrame(() => this.run());
  }

  private run(): void {
    this.requested = false;
    for (let pass = 0; pass < MAX_PASSES && this.tasks.size > 0; pass++) {
      const batch = [...this.tasks];
      this.tasks.clear();
      for (const task of batch) {
        try {
          task();
        } catch (err) {
          // One failing panel must not freeze the others.
          reportError(err);
        }
      }
    }
    if (this.tasks.size > 0) this.request();
  }
}
