package switchboard.supervision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import switchboard.providers.config.ProviderConfig;

class GatewayConfigTest {

  @TempDir Path dir;

  private static final String SIMULATED =
      "switchboard.providers = [{ name = \"sim\", kind = \"simulated\" }]\n";

  private Path write(String text) throws IOException {
    Path file = dir.resolve("gateway.conf");
    Files.writeString(file, text);
    return file;
  }

  private GatewayConfig load(String text, Map<String, String> env) throws Exception {
    return GatewayConfig.load(write(text), env, dir);
  }

  private List<String> problems(String text) throws IOException {
    Path file = write(text);
    return assertThrows(GatewayConfig.Invalid.class, () -> GatewayConfig.load(file, Map.of(), dir)).problems();
  }

  @Test
  void theEmbeddedDefaultIsValidAndNeedsNoKeys() throws Exception {
    GatewayConfig config = GatewayConfig.load(Projects.root().resolve("config/gateway.conf"), Map.of(), dir);
    assertEquals(List.of("primary", "backup"), config.usableProviders().stream().map(ProviderConfig::name).toList());
    assertEquals(3, config.providers().get(0).simulate().outOfCreditsAfter());
    assertTrue(config.providers().get(1).fallbackOnly());
    assertEquals(dir.resolve("data"), config.dataDir());
    assertEquals(Duration.ofSeconds(10), config.shutdownTimeout());
  }

  @Test
  void realProvidersWithoutKeysAreLeftOutWithAWarning() throws Exception {
    Path file = Projects.root().resolve("config/real-providers.conf");
    GatewayConfig none = GatewayConfig.load(file, Map.of(), dir);
    assertEquals(List.of("last-resort"), none.usableProviders().stream().map(ProviderConfig::name).toList());
    assertEquals(3, none.warnings().size(), none.warnings().toString());

    GatewayConfig some = GatewayConfig.load(file, Map.of("OPENAI_API_KEY", "sk-secret"), dir);
    assertEquals(
        List.of("openai", "last-resort"), some.usableProviders().stream().map(ProviderConfig::name).toList());
    assertEquals(List.of("sk-secret"), some.usableProviders().get(0).apiKeys());
    assertTrue(some.warnings().stream().noneMatch(w -> w.contains("sk-secret")));
  }

  @Test
  void dataDirComesFromTheEnvironmentWhenSetAndRelativePathsFromTheWorkingDirectory() throws Exception {
    GatewayConfig config = load(SIMULATED + "switchboard.data-dir = \"state\"", Map.of());
    assertEquals(dir.resolve("state"), config.dataDir());
    assertEquals(dir.resolve("logs/provider.log"), config.providerLog().path());

    GatewayConfig overridden = load(SIMULATED + "switchboard.data-dir = \"state\"",
        Map.of("SWITCHBOARD_DATA_DIR", "/tmp/elsewhere"));
    assertEquals(Path.of("/tmp/elsewhere"), overridden.dataDir());
  }

  @Test
  void theDiscordSectionIsReadAndItsProblemsNamed() throws Exception {
    GatewayConfig config = load(SIMULATED + "switchboard.channels.discord { enabled = true, token = \"t0k3n\","
        + " allowed-channel-ids = [\"1234567890123456789\", 42] }", Map.of());
    switchboard.channels.discord.DiscordConfig discord = switchboard.channels.Channels
        .find(config.channels(), switchboard.channels.discord.DiscordConfig.class).orElseThrow();
    assertTrue(discord.enabled());
    assertEquals(java.util.Set.of("1234567890123456789", "42"), discord.allowedChannelIds());
    assertEquals(List.of("http", "discord"), config.enabledChannels().stream().map(c -> c.name()).toList());
    assertTrue(!discord.toString().contains("t0k3n"), "the token is never shown");

    List<String> problems = problems(SIMULATED + "switchboard.channels.discord { enabled = true,"
        + " allowed-channel-ids = [\"general\"], gateway-url = \"http://x\" }");
    assertTrue(problems.contains("switchboard.channels.discord.token: is missing (set DISCORD_BOT_TOKEN)"), problems.toString());
    assertTrue(problems.stream().anyMatch(p -> p.startsWith("switchboard.channels.discord.allowed-channel-ids: \"general\"")),
        problems.toString());
    assertTrue(problems.stream().anyMatch(p -> p.startsWith("switchboard.channels.discord.gateway-url: ")), problems.toString());
  }

  @Test
  void everyProblemIsReportedOnItsOwnLineNamingKeyAndValue() throws IOException {
    List<String> problems = problems(
        "switchboard {\n"
            + "  providers = [{ name = \"a\", kind = \"simulated\" }, { name = \"a\", kind = \"simulated\" }]\n"
            + "  retry.max-retries = many\n"
            + "  retry.jitter = 3\n"
            + "  request-timeout = forever\n"
            + "  fallback.on = [\"out_of_credits\", \"sometimes\"]\n"
            + "  shutdown-timeout = 0s\n"
            + "  alerts.webhook-url = \"example.com\"\n"
            + "  provider-log.level = loud\n"
            + "  conversations.history-length = -2\n"
            + "  channels.http.port = 70000\n"
            + "}\n");
    assertContains(problems, "switchboard.providers[1].name: \"a\" is used by another provider");
    assertContains(problems, "switchboard.retry.max-retries: \"many\" is not a whole number");
    assertContains(problems, "switchboard.retry.jitter: 3.0 is too large");
    assertContains(problems, "switchboard.request-timeout: \"forever\" is not a duration");
    assertContains(problems, "switchboard.fallback.on: \"sometimes\" is not an outcome kind");
    assertContains(problems, "switchboard.shutdown-timeout: PT0S is not allowed");
    assertContains(problems, "switchboard.alerts.webhook-url: is not a URL");
    assertContains(problems, "switchboard.provider-log.level: \"loud\" is not allowed");
    assertContains(problems, "switchboard.conversations.history-length: -2 is too small");
    assertContains(problems, "switchboard.channels.http.port: 70000 is too large");
    assertEquals(10, problems.size(), String.join("\n", problems));
    problems.forEach(p -> assertTrue(!p.contains("\n") && !p.contains("Exception"), p));
  }

  @Test
  void unknownKeysAreErrorsWithTheClosestKnownKey() throws IOException {
    List<String> problems = problems(
        SIMULATED
            + "switchboard.retry.max-retires = 2\n"
            + "switchboard.providers = [{ name = \"sim\", kind = \"simulated\", modle = \"x\" }]\n"
            + "switchboard.chanels.http.port = 1\n"
            + "switchbaord.x = 1\n");
    assertContains(problems, "switchboard.retry.max-retires: is not a known key (did you mean max-retries?)");
    assertContains(problems, "switchboard.providers[0].modle: is not a known key (did you mean model?)");
    assertContains(problems, "switchboard.chanels: is not a known key (did you mean channels?)");
    assertContains(problems, "switchbaord: is not a known key (did you mean switchboard?)");
    assertEquals(4, problems.size(), String.join("\n", problems));
  }

  @Test
  void routesNameExistingProvidersAndUnknownModelsIsAPolicy() throws Exception {
    GatewayConfig ok = load(SIMULATED + "switchboard.routes { \"gpt-4o\" = [\"sim\"], \"a.b/c\" = [\"sim\"] }\n"
        + "switchboard.unknown-models = \"reject\"\n"
        + "switchboard.providers = [{ name = \"sim\", kind = \"simulated\", stream-idle-timeout = 5s }]\n", Map.of());
    assertEquals(List.of("a.b/c", "gpt-4o"), List.copyOf(ok.routes().routes().keySet()));
    assertTrue(ok.routes().rejectUnknown());
    assertEquals(java.time.Duration.ofSeconds(5), ok.providers().get(0).streamIdleTimeout());

    List<String> problems = problems(SIMULATED
        + "switchboard.routes { smart = [\"sim\", \"nope\"], empty = [], odd = 3 }\n"
        + "switchboard.unknown-models = \"ignore\"\n");
    assertContains(problems, "switchboard.routes.\"smart\": \"nope\" is not a provider (expected one of sim)");
    assertContains(problems, "switchboard.routes.\"empty\": is empty");
    assertContains(problems, "switchboard.routes.\"odd\": must be a list of provider names");
    assertContains(problems, "switchboard.unknown-models:");
    assertEquals(4, problems.size(), String.join("\n", problems));
  }

  @Test
  void syntaxErrorsAreOneLineWithFileAndLine() throws IOException {
    List<String> problems = problems("switchboard {\n  retry {\n    max-retries = 3\n  \n");
    assertEquals(1, problems.size());
    assertTrue(problems.get(0).startsWith(dir.resolve("gateway.conf") + ":"), problems.get(0));
    assertTrue(problems.get(0).matches(".*gateway\\.conf:\\d+: .*"), problems.get(0));
  }

  @Test
  void unresolvedSubstitutionsAreReported() throws IOException {
    List<String> problems = problems(SIMULATED + "switchboard.channels.http.auth-token = ${GATEWAY_TOKEN}\n");
    assertEquals(1, problems.size());
    assertTrue(problems.get(0).contains("gateway.conf:2") && problems.get(0).contains("GATEWAY_TOKEN"),
        problems.get(0));
  }

  @Test
  void aMissingFileAndNoUsableProviderAreReported() throws IOException {
    Path missing = dir.resolve("nope.conf");
    List<String> problems =
        assertThrows(GatewayConfig.Invalid.class, () -> GatewayConfig.load(missing, Map.of(), dir)).problems();
    assertEquals(List.of(missing + ": config file not found"), problems);

    assertContains(problems("switchboard.retry.max-retries = 1\n"), "switchboard.providers: is empty");
    assertContains(
        problems("switchboard.providers = [{ name = \"o\", kind = \"openai\", api-keys = [${?NO_SUCH_KEY}] }]\n"),
        "switchboard.providers: has no usable provider");
  }

  @Test
  void secretsAreNeverInProblemLines() throws IOException {
    Path file = write("switchboard.providers = [{ name = \"o\", kind = \"openai\", api-keys = [${SECRET_KEY}] }]\n"
        + "switchboard.retry.jitter = ${SECRET_KEY}\n");
    List<String> problems = assertThrows(GatewayConfig.Invalid.class,
        () -> GatewayConfig.load(file, Map.of("SECRET_KEY", "sk-very-secret"), dir)).problems();
    assertEquals(List.of("switchboard.retry.jitter: \"<secret>\" is not a number"), problems);
  }

  static void assertContains(List<String> lines, String start) {
    assertTrue(lines.stream().anyMatch(l -> l.startsWith(start)),
        "no line starts with [" + start + "] in:\n" + String.join("\n", lines));
  }
}
