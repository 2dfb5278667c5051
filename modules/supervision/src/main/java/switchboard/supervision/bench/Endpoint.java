package switchboard.supervision.bench;

import java.util.Locale;

/** The gateway endpoint the benchmark drives, as named on the command line. */
enum Endpoint {
  /** {@code POST /v1/chat/completions}: stateless, the same body the provider gets directly. */
  COMPLETIONS,
  /** {@code POST /api/conversations/{id}/messages}: one conversation per lane, history kept by the gateway. */
  CONVERSATIONS;

  /** The option value, e.g. {@code completions}. */
  String optionName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The gateway path for a request of {@code lane}. */
  String gatewayPath(int lane) {
    return this == COMPLETIONS ? "/v1/chat/completions" : "/api/conversations/bench-" + lane + "/messages";
  }

  /** The gateway request body for request number {@code i}. */
  String gatewayBody(int i) {
    return this == COMPLETIONS ? Benchmark.completionBody(i) : "{\"text\":\"ping " + i + "\"}";
  }

  /** Parses {@code completions} or {@code conversations} (any case). */
  static Endpoint parse(String text) {
    for (Endpoint endpoint : values()) {
      if (endpoint.optionName().equalsIgnoreCase(text.trim())) {
        return endpoint;
      }
    }
    throw new IllegalArgumentException("\"" + text + "\" is not an endpoint (expected completions or conversations)");
  }
}
