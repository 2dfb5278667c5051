package switchboard.supervision.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import switchboard.supervision.Main;

/** {@code switchboard bench} with tiny numbers: it finishes, answers every request, prints its table. */
class BenchCommandTest {

  /** What one command line printed and returned. */
  record Run(int code, String out, String err) {
    List<String> lines() {
      return out.lines().toList();
    }
  }

  static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.execute(new PrintWriter(out, true), new PrintWriter(err, true), args);
    return new Run(code, out.toString(), err.toString());
  }

  @Test
  @Timeout(60)
  void completionsRunAnswersEveryRequestAndPrintsTheTable() {
    Run run = run("bench", "--requests", "50", "--concurrency", "4", "--warmup", "10", "--timeout", "50s");
    assertEquals(0, run.code(), run.out() + run.err());
    List<String> lines = run.lines();
    assertEquals(
        "switchboard bench: 50 requests, concurrency 4, provider latency 0ms, endpoint completions, warmup 10",
        lines.get(0));
    assertTrue(lines.contains(BenchReport.HEADER), run.out());
    assertTrue(lines.stream().anyMatch(l -> l.matches("direct\\s+50\\s+0\\s.*")), run.out());
    assertTrue(lines.stream().anyMatch(l -> l.matches("gateway\\s+50\\s+0\\s.*")), run.out());
    assertTrue(lines.stream().anyMatch(l -> l.startsWith("added by the gateway: p50 ")), run.out());
    assertTrue(lines.stream().anyMatch(l -> l.startsWith("heap used after GC: ")), run.out());
    assertTrue(lines.contains("errors: 0"), run.out());
  }

  @Test
  @Timeout(60)
  void conversationsRunWithProviderLatencyAndASizedPoolAnswersEveryRequest() {
    Run run = run("bench", "--requests", "40", "--concurrency", "8", "--warmup", "8", "--endpoint", "conversations",
        "--provider-latency", "20ms", "--provider-connections", "8", "--timeout", "50s");
    assertEquals(0, run.code(), run.out() + run.err());
    assertTrue(run.out().startsWith(
        "switchboard bench: 40 requests, concurrency 8, provider latency 20ms, endpoint conversations, warmup 8\n"
            + "gateway: provider connections 8, max-open-requests 1024 (--provider-connections)\n"
            + "jvm: "), run.out());
    assertTrue(run.lines().contains(BenchReport.HEADER), run.out());
    assertTrue(run.lines().contains("errors: 0"), run.out());
  }

  @Test
  void badOptionsAreUsageErrors() {
    assertEquals(2, run("bench", "--requests", "0").code());
    assertEquals(2, run("bench", "--endpoint", "grpc").code());
    Run latency = run("bench", "--provider-latency", "soon");
    assertEquals(2, latency.code());
    assertTrue(latency.err().contains("--provider-latency \"soon\" is not a duration"), latency.err());
  }

  @Test
  void percentilesAreNearestRankOverTheAnsweredRequests() {
    long[] latencies = new long[100];
    for (int i = 0; i < 100; i++) {
      latencies[i] = (100 - i) * 1_000_000L; // 100ms down to 1ms, unsorted on purpose
    }
    PhaseResult result = new PhaseResult(101, 4, latencies, Map.of("HTTP 503", 1), 2_000_000_000L);
    assertEquals(50_000_000L, result.percentile(0.50));
    assertEquals(90_000_000L, result.percentile(0.90));
    assertEquals(99_000_000L, result.percentile(0.99));
    assertEquals(100_000_000L, result.max());
    assertEquals(1, result.errorCount());
    assertEquals(50.0, result.throughput(), 1e-9);
  }
}
