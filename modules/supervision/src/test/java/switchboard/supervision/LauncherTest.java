package switchboard.supervision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.CompletableFuture;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the real {@code bin/switchboard} script as a process, from another directory and through a
 * symlink. It is given a copy of the project layout whose jar only points at the test class path,
 * so no nested Maven build runs.
 */
class LauncherTest {

  @TempDir Path tmp;
  Path home;
  Path work;
  Path link;

  record Result(int code, String out, String err) {}

  @BeforeEach
  void layout() throws IOException {
    home = tmp.resolve("home");
    work = Files.createDirectories(tmp.resolve("work"));
    Files.createDirectories(home.resolve("bin"));
    Files.createDirectories(home.resolve("config"));
    Path launcher = home.resolve("bin/switchboard");
    Files.copy(Projects.root().resolve("bin/switchboard"), launcher, StandardCopyOption.COPY_ATTRIBUTES);
    assertTrue(launcher.toFile().setExecutable(true));
    Files.copy(Projects.root().resolve("config/gateway.conf"), home.resolve("config/gateway.conf"));
    Path jar = Files.createDirectories(home.resolve("modules/supervision/target")).resolve("switchboard.jar");
    writeClassPathJar(jar);
    link = Files.createDirectories(tmp.resolve("elsewhere")).resolve("sb");
    Files.createSymbolicLink(link, launcher);
  }

  private static void writeClassPathJar(Path jar) throws IOException {
    List<String> entries = new ArrayList<>();
    for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
      entries.add(Path.of(entry).toUri().toString());
    }
    Manifest manifest = new Manifest();
    manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    manifest.getMainAttributes().put(Attributes.Name.MAIN_CLASS, Main.class.getName());
    manifest.getMainAttributes().put(Attributes.Name.CLASS_PATH, String.join(" ", entries));
    try (OutputStream out = Files.newOutputStream(jar); JarOutputStream ignored = new JarOutputStream(out, manifest)) {
      // a manifest-only jar
    }
  }

  private Result run(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of(link.toString()));
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).directory(work.toFile()).start();
    process.getOutputStream().close();
    assertTrue(process.waitFor(60, TimeUnit.SECONDS), "launcher did not finish");
    return new Result(
        process.exitValue(),
        new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
        new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
  }

  /**
   * Also: with {@code SWITCHBOARD_LOG_FORMAT=json} (and the gateway's own logback.xml instead of the
   * tests' one, which is first on this class path) the log on stderr is JSON lines, and the SIGTERM is
   * recorded in {@code data/last-shutdown.json}.
   */
  @Test
  void gatewayRunPrintsItsAddressAndOnSigtermAnswersWhatIsInFlightThenExits0() throws Exception {
    Files.writeString(work.resolve("slow.conf"),
        "switchboard {\n"
            + "  providers = [{ name = \"slow\", kind = \"simulated\", simulate.latency = 1500ms }]\n"
            + "  channels.http.port = 0\n"
            + "}\n");
    ProcessBuilder builder = new ProcessBuilder(link.toString(), "gateway", "run", "--config", "slow.conf")
        .directory(work.toFile())
        .redirectError(tmp.resolve("run.err").toFile());
    builder.environment().put("SWITCHBOARD_LOG_FORMAT", "json");
    builder.environment().put("JAVA_OPTS", "-Dlogback.configurationFile="
        + Projects.root().resolve("modules/supervision/src/main/resources/logback.xml"));
    Process process = builder.start();
    try {
      java.io.BufferedReader out = new java.io.BufferedReader(
          new java.io.InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
      java.util.regex.Pattern address = java.util.regex.Pattern.compile("HTTP API on (http://127\\.0\\.0\\.1:\\d+)");
      String base = CompletableFuture.supplyAsync(() -> {
        try {
          for (String line = out.readLine(); line != null; line = out.readLine()) {
            java.util.regex.Matcher m = address.matcher(line);
            if (m.find()) {
              return m.group(1);
            }
          }
          return null;
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }).get(60, TimeUnit.SECONDS);
      assertTrue(base != null, "no address printed; stderr: " + Files.readString(tmp.resolve("run.err")));

      HttpClient client = HttpClient.newHttpClient();
      CompletableFuture<HttpResponse<String>> inFlight = client.sendAsync(
          HttpRequest.newBuilder(URI.create(base + "/api/conversations/x/messages"))
              .POST(HttpRequest.BodyPublishers.ofString("{\"text\": \"hello\"}")).build(),
          HttpResponse.BodyHandlers.ofString());
      TestGateway.eventually("the message pending", () -> {
        try {
          String status = client.send(HttpRequest.newBuilder(URI.create(base + "/api/status")).build(),
              HttpResponse.BodyHandlers.ofString()).body();
          return TestGateway.JSON.readTree(status).path("channels").path(0).path("pending").asInt() == 1;
        } catch (IOException | InterruptedException e) {
          return false;
        }
      });

      process.destroy(); // SIGTERM
      assertTrue(process.waitFor(30, TimeUnit.SECONDS), "gateway did not stop");
      assertEquals(0, process.exitValue(), Files.readString(tmp.resolve("run.err")));
      HttpResponse<String> answered = inFlight.get(10, TimeUnit.SECONDS);
      assertEquals(200, answered.statusCode(), answered.body());
      assertTrue(answered.body().contains("\"provider\":\"slow\""), answered.body());
      assertTrue(Files.isDirectory(work.resolve("logs")), "relative paths are taken from the working directory");

      com.fasterxml.jackson.databind.JsonNode last =
          TestGateway.JSON.readTree(work.resolve("data/last-shutdown.json").toFile());
      assertEquals("SIGTERM", last.path("reason").asText(), last.toString());
      assertEquals(0, last.path("unanswered").asInt(), last.toString());
      List<String> messages = new ArrayList<>();
      for (String line : Files.readAllLines(tmp.resolve("run.err"))) {
        if (!line.isBlank()) {
          assertTrue(line.startsWith("{") && line.endsWith("}"), "every log line is a JSON object: " + line);
          messages.add(TestGateway.JSON.readTree(line).path("formattedMessage").asText());
        }
      }
      assertTrue(messages.stream().anyMatch(m -> m.startsWith("gateway started: providers [slow]")),
          "JSON log lines: " + Files.readString(tmp.resolve("run.err")));
      assertTrue(messages.stream().anyMatch(m -> m.matches("gateway stopped at \\S+: SIGTERM, 0 unanswered")),
          "JSON log lines: " + messages);
    } finally {
      process.destroyForcibly();
    }
  }

  @Test
  void findsTheDefaultConfigFromAnyDirectoryThroughASymlink() throws Exception {
    Result result = run("config", "check");
    assertEquals(0, result.code(), result.err());
    assertEquals("ok\n", result.out());
  }

  @Test
  void aBrokenConfigGivenRelativeToTheCallersDirectoryExits2WithOneLinePerProblem() throws Exception {
    Files.writeString(work.resolve("broken.conf"),
        "switchboard {\n  providers = [{ name = \"s\", kind = \"simulated\" }]\n"
            + "  retry.max-retries = -1\n  shutdown-timout = 5s\n}\n");
    Result result = run("config", "check", "--config", "broken.conf");
    assertEquals(2, result.code(), result.err());
    assertEquals(
        List.of(
            "switchboard.shutdown-timout: is not a known key (did you mean shutdown-timeout?)",
            "switchboard.retry.max-retries: -1 is too small (expected at least 0)"),
        result.out().lines().toList());
    assertTrue(!result.err().contains("Exception"), result.err());
  }
}
