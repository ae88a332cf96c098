import type { Gatherer } from './gatherer.js';
import { mergeCollected, type Merged } from './merge.js';

/** One round of asking the workers, their series merged once for every scrape that serves it. */
export interface Round {
  /** The live workers' series and the exited workers' totals, merged. */
  merged: Merged;
  /** Live workers that have reported. */
  workers: number;
  /** Of those, the ones that did not answer within the wait. */
  unresponsive: number;
  /** When the round ended (`performance.now()`). */
  endedAt: number;
}

/**
 * How many times its own duration the primary waits after a round before it starts the next on
 * its own: the rounds then take at most a fifth of the time, whatever the series count. A round's
 * wall-clock time bounds what every process spent on it, and grows when the cores are shared, so
 * on a crowded machine the rounds thin out with the CPU they would take. Four keeps the default
 * second between rounds of up to 200 ms: 2,000 series in each of 8 workers sharing one core take
 * about 180 ms.
 */
export const ROUND_SPACING = 4;

/**
 * The primary's rounds of gathering: every `interval` ms in the background (spaced out by
 * {@link ROUND_SPACING} when they take long), each merged once when it ends. A scrape serves the
 * last round if it ended at most `interval` ms before, and otherwise starts one, or joins the one
 * under way; with `interval` 0, every scrape asks.
 */
export class Rounds {
  private kept: Round | undefined;
  private running: Promise<Round> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly gatherer: Gatherer,
    private readonly interval: number,
    private readonly warn: (key: string, message: string) => void,
    /** Told when a round started by the timer fails; a scrape's failure goes to the scrape. */
    private readonly fail: (err: unknown) => void,
  ) {
    // The workers fork after the primary is set up: the first round waits an interval for them.
    this.schedule(interval);
  }

  /** The round a scrape serves. */
  current(): Promise<Round> {
    const kept = this.kept;
    if (
      kept !== undefined &&
      this.interval > 0 &&
      performance.now() - kept.endedAt <= this.interval
    )
      return Promise.resolve(kept);
    return this.next();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** The round under way, or a new one: scrapes and the timer share it. */
  private next(): Promise<Round> {
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async run(): Promise<Round> {
    const started = performance.now();
    try {
      const gathered = await this.gatherer.gather();
      const round: Round = {
        merged: mergeCollected(gathered.contributions, { attributes: {} }, this.warn),
        workers: gathered.workers,
        unresponsive: gathered.unresponsive,
        endedAt: performance.now(),
      };
      this.kept = round;
      return round;
    } finally {
      const took = performance.now() - started;
      // Early enough that the next round is in before this one is an interval old, even if it
      // takes twice as long; and never sooner than the spacing allows.
      this.schedule(Math.max(this.interval - 2 * took, ROUND_SPACING * took));
    }
  }

  private schedule(delay: number): void {
    clearTimeout(this.timer);
    if (this.stopped || this.interval === 0) return;
    this.timer = setTimeout(() => {
      this.next().catch(this.fail);
    }, delay);
    // The rounds never keep the primary alive on their own.
    this.timer.unref();
  }
}
