package switchboard.supervision.bench;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * What one phase measured: the latencies of the answered requests (nanoseconds, sorted), the
 * failures by what went wrong, and the wall time from the first request sent to the last answer.
 */
record PhaseResult(
    int requests, int concurrency, long[] latencies, Map<String, Integer> errors, long elapsedNanos,
    long[] firstPieces, long pieces) {

  PhaseResult {
    latencies = latencies.clone();
    Arrays.sort(latencies);
    firstPieces = firstPieces.clone();
    Arrays.sort(firstPieces);
    errors = new TreeMap<>(errors);
  }

  PhaseResult(int requests, int concurrency, long[] latencies, Map<String, Integer> errors, long elapsedNanos) {
    this(requests, concurrency, latencies, errors, elapsedNanos, new long[0], 0);
  }

  /** For streamed answers: the nearest-rank percentile of the time to the first piece of answer. */
  long firstPiecePercentile(double q) {
    return percentile(firstPieces, q);
  }

  /** For streamed answers: pieces of answer received per second over the phase's wall time. */
  double piecesPerSecond() {
    return elapsedNanos <= 0 ? 0 : pieces * 1e9 / elapsedNanos;
  }

  /** The same result with the warmup's failures added, so no failure goes unreported. */
  PhaseResult withWarmupErrors(Map<String, Integer> warmupErrors) {
    Map<String, Integer> all = new TreeMap<>(errors);
    warmupErrors.forEach((what, n) -> all.merge("warmup: " + what, n, Integer::sum));
    return new PhaseResult(requests, concurrency, latencies, all, elapsedNanos, firstPieces, pieces);
  }

  int errorCount() {
    return errors.values().stream().mapToInt(Integer::intValue).sum();
  }

  /** Answered requests per second over the phase's wall time. */
  double throughput() {
    return elapsedNanos <= 0 ? 0 : latencies.length * 1e9 / elapsedNanos;
  }

  /** The nearest-rank percentile ({@code q} in (0, 1]) in nanoseconds; 0 when nothing was answered. */
  long percentile(double q) {
    return percentile(latencies, q);
  }

  private static long percentile(long[] sorted, double q) {
    if (sorted.length == 0) {
      return 0;
    }
    int rank = (int) Math.ceil(q * sorted.length);
    return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
  }

  long max() {
    return latencies.length == 0 ? 0 : latencies[latencies.length - 1];
  }
}
