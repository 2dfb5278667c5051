package switchboard.supervision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import switchboard.providers.fake.FakeProviderServer.Step;

/**
 * The official OpenAI Node SDK ({@code openai}) and Anthropic SDK ({@code @anthropic-ai/sdk}),
 * installed from the npm registry at the versions of {@code src/test/resources/sdk/package.json},
 * pointed at a running gateway: create, stream, tools, models, and errors that surface as the
 * SDKs' own {@code APIError} with the right status and type. Real clients, not our own parser of
 * our own output. Skipped without node and npm unless {@code SWITCHBOARD_REQUIRE_SDK=1} (CI sets it).
 */
class SdkEndToEndTest extends TwoProviderTest {

  static final Path SDK_DIR = Path.of("target", "sdk-clients");
  static final boolean REQUIRED = "1".equals(System.getenv("SWITCHBOARD_REQUIRE_SDK"));

  @Test
  void theOfficialSdksWorkUnchangedAgainstTheGateway() throws Exception {
    Path dir = installSdks();
    primary.enqueue(
        Step.ok("Hello from the SDK"),
        Step.ok("streamed in several pieces").withChunks(4, Duration.ofMillis(50)),
        Step.toolCall("get_weather", "{\"city\":\"Paris\"}"),
        Step.ok("Hi Anthropic"),
        Step.ok("an Anthropic stream").withChunks(3, Duration.ofMillis(50)),
        Step.toolCall("get_weather", "{\"city\":\"Oslo\"}"),
        Step.status(402));
    backup.enqueue(Step.status(402));
    try (TestGateway gw = gateway("", "channels.http.auth-token = \"sdk-token-42\"\n routes { smart = [\"primary\"] }")) {
      Map<String, JsonNode> r = runChecks(dir, "http://127.0.0.1:" + gw.gateway.httpPort(), "sdk-token-42");

      assertEquals("Hello from the SDK", r.get("openai.create").path("text").asText(), r.toString());
      assertEquals("stop", r.get("openai.create").path("finish").asText());

      JsonNode stream = r.get("openai.stream");
      assertEquals("streamed in several pieces", stream.path("text").asText(), stream.toString());
      assertTrue(stream.path("chunks").asInt() >= 6, stream.toString());
      assertEquals("stop", stream.path("finish").asText());
      assertTrue(stream.path("completionTokens").asInt() > 0, stream.toString());

      JsonNode tools = r.get("openai.tools");
      assertEquals("tool_calls", tools.path("finish").asText(), tools.toString());
      assertEquals("get_weather", tools.path("name").asText());
      assertEquals("Paris", tools.path("args").path("city").asText());

      List<String> ids = TestGateway.JSON.convertValue(r.get("openai.models").path("ids"),
          TestGateway.JSON.getTypeFactory().constructCollectionType(List.class, String.class));
      assertEquals(List.of("smart", "m-primary", "m-backup"), ids, r.get("openai.models").toString());

      assertEquals("Hi Anthropic", r.get("anthropic.create").path("text").asText(), r.get("anthropic.create").toString());
      assertEquals("end_turn", r.get("anthropic.create").path("stop").asText());
      JsonNode aStream = r.get("anthropic.stream");
      assertEquals("an Anthropic stream", aStream.path("text").asText(), aStream.toString());
      assertTrue(aStream.path("deltas").asInt() >= 3, aStream.toString());
      JsonNode aTools = r.get("anthropic.tools");
      assertEquals("tool_use", aTools.path("stop").asText(), aTools.toString());
      assertEquals("Oslo", aTools.path("input").path("city").asText());

      JsonNode openAiError = r.get("openai.error");
      assertTrue(openAiError.path("apiError").asBoolean(), openAiError.toString());
      assertEquals(402, openAiError.path("status").asInt());
      assertEquals("out_of_credits", openAiError.path("type").asText());
      JsonNode anthropicError = r.get("anthropic.error");
      assertTrue(anthropicError.path("apiError").asBoolean(), anthropicError.toString());
      assertEquals(402, anthropicError.path("status").asInt());
      assertEquals("billing_error", anthropicError.path("innerType").asText(), anthropicError.toString());

      assertEquals(7, primary.calls().size(), "one call per check that reaches a provider");
      assertEquals(1, backup.calls().size());
      assertTrue(primary.calls().stream().allMatch(c -> c.apiKey().equals("sk-primary-secret")));
    }
  }

  /** Runs check.mjs, bounded in time; one JSON object per check, by name. */
  private static Map<String, JsonNode> runChecks(Path dir, String baseUrl, String token) throws Exception {
    Process node = new ProcessBuilder("node", "check.mjs", baseUrl, token).directory(dir.toFile())
        .redirectErrorStream(true).start();
    String output;
    try (InputStream in = node.getInputStream()) {
      output = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertTrue(node.waitFor(120, TimeUnit.SECONDS), "node did not finish");
    assertEquals(0, node.exitValue(), output);
    Map<String, JsonNode> out = new HashMap<>();
    for (String line : output.split("\n")) {
      if (line.startsWith("{")) {
        JsonNode json = TestGateway.JSON.readTree(line);
        out.put(json.path("check").asText(), json);
      }
    }
    assertEquals(9, out.size(), output);
    return out;
  }

  /** The SDKs in target/sdk-clients, installed from the npm registry once per build directory. */
  static Path installSdks() throws Exception {
    Path dir = SDK_DIR.toAbsolutePath();
    Files.createDirectories(dir);
    copy("package.json", dir);
    copy("check.mjs", dir);
    if (!Files.isDirectory(dir.resolve("node_modules/openai")) || !Files.isDirectory(dir.resolve("node_modules/@anthropic-ai/sdk"))) {
      boolean installed = false;
      String why = "";
      try {
        Process npm = new ProcessBuilder("npm", "install", "--no-audit", "--no-fund", "--loglevel=error")
            .directory(dir.toFile()).redirectErrorStream(true).start();
        String output = new String(npm.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        installed = npm.waitFor(300, TimeUnit.SECONDS) && npm.exitValue() == 0;
        why = output;
      } catch (IOException e) {
        why = e.getMessage();
      }
      if (!installed) {
        assertTrue(!REQUIRED, "npm install of the official SDKs failed: " + why);
        assumeTrue(false, "node/npm or the npm registry is not available: " + why);
      }
    }
    return dir;
  }

  private static void copy(String resource, Path dir) throws IOException {
    try (InputStream in = SdkEndToEndTest.class.getResourceAsStream("/sdk/" + resource)) {
      Files.copy(in, dir.resolve(resource), StandardCopyOption.REPLACE_EXISTING);
    }
  }
}
