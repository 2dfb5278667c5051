package switchboard.providers.observe;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import switchboard.providers.OutcomeKind;
import switchboard.providers.ProviderEvents;

/**
 * The provider call log: one JSON line per HTTP call to a provider, and one per breaker change, so
 * an operator can answer "what did the provider say, when, to which key" with grep and jq instead of
 * waiting for users to complain. Written through the SLF4J logger {@value #LOGGER_NAME}; the gateway
 * sends that logger to its own rotated file ({@code provider-log.path}).
 *
 * <p>Calls and breaker changes are logged at INFO; scheduled retries and refusals (a message answered
 * without a call because a breaker was open or the throttle was full) at DEBUG, so
 * {@code provider-log.level = "debug"} shows them too.
 *
 * <p>Never a key or message text: {@link ProviderEvents.CallRecord} carries neither, and only the
 * rate-limit headers ({@code retry-after}, {@code x-ratelimit-*}, {@code anthropic-ratelimit-*}) of a
 * record are written, whatever else a provider actor put in the map.
 */
public final class ProviderCallLog implements ProviderEvents {

  /** The logger every line goes to. */
  public static final String LOGGER_NAME = "switchboard.provider-calls";

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Logger log;

  public ProviderCallLog() {
    this(LoggerFactory.getLogger(LOGGER_NAME));
  }

  /** A call log writing to {@code log} (tests). */
  public ProviderCallLog(Logger log) {
    this.log = log;
  }

  @Override
  public void call(CallRecord record) {
    if (log.isInfoEnabled()) {
      log.info(line(record));
    }
  }

  @Override
  public void breakerChanged(BreakerChange change) {
    if (log.isInfoEnabled()) {
      log.info(line(change));
    }
  }

  @Override
  public void retryScheduled(String provider, OutcomeKind kind, Duration delay) {
    if (log.isDebugEnabled()) {
      ObjectNode node = base(java.time.Instant.now(), "retry", provider);
      node.put("outcome", kind.wire());
      node.put("delay_ms", delay.toMillis());
      log.debug(node.toString());
    }
  }

  @Override
  public void refused(String provider, OutcomeKind kind, String reason) {
    if (log.isDebugEnabled()) {
      ObjectNode node = base(java.time.Instant.now(), "refused", provider);
      node.put("outcome", kind.wire());
      node.put("reason", reason);
      log.debug(node.toString());
    }
  }

  /**
   * The JSON line of one call: {@code {"time", "type": "call", "provider", "key", ...}}. Written with
   * a streaming generator rather than a tree: one line per provider call is on the request path.
   */
  public static String line(CallRecord r) {
    StringWriter out = new StringWriter(320);
    try (JsonGenerator g = JSON.getFactory().createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("time", (r.time() == null ? java.time.Instant.now() : r.time()).toString());
      g.writeStringField("type", "call");
      g.writeStringField("provider", nullToEmpty(r.provider()));
      g.writeStringField("key", nullToEmpty(r.keyAlias()));
      g.writeStringField("model", nullToEmpty(r.model()));
      String origin = nullToEmpty(r.origin());
      g.writeStringField("origin", origin);
      int colon = origin.indexOf(':');
      g.writeStringField("channel", colon < 0 ? origin : origin.substring(0, colon));
      g.writeStringField("conversation", colon < 0 ? "" : origin.substring(colon + 1));
      g.writeNumberField("attempt", r.attempt());
      g.writeNumberField("status", r.status());
      g.writeStringField("outcome", r.outcome() == null ? "" : r.outcome().wire());
      g.writeNumberField("latency_ms", r.latency() == null ? 0 : r.latency().toMillis());
      if (r.firstToken() != null && r.firstToken().isPresent()) {
        g.writeBooleanField("stream", true);
        g.writeNumberField("first_token_ms", r.firstToken().get().toMillis());
      }
      g.writeNumberField("tokens_in", r.usage() == null ? 0 : r.usage().inputTokens());
      g.writeNumberField("tokens_out", r.usage() == null ? 0 : r.usage().outputTokens());
      g.writeNumberField("cost", r.cost());
      g.writeObjectFieldStart("rate_limit");
      for (Map.Entry<String, String> h : rateLimitHeaders(r.rateLimitHeaders()).entrySet()) {
        g.writeStringField(h.getKey(), h.getValue());
      }
      g.writeEndObject();
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }

  /** The JSON line of one breaker change: {@code {"time", "type": "breaker", "provider", "key", ...}}. */
  public static String line(BreakerChange c) {
    ObjectNode node = base(c.time(), "breaker", c.provider());
    node.put("key", c.keyAlias().orElse(""));
    node.put("from", c.from().wire());
    node.put("to", c.to().wire());
    node.put("reason", c.reason().map(OutcomeKind::wire).orElse(""));
    if (c.until().isPresent()) {
      node.put("until", c.until().get().toString());
    } else {
      node.putNull("until");
    }
    node.put("detail", nullToEmpty(c.detail()));
    return node.toString();
  }

  /**
   * Only the rate-limit headers of {@code headers}, names lower-cased and sorted: the allow-list that
   * keeps anything else a provider sent (cookies, request ids, echoed auth) out of the log.
   */
  public static Map<String, String> rateLimitHeaders(Map<String, String> headers) {
    Map<String, String> out = new TreeMap<>();
    if (headers == null) {
      return out;
    }
    headers.forEach(
        (name, value) -> {
          if (name == null || value == null) {
            return;
          }
          String lower = name.toLowerCase(Locale.ROOT);
          if (lower.equals("retry-after")
              || lower.startsWith("x-ratelimit-")
              || lower.startsWith("anthropic-ratelimit-")) {
            out.put(lower, value);
          }
        });
    return out;
  }

  private static ObjectNode base(java.time.Instant time, String type, String provider) {
    ObjectNode node = JSON.createObjectNode();
    node.put("time", (time == null ? java.time.Instant.now() : time).toString());
    node.put("type", type);
    node.put("provider", nullToEmpty(provider));
    return node;
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }
}
