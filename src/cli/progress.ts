/**
 * A progress bar on stderr for long work: label, bar, epoch, loss, examples
 * per second and time left. Silent when the stream is not a terminal (or
 * when asked), so logs and `--json` output stay clean.
 */
export interface ProgressSink {
  isTTY?: boolean;
  columns?: number;
  write(s: string): unknown;
}

export class Progress {
  private started = 0;
  private lastDraw = 0;
  private examples = 0;

  constructor(
    private readonly sink: ProgressSink,
    private readonly label: string,
    private readonly total: number,
    private readonly enabled = sink.isTTY === true,
  ) {
    this.started = Date.now();
  }

  /** Report that `done` of `total` units (epochs) are finished. */
  update(done: number, info: { loss?: number; examples?: number } = {}): void {
    if (info.examples) this.examples += info.examples;
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDraw < 100 && done < this.total) return;
    this.lastDraw = now;
    const elapsed = (now - this.started) / 1000;
    const rate = elapsed > 0 ? this.examples / elapsed : 0;
    const left = done > 0 ? (elapsed / done) * (this.total - done) : NaN;
    const width = 24;
    const filled = Math.round((width * done) / this.total);
    const bar = "█".repeat(filled) + "░".repeat(width - filled);
    const parts = [
      `${this.label.padEnd(12)} ${bar} epoch ${done}/${this.total}`,
      info.loss !== undefined ? `loss ${info.loss.toFixed(4)}` : "",
      rate > 0 ? `${Math.round(rate)} ex/s` : "",
      Number.isFinite(left) ? `${Math.ceil(left)} s left` : "",
    ].filter(Boolean);
    const text = parts.join("  ").slice(0, (this.sink.columns ?? 100) - 1);
    this.sink.write(`\r\x1b[2K${text}`);
  }

  done(): void {
    if (this.enabled) this.sink.write("\r\x1b[2K");
  }
}
