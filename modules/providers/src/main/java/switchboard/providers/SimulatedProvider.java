package switchboard.providers;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import switchboard.providers.HttpTransport.RawResponse;
import switchboard.providers.config.ProviderConfig;

/**
 * The in-process provider of {@code kind = "simulated"}: no network, deterministic answers in the
 * OpenAI wire format, so they go through exactly the classifier real responses do. Message numbers
 * count the messages this provider was asked since the process started (1-based); every attempt of
 * one message gets the same answer, so a rate-limited message stays rate-limited through its retries.
 */
final class SimulatedProvider {
  private final ProviderConfig config;
  private long messages;

  SimulatedProvider(ProviderConfig config) {
    this.config = config;
  }

  /** Numbers the next message. */
  long nextMessage() {
    return ++messages;
  }

  /** The response to message {@code number}. */
  RawResponse answer(long number, ChatRequest request) {
    ProviderConfig.Simulation sim = config.simulate();
    Map<String, String> json = Map.of("content-type", "application/json");
    if (sim.outOfCreditsAfter() > 0 && number > sim.outOfCreditsAfter()) {
      return new RawResponse(402, json,
          "{\"error\":{\"code\":402,\"message\":\"insufficient_credits: simulated provider " + config.name()
              + " ran out of credits after " + sim.outOfCreditsAfter() + " messages\"}}");
    }
    if (sim.rateLimitEvery() > 0 && number % sim.rateLimitEvery() == 0) {
      long seconds = Math.max(0, sim.retryAfter().toMillis()) / 1000;
      String wait = sim.retryAfter().toMillis() % 1000 == 0 ? Long.toString(seconds)
          : Double.toString(sim.retryAfter().toMillis() / 1000.0);
      return new RawResponse(429, Map.of("content-type", "application/json", "retry-after", wait),
          "{\"error\":{\"message\":\"Simulated rate limit (every " + sim.rateLimitEvery()
              + " messages)\",\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}");
    }
    if (sim.failEvery() > 0 && number % sim.failEvery() == 0) {
      return new RawResponse(503, json,
          "{\"error\":{\"message\":\"Simulated outage (every " + sim.failEvery() + " messages)\",\"type\":\"server_error\"}}");
    }
    return new RawResponse(200, json, completion(number, request));
  }

  private String completion(long number, ChatRequest request) {
    List<ChatMessage> messages = request.messages();
    String last = "";
    long chars = 0;
    for (ChatMessage m : messages) {
      chars += m.content().length();
      if (m.role().equals("user")) {
        last = m.content();
      }
    }
    String quoted = last.length() > 200 ? last.substring(0, 200) + "..." : last;
    String text = "[" + config.name() + " #" + number + "] You said: " + quoted;
    ObjectNode body = switchboard.providers.wire.Json.MAPPER.createObjectNode();
    body.put("id", "sim-" + number).put("object", "chat.completion").put("model", config.model());
    ObjectNode choice = body.putArray("choices").addObject();
    choice.put("index", 0).put("finish_reason", "stop");
    choice.putObject("message").put("role", "assistant").put("content", text);
    body.putObject("usage")
        .put("prompt_tokens", Math.max(1, chars / 4))
        .put("completion_tokens", Math.max(1, text.length() / 4));
    return body.toString();
  }
}
