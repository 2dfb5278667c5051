package switchboard.supervision.chaos;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

/** The table a soak ends with, and its last line: every check held, or which did not. */
final class ChaosReport {

  private ChaosReport() {}

  static void print(PrintWriter out, ChaosSettings settings, List<ChaosChecks.Row> rows, Path dir) {
    int width = rows.stream().mapToInt(r -> r.check().length()).max().orElse(10);
    out.println();
    out.printf("%-6s %-" + width + "s  %s%n", "", "check", "value  [bound]");
    for (ChaosChecks.Row r : rows) {
      String mark = !r.isCheck() ? "" : r.ok() ? "ok" : "FAILED";
      out.printf("%-6s %-" + width + "s  %s%s%n", mark, r.check(), r.value(), r.isCheck() ? "  [" + r.bound() + "]" : "");
      if (r.isCheck() && !r.ok() && !r.detail().isEmpty()) {
        out.printf("%-6s %-" + width + "s    %s%n", "", "", r.detail());
      }
    }
    out.println();
    List<String> failed = rows.stream().filter(r -> !r.ok()).map(ChaosChecks.Row::check).distinct().toList();
    long checks = rows.stream().filter(ChaosChecks.Row::isCheck).count();
    out.println("chaos: the run's files are in " + dir + "; the same seed replays its faults, load and kills: --seed " + settings.seed());
    if (failed.isEmpty()) {
      out.println("chaos: all " + checks + " checks hold (seed " + settings.seed() + ")");
    } else {
      out.println("chaos: FAILED: " + failed.stream().collect(Collectors.joining(", ")) + " (seed " + settings.seed() + ")");
    }
    out.flush();
  }
}
