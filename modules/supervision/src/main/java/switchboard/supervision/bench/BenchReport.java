package switchboard.supervision.bench;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ForkJoinPool;

/**
 * The numbers of one benchmark run and the small table they are printed as.
 *
 * @param poolConnections  the gateway's Pekko HTTP {@code max-connections} per provider host, as it ran
 * @param poolOpenRequests the gateway's Pekko HTTP {@code max-open-requests}, as it ran
 */
record BenchReport(
    BenchSettings settings, PhaseResult direct, PhaseResult gateway, long heapBeforeBytes, long heapAfterBytes,
    int poolConnections, int poolOpenRequests) {

  /** The table's column header, also what tests look for. */
  static final String HEADER = String.format(Locale.ROOT, "%-8s %9s %7s %11s %9s %9s %9s %9s",
      "target", "requests", "errors", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms");

  int errorCount() {
    return direct.errorCount() + gateway.errorCount();
  }

  void print(PrintWriter out) {
    out.printf(Locale.ROOT, "switchboard bench: %d requests, concurrency %d, provider latency %dms, endpoint %s, warmup %d%s%n",
        settings.requests(), settings.concurrency(), settings.providerLatency().toMillis(),
        settings.endpoint().optionName(), settings.warmup(), settings.stream() ? ", streamed" : "");
    out.printf(Locale.ROOT, "gateway: provider connections %d, max-open-requests %d%s%n", poolConnections, poolOpenRequests,
        settings.providerConnections() == 0 ? " (max-connections default)" : " (--provider-connections)");
    out.printf(Locale.ROOT, "jvm: %d cpus, max heap %.0f MiB, common pool parallelism %d%s%n",
        Runtime.getRuntime().availableProcessors(), mib(Runtime.getRuntime().maxMemory()),
        ForkJoinPool.getCommonPoolParallelism(),
        ForkJoinPool.getCommonPoolParallelism() < 2 ? " (async CompletableFuture steps get a new thread each)" : "");
    out.println(HEADER);
    row(out, "direct", direct);
    row(out, "gateway", gateway);
    out.printf(Locale.ROOT, "added by the gateway: p50 %+.2f ms, p99 %+.2f ms; throughput %.0f%% of direct%n",
        millis(gateway.percentile(0.50) - direct.percentile(0.50)),
        millis(gateway.percentile(0.99) - direct.percentile(0.99)),
        direct.throughput() == 0 ? 0 : 100 * gateway.throughput() / direct.throughput());
    if (settings.stream()) {
      out.printf(Locale.ROOT, "streamed in %d pieces: time to first piece p50 %.2f ms direct, %.2f ms gateway (%+.2f ms); "
              + "p99 %.2f ms direct, %.2f ms gateway (%+.2f ms)%n",
          settings.chunks(), millis(direct.firstPiecePercentile(0.50)), millis(gateway.firstPiecePercentile(0.50)),
          millis(gateway.firstPiecePercentile(0.50) - direct.firstPiecePercentile(0.50)),
          millis(direct.firstPiecePercentile(0.99)), millis(gateway.firstPiecePercentile(0.99)),
          millis(gateway.firstPiecePercentile(0.99) - direct.firstPiecePercentile(0.99)));
      out.printf(Locale.ROOT, "pieces per second: %.0f direct, %.0f gateway%n", direct.piecesPerSecond(),
          gateway.piecesPerSecond());
    }
    out.printf(Locale.ROOT, "heap used after GC: %.1f MiB before, %.1f MiB after (%+.1f MiB)%n",
        mib(heapBeforeBytes), mib(heapAfterBytes), mib(heapAfterBytes - heapBeforeBytes));
    out.println("errors: " + errorCount());
    errors(out, "direct", direct.errors());
    errors(out, "gateway", gateway.errors());
    out.flush();
  }

  private static void row(PrintWriter out, String target, PhaseResult r) {
    out.printf(Locale.ROOT, "%-8s %9d %7d %11.1f %9.2f %9.2f %9.2f %9.2f%n",
        target, r.requests(), r.errorCount(), r.throughput(),
        millis(r.percentile(0.50)), millis(r.percentile(0.90)), millis(r.percentile(0.99)), millis(r.max()));
  }

  private static void errors(PrintWriter out, String target, Map<String, Integer> errors) {
    errors.forEach((what, n) -> out.printf(Locale.ROOT, "  %s: %d x %s%n", target, n, what));
  }

  private static double millis(long nanos) {
    return nanos / 1e6;
  }

  private static double mib(long bytes) {
    return bytes / (1024.0 * 1024.0);
  }
}
