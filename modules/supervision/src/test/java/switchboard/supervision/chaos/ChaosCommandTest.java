package switchboard.supervision.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import switchboard.supervision.Main;

/**
 * {@code switchboard chaos} end to end: the gateway as a process of its own under the fault mix,
 * the load and a SIGKILL and a SIGTERM, every check holding; then every promise broken on purpose,
 * each check failing and named on the last line; and bad options refused with exit code 2.
 */
class ChaosCommandTest {

  private record Run(int code, String out, String err) {
    String lastLine() {
      List<String> lines = out.lines().toList();
      return lines.isEmpty() ? "" : lines.get(lines.size() - 1);
    }

    String row(String check) {
      return out.lines().filter(l -> l.length() > 7 && l.substring(7).startsWith(check)).findFirst()
          .orElseThrow(() -> new AssertionError("no row \"" + check + "\" in:\n" + out));
    }
  }

  /** A run's directory under {@code target/chaos/}, kept after the test for a look at a failure. */
  private static Path runDir(String name) throws java.io.IOException {
    Path dir = Path.of("target", "chaos", name).toAbsolutePath();
    if (Files.exists(dir)) {
      try (java.util.stream.Stream<Path> old = Files.walk(dir)) {
        old.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
    return dir;
  }

  private static Run chaos(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    String[] all = new String[args.length + 1];
    all[0] = "chaos";
    System.arraycopy(args, 0, all, 1, args.length);
    int code = Main.execute(new PrintWriter(out, true), new PrintWriter(err, true), all);
    return new Run(code, out.toString(), err.toString());
  }

  @Test
  void aShortSoakWithASigkillAndASigtermKeepsEveryPromise() throws Exception {
    Path dir = runDir("short-soak");
    Run run = chaos("--duration", "45s", "--rate", "8", "--kill", "--seed", "7", "--dir", dir.toString());
    assertEquals(0, run.code(), run.out() + run.err());
    assertTrue(run.lastLine().matches("chaos: all \\d+ checks hold \\(seed 7\\)"), run.lastLine());
    assertTrue(run.row("gateway exits").contains("1 SIGKILL, 2 SIGTERM, 0 unexpected"), run.row("gateway exits"));
    for (String check : List.of("answered twice", "lost", "answers that name nothing", "connections dropped with no kill",
        "answers cut short by SIGTERM", "calls beyond a bound", "calls while a breaker was open", "spend against the caps",
        "secrets in logs, metrics and status", "heap and threads", "gateway exits")) {
      assertTrue(run.row(check).startsWith("ok"), run.row(check));
    }
    assertTrue(run.row("messages sent").matches(".*messages sent +[1-9]\\d{2} .*"), run.row("messages sent"));
    assertTrue(run.row("provider calls, by the outcome they had").contains("out_of_credits")
        || run.row("provider calls, by the outcome they had").contains("rate_limited"), run.row("provider calls, by the outcome they had"));
    assertTrue(Files.exists(dir.resolve("calls.tsv")), "the run's history is kept for a look");
  }

  @Test
  void eachPromiseBrokenOnPurposeFailsItsCheck() throws Exception {
    Path dir = runDir("broken");
    // the shadow provider of "breaker" takes the calls that would reach the capped provider, and the
    // heap's huge messages change what calls cost: those two go in a run of their own
    List<Sabotage> together = List.of(Sabotage.RETRIES, Sabotage.SPEND, Sabotage.SECRET, Sabotage.TWICE, Sabotage.LOST);
    Run run = chaos("--duration", "30s", "--rate", "8", "--seed", "8", "--dir", dir.resolve("together").toString(),
        "--break", String.join(",", together.stream().map(Sabotage::flag).toList()));
    assertBroken(run, together, 8);
    Run other = chaos("--duration", "25s", "--rate", "8", "--seed", "9", "--dir", dir.resolve("breaker-heap").toString(),
        "--break", "breaker,heap");
    assertBroken(other, List.of(Sabotage.BREAKER, Sabotage.HEAP), 9);
  }

  private static void assertBroken(Run run, List<Sabotage> broken, long seed) {
    assertEquals(1, run.code(), run.out() + run.err());
    for (Sabotage s : broken) {
      assertTrue(run.row(s.check).startsWith("FAILED"), s + ": " + run.row(s.check));
      assertTrue(run.lastLine().contains(s.check), s + " not named on the last line: " + run.lastLine());
    }
    assertTrue(run.lastLine().startsWith("chaos: FAILED: ") && run.lastLine().endsWith("(seed " + seed + ")"), run.lastLine());
  }

  @Test
  void badOptionsAndConfigsAreRefusedWithExitCodeTwo(@TempDir Path dir) throws Exception {
    assertEquals(2, chaos("--rate", "0").code());
    assertEquals(2, chaos("--duration", "soon").code());
    assertEquals(2, chaos("--duration", "2s").code());
    Run unknown = chaos("--break", "everything");
    assertEquals(2, unknown.code());
    assertTrue(unknown.err().contains("--break everything is not known (expected one of retries, breaker"), unknown.err());
    assertEquals(2, chaos("--config", dir.resolve("missing.conf").toString()).code());
    Path bad = dir.resolve("bad.conf");
    Files.writeString(bad, "switchboard { providers = [{ name = \"p\", kind = \"openai\", api-keys = [\"k\"] }], retri { } }\n");
    Run invalid = chaos("--config", bad.toString(), "--dir", dir.resolve("run").toString());
    assertEquals(2, invalid.code(), invalid.out() + invalid.err());
    assertTrue(invalid.out().contains("retri"), invalid.out());
    assertTrue(!invalid.out().contains("Exception"), invalid.out());
  }
}
