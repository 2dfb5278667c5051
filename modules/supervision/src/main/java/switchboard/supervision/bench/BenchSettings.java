package switchboard.supervision.bench;

import java.time.Duration;

/**
 * One benchmark run as asked for on the command line.
 *
 * @param requests         measured requests per target (direct and via the gateway)
 * @param concurrency      requests in flight at once
 * @param providerLatency  how long the fake provider takes to answer each call
 * @param warmup           unmeasured requests per target before the measured ones
 * @param timeout          hard limit on the whole run, start-up and shutdown included
 * @param providerConnections the gateway's connections to the provider (its {@code max-connections});
 *                         0 = the default the gateway ships with
 * @param chunks           0 = whole answers; otherwise every answer is streamed ({@code "stream": true})
 *                         in this many pieces, spread over the provider latency
 */
record BenchSettings(
    int requests, int concurrency, Duration providerLatency, Endpoint endpoint, int warmup, Duration timeout,
    int providerConnections, int chunks) {

  BenchSettings(
      int requests, int concurrency, Duration providerLatency, Endpoint endpoint, int warmup, Duration timeout,
      int providerConnections) {
    this(requests, concurrency, providerLatency, endpoint, warmup, timeout, providerConnections, 0);
  }

  boolean stream() {
    return chunks > 0;
  }

  /** Limits that keep a typo from running for hours or exhausting ports. */
  static final int MAX_REQUESTS = 100_000;

  static final int MAX_CONCURRENCY = 1_000;

  BenchSettings {
    check(requests >= 1 && requests <= MAX_REQUESTS, "--requests " + requests + " is not 1 to " + MAX_REQUESTS);
    check(concurrency >= 1 && concurrency <= MAX_CONCURRENCY,
        "--concurrency " + concurrency + " is not 1 to " + MAX_CONCURRENCY);
    check(!providerLatency.isNegative() && providerLatency.compareTo(Duration.ofMinutes(1)) <= 0,
        "--provider-latency " + providerLatency.toMillis() + "ms is not 0ms to 60s");
    check(warmup >= 0 && warmup <= MAX_REQUESTS, "--warmup " + warmup + " is not 0 to " + MAX_REQUESTS);
    check(providerConnections >= 0 && providerConnections <= MAX_CONCURRENCY,
        "--provider-connections " + providerConnections + " is not 0 to " + MAX_CONCURRENCY);
    check(timeout.compareTo(Duration.ofSeconds(1)) >= 0, "--timeout " + timeout.toMillis() + "ms is less than 1s");
    check(chunks >= 0 && chunks <= 1000, "--stream " + chunks + " is not 1 to 1000 pieces");
    check(chunks == 0 || endpoint == Endpoint.COMPLETIONS, "--stream needs --endpoint completions");
  }

  private static void check(boolean ok, String problem) {
    if (!ok) {
      throw new IllegalArgumentException(problem);
    }
  }
}
