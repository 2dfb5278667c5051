package switchboard.supervision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MainTest {

  @TempDir Path dir;

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

  private String write(String text) throws IOException {
    Path file = dir.resolve("test.conf");
    Files.writeString(file, text);
    return file.toString();
  }

  @Test
  void configCheckSaysOkForTheEmbeddedDefault() {
    Run run = run("config", "check", "--config", Projects.root().resolve("config/gateway.conf").toString());
    assertEquals(0, run.code(), run.err());
    assertEquals("ok\n", run.out());
  }

  @Test
  void configCheckPrintsOneLinePerProblemAndExits2() throws IOException {
    String file = write(
        "switchboard {\n"
            + "  providers = [{ name = \"sim\", kind = \"simulated\" }]\n"
            + "  retry.max-retries = lots\n"
            + "  retry.backof-base = 1s\n"
            + "  request-timeout = never\n"
            + "}\n");
    Run run = run("config", "check", "--config", file);
    assertEquals(2, run.code());
    assertEquals(
        List.of(
            "switchboard.retry.backof-base: is not a known key (did you mean backoff-base?)",
            "switchboard.retry.max-retries: \"lots\" is not a whole number",
            "switchboard.request-timeout: \"never\" is not a duration like 250ms, 30s or 1h"),
        run.lines());
    assertEquals("", run.err());
  }

  @Test
  void aConfigGivenByARelativePathCanIncludeAFileBesideIt() throws IOException {
    Path folder = Files.createDirectories(Path.of("target", "include-test"));
    Files.writeString(folder.resolve("base.conf"), "switchboard.providers = [{ name = \"sim\", kind = \"simulated\" }]\n");
    Files.writeString(folder.resolve("mine.conf"), "include \"base.conf\"\nswitchboard.retry.max-retries = 1\n");
    Run run = run("config", "check", "--config", folder.resolve("mine.conf").toString());
    assertEquals("ok\n", run.out(), run.err());
    assertEquals(0, run.code());
  }

  @Test
  void configCheckReportsProblemsInsideAProviderEntry() throws IOException {
    String file = write(
        "switchboard.providers = [\n"
            + "  { name = \"sim\", kind = \"simulated\" },\n"
            + "  { name = \"odd\", kind = \"gemini\", priority = \"high\", timeout = \"soon\", api-key = \"x\" }\n"
            + "]\n");
    Run run = run("config", "check", "--config", file);
    assertEquals(2, run.code());
    assertEquals(
        List.of(
            "switchboard.providers[1].api-key: is not a known key (did you mean api-keys?)",
            "switchboard.providers[1].kind: \"gemini\" is not allowed (expected one of openai, anthropic, simulated)",
            "switchboard.providers[1].priority: \"high\" is not a whole number",
            "switchboard.providers[1].timeout: \"soon\" is not a duration like 250ms, 30s or 1h"),
        run.lines());
  }

  @Test
  void configCheckReportsSyntaxErrorsAndMissingFilesWithoutAStackTrace() throws IOException {
    Run broken = run("config", "check", "--config", write("switchboard {\n  retry = {\n"));
    assertEquals(2, broken.code());
    assertEquals(1, broken.lines().size(), broken.out());
    assertTrue(broken.out().contains("test.conf:"), broken.out());
    assertFalse((broken.out() + broken.err()).contains("Exception"));

    Run missing = run("config", "check", "--config", dir.resolve("absent.conf").toString());
    assertEquals(2, missing.code());
    assertEquals(List.of(dir.resolve("absent.conf") + ": config file not found"), missing.lines());
  }

  @Test
  void badUsageExits2() {
    assertEquals(2, run("config", "check", "--no-such-option").code());
    assertEquals(2, run("no-such-command").code());
    assertEquals(2, run().code());
    assertEquals(2, run("gateway").code());
    assertEquals(0, run("--help").code());
    assertEquals(2, run("simulate").code(), "--port is required");
    assertEquals(2, run("simulate", "--port", "0", "--script", "teapot-please").code());
  }

  @Test
  void providerListShowsProvidersByPriorityWithKeyAliasesNeverKeys() throws IOException {
    String file = write(
        "switchboard.providers = [\n"
            + "  { name = \"backup\", kind = \"simulated\", priority = 2, fallback-only = true }\n"
            + "  { name = \"main\", kind = \"openai\", model = \"gpt-4o\", priority = 1,\n"
            + "    api-keys = [\"sk-first-secret\", \"sk-second-secret\"], rate-limit-rpm = 60,\n"
            + "    budget { daily = 5, monthly = 100 } }\n"
            + "  { name = \"claude\", kind = \"anthropic\", priority = 3 }\n"
            + "]\n");
    Run run = run("provider", "list", "--config", file);
    assertEquals(0, run.code(), run.out() + run.err());
    List<String> lines = run.lines();
    assertEquals(4, lines.size(), run.out());
    assertTrue(lines.get(0).startsWith("PRIORITY"));
    assertTrue(lines.get(1).matches("1\\s+main\\s+openai\\s+gpt-4o\\s+no\\s+main#1,main#2\\s+60\\s+-\\s+5/100\\s+used"),
        lines.get(1));
    assertTrue(lines.get(2).matches("2\\s+backup\\s+simulated\\s+simulated\\s+yes\\s+-.*used"), lines.get(2));
    assertTrue(lines.get(3).matches("3\\s+claude\\s+anthropic.*left out: no api key"), lines.get(3));
    assertFalse(run.out().contains("secret"), run.out());
  }

  @Test
  void gatewayStatusSaysClearlyWhenNothingListens() throws IOException {
    int port;
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    Run run = run("gateway", "status", "--url", "http://127.0.0.1:" + port);
    assertEquals(1, run.code());
    assertTrue(run.err().startsWith("cannot reach the gateway at http://127.0.0.1:" + port), run.err());
  }
}
