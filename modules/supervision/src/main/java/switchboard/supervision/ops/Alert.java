package switchboard.supervision.ops;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * One alert, as POSTed to the webhook and listed on the status page:
 * {@code {"type", "provider", "message", "time", "text", ...details}}. {@code type} is one of
 * {@code out_of_credits}, {@code auth_failed}, {@code breaker_open}, {@code breaker_closed},
 * {@code rate_limited_spike}, {@code all_providers_down}. {@code text} repeats the message with its
 * type and provider so chat webhooks that show a {@code text} field (Slack, Mattermost) read well.
 *
 * @param details extra string fields, e.g. {@code key}, {@code reason}, {@code until}, {@code count}
 */
public record Alert(String type, Optional<String> provider, String message, Instant time, Map<String, String> details) {
  private static final ObjectMapper JSON = new ObjectMapper();

  public Alert {
    details = Map.copyOf(new LinkedHashMap<>(details));
  }

  /** The one-line form for chat messages and logs: {@code [out_of_credits] primary: message}. */
  public String text() {
    return "[" + type + "] " + provider.map(p -> p + ": ").orElse("") + message;
  }

  /** The JSON object, as the webhook receives it. */
  public ObjectNode toJson() {
    ObjectNode node = JSON.createObjectNode();
    node.put("type", type);
    provider.ifPresentOrElse(p -> node.put("provider", p), () -> node.putNull("provider"));
    node.put("message", message);
    node.put("time", time.toString());
    new java.util.TreeMap<>(details).forEach(node::put);
    node.put("text", text());
    return node;
  }

  /** {@link #toJson()} as a string. */
  public String json() {
    return toJson().toString();
  }
}
