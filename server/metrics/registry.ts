import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Services } from '../services.js';

/** A gauge's reading: one number, or one number per label set. */
export type GaugeSample = number | ReadonlyArray<{ labels: Record<string, string>; value: number }>;
type GaugeCollect = () => GaugeSample | undefined | Promise<GaugeSample | undefined>;

/**
 * The metrics of one server node, on a Registry of its own: tests run several nodes in
 * one process, and the prom-client default registry would mix their numbers.
 *
 * Modules add what they own through `metricsFor(services)`:
 *   metricsFor(services).gauge('blackboard_tasks', 'Tasks by state', () => rows, ['state']);
 *   metricsFor(services).counter('blackboard_lock_acquires_total', 'Lock acquisitions', ['result']).inc({ result: 'ok' });
 * Gauges are read at scrape time, so the hot path pays nothing for them.
 */
export class NodeMetrics {
  readonly registry = new Registry();
  private readonly collectErrors: Counter<'metric'>;
  private readonly dependencyErrors: Counter<'dependency'>;

  constructor() {
    this.collectErrors = this.counter(
      'blackboard_metric_collect_errors_total',
      'Scrapes in which reading a gauge failed (the gauge is left out of that scrape).',
      ['metric'],
    );
    this.dependencyErrors = this.counter('blackboard_dependency_errors_total', 'Errors talking to a dependency (connection errors, failed queries).', [
      'dependency',
    ]);
  }

  /** Counts one error of a dependency ("redis", "postgres"). */
  dependencyError(dependency: string): void {
    this.dependencyErrors.inc({ dependency });
  }

  /** A gauge whose value `collect` reads when scraped. Registering a name again replaces the old one. */
  gauge(name: string, help: string, collect: GaugeCollect, labelNames: readonly string[] = []): Gauge<string> {
    this.registry.removeSingleMetric(name);
    const errors = this.collectErrors;
    const gauge: Gauge<string> = new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        gauge.reset();
        let sample: GaugeSample | undefined;
        try {
          sample = await collect();
        } catch {
          // A dependency down at scrape time must not fail the whole scrape.
          errors.inc({ metric: name });
          return;
        }
        if (sample === undefined) return;
        if (typeof sample === 'number') gauge.set(sample);
        else for (const row of sample) gauge.set(row.labels, row.value);
      },
    });
    return gauge;
  }

  /** A counter; asking for an existing name returns the one already registered. */
  counter<L extends string = string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    const existing = this.registry.getSingleMetric(name);
    if (existing instanceof Counter) return existing as Counter<L>;
    return new Counter<L>({ name, help, labelNames, registers: [this.registry] });
  }

  /**
   * A counter whose total is kept elsewhere as a plain integer (cheap on the hot path)
   * and read at scrape time; the total must only grow.
   */
  counterFrom(name: string, help: string, read: () => number): Counter<string> {
    this.registry.removeSingleMetric(name);
    const counter: Counter<string> = new Counter({
      name,
      help,
      registers: [this.registry],
      collect() {
        counter.reset();
        counter.inc(read());
      },
    });
    return counter;
  }

  histogram<L extends string = string>(name: string, help: string, labelNames: readonly L[], buckets: number[]): Histogram<L> {
    const existing = this.registry.getSingleMetric(name);
    if (existing instanceof Histogram) return existing as Histogram<L>;
    return new Histogram<L>({ name, help, labelNames, buckets, registers: [this.registry] });
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

const byNode = new WeakMap<Services, NodeMetrics>();

/** The metrics of the node these services belong to (created on first use). */
export function metricsFor(services: Services): NodeMetrics {
  let metrics = byNode.get(services);
  if (!metrics) {
    metrics = new NodeMetrics();
    byNode.set(services, metrics);
  }
  return metrics;
}
