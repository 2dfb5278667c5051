package switchboard.supervision.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import switchboard.providers.config.ProviderConfig;
import switchboard.providers.fake.FakeProviderServer;
import switchboard.providers.fake.FakeProviderServer.RecordedCall;
import switchboard.providers.fake.FakeProviderServer.Step;

/**
 * The fake standing in for one provider of a soak: a {@link FakeProviderServer} on 127.0.0.1 that
 * answers each call with a fault drawn from its {@link FaultMix} and records the call in the
 * {@link ChaosHistory}: which key it carried, which message it was for (the {@code chaos-mN} id in
 * the last user message) and what the provider would bill for it.
 */
final class ChaosProvider implements AutoCloseable {

  /** A message's id in its text. */
  static final Pattern MESSAGE_ID = Pattern.compile("chaos-(m\\d+)");

  private static final ObjectMapper JSON = new ObjectMapper();

  final String name;
  final boolean openAi;
  final List<String> keys;
  private final ProviderConfig.Price price;
  private final FaultMix mix;
  private final ChaosHistory history;
  private final FakeProviderServer server;

  ChaosProvider(String name, boolean openAi, List<String> keys, ProviderConfig.Price price, FaultMix mix, ChaosHistory history)
      throws IOException {
    this.name = name;
    this.openAi = openAi;
    this.keys = List.copyOf(keys);
    this.price = price;
    this.mix = mix;
    this.history = history;
    this.server = FakeProviderServer.start(0);
    server.answerWith(this::answer);
  }

  /** The {@code base-url} of the provider entry that points here. */
  String baseUrl() {
    return openAi ? server.openAiBaseUrl() : server.anthropicBaseUrl();
  }

  private Step answer(RecordedCall call) {
    Fault fault = mix.next();
    boolean streamed = streamed(call.body());
    Step step = fault.step;
    double billed = 0;
    if (fault.billed(streamed)) {
      String text = FakeProviderServer.answerText(call.body(), step);
      billed = FakeProviderServer.inputTokens(call.body(), streamed) * price.inputPerMillion() / 1e6
          + FakeProviderServer.outputTokens(text) * price.outputPerMillion() / 1e6;
    }
    Duration takes = step.delay().plus(streamed ? step.stream().every().multipliedBy(step.stream().chunks()) : Duration.ZERO);
    history.call(new ChaosHistory.Call(name, keys.indexOf(call.apiKey()) + 1, messageId(call.body()), call.at(),
        call.at().plus(takes), fault, streamed, billed));
    return step;
  }

  /** The id of the message a call was made for: the last {@code chaos-mN} in its body (the newest user turn). */
  static Optional<String> messageId(String body) {
    Matcher m = MESSAGE_ID.matcher(body);
    String last = null;
    while (m.find()) {
      last = m.group(1);
    }
    return Optional.ofNullable(last);
  }

  private static boolean streamed(String body) {
    try {
      JsonNode request = JSON.readTree(body);
      return request != null && request.path("stream").asBoolean(false);
    } catch (IOException e) {
      return false;
    }
  }

  @Override
  public void close() {
    server.close();
  }
}
